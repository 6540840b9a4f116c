"""The load switch of a prepayment meter: when the supply is cut, why, and how it comes back.

Credit exhausted (ServerStatus bit 4) opens it at once and credit from a token closes it at
once. Power over MaximumPowerLimit, or phase unbalance over
MaximumPhasePowerUnbalanceLimit, opens it only after POWER_HOLD_MS of readings over the
limit (an inrush does not trip it) and it closes again after RECONNECT_MS to try the load
again; a limit of 0 is no limit. Credit at or below the low-credit threshold is a warning,
the switch stays closed. The board learns every change through one callback,
`on_switch(closed, reason)`; a callback that raises leaves the commanded state in the
registers, reads REASON_RELAY and is called again at every later decision until it takes
it (docs/porting.md). Nothing here touches credit: a relay fault never changes a balance.
"""

from tables import (
    POWER_HOLD_MS,
    REASON_CREDIT,
    REASON_LOW_CREDIT,
    REASON_NONE,
    REASON_POWER,
    REASON_RELAY,
    REASON_UNBALANCE,
    RECONNECT_MS,
    SWITCH_CLOSED,
    SWITCH_OPEN,
    SWITCH_WARNING,
)
from ticks import ticks_add, ticks_diff


class LoadSwitch:
    def __init__(self):
        # what the registers show: SwitchState, SwitchReason, Power (W, the last accepted
        # reading), PhaseUnbalance (W; 0 for a single-phase board)
        self.values = [SWITCH_CLOSED, REASON_NONE, 0, 0]
        self.on_switch = None  # the board's (closed, reason) -> None
        self._driven = -1  # the state the board last took; -1: never told
        self._over = REASON_NONE  # a limit the readings are over, held since _since
        self._since = 0
        self._trip = REASON_NONE  # open for power or unbalance until _until
        self._until = 0

    def measure(self, watts, unbalance, mpl, mppul, now):
        """Take a (checked) reading against the limits; start or end the hold time."""
        self.values[2] = watts
        self.values[3] = unbalance
        over = REASON_NONE
        if mpl and watts > mpl:
            over = REASON_POWER
        elif mppul and unbalance > mppul:
            over = REASON_UNBALANCE
        if over != self._over:
            self._over = over
            self._since = now

    def deadline(self, now):
        """ms until a hold time or a reconnect delay ends, or -1."""
        if self._trip:
            end = self._until
        elif self._over:
            end = ticks_add(self._since, POWER_HOLD_MS)
        else:
            return -1
        left = ticks_diff(end, now)
        return left if left > 0 else 0

    def step(self, now):
        """Run the timers: trip after the hold time, close again after the delay."""
        if self._trip:
            if ticks_diff(now, self._until) >= 0:
                self._trip = REASON_NONE
                self._over = REASON_NONE  # the next reading over the limit starts a new hold
        elif self._over and ticks_diff(now, ticks_add(self._since, POWER_HOLD_MS)) >= 0:
            self._trip = self._over
            self._until = ticks_add(now, RECONNECT_MS)

    def decide(self, credit, low):
        """Set the state from the credit left (tenths; <= 0 exhausted) and the trips, and
        tell the board when what it must do changed or it failed to take the last one."""
        if credit <= 0:
            state, reason = SWITCH_OPEN, REASON_CREDIT
        elif self._trip:
            state, reason = SWITCH_OPEN, self._trip
        elif credit <= low:
            state, reason = SWITCH_WARNING, REASON_LOW_CREDIT
        else:
            state, reason = SWITCH_CLOSED, REASON_NONE
        driven = state == SWITCH_OPEN
        v = self.values
        if v[1] == REASON_RELAY or driven != self._driven or reason != v[1]:
            v[0] = state
            v[1] = reason
            if self.on_switch is not None:
                try:
                    self.on_switch(not driven, reason)
                    self._driven = driven
                except Exception:  # the relay did not take it: say so, try again next time
                    v[1] = REASON_RELAY
            else:
                self._driven = driven
