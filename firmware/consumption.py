"""Consumption: what the metrology measures runs the credit down (the meter application
process of IEC 62055-41 acting on energy; docs/porting.md says how a board feeds it).

A board with metrology makes one `Consumption(app, on_switch)` for the meter's
MeterApplication (server.app) and calls, from its main loop (never from an interrupt:
these may save):
  consume(service, count, per_unit, now)   `count` increments of 1/per_unit of a unit of
                                           `service` (0 electricity kWh, 1 water m3, 2 gas
                                           m3, 3 time min) were measured, e.g. pulses of a
                                           meter constant of per_unit imp/kWh
  measure(watts, now, unbalance=0)         the present power (and phase unbalance)
  power_failing(now)                       supply is going: store what is not stored
`on_switch(closed, reason)` drives its relay (firmware/loadswitch.py). A meter that only
takes tokens never imports this module (its RAM is the product).

Arithmetic is in whole numbers: credit and consumption are in tenths of a unit, and what is
left of an increment below a tenth is kept, per service, in units of 1/per_unit of a tenth,
so no sum of small increments loses anything to rounding. The application keeps them in
`credit[s]`, and `usage`: consumed usage[s], remainder usage[4 + s]. Credit may go below 0 by
the last increment that crossed it (energy drawn before the switch opened): the registers
read 0, and the next token pays that first, so credit bought = credit left + consumed
holds per service, whatever the increments.

Consumption is stored in the meter's one record (application.py) by the same save as
tokens, once SAVE_TENTHS are billed and not stored, SAVE_MS after the first of them, and
at once when the board says power is failing: a power cut leaves less than SAVE_TENTHS
(all services together) unbilled, and nothing is ever billed twice.
"""

from application import Application
from loadswitch import LoadSwitch
from tables import LOW_CREDIT_TENTHS, POWER_MAX_W, SAVE_MS, SAVE_TENTHS, STEP_MAX_TENTHS
from ticks import ticks_diff


class Consumption:
    def __init__(self, app, on_switch=None):
        self.app = app
        self.switch = LoadSwitch()
        self.switch.on_switch = on_switch
        self.values = self.switch.values  # the registers' view (meterapp reads it)
        self._unsaved = 0  # tenths billed since the last save
        self._since = 0  # when the first of them was billed
        self._dirty = False  # any increment (a remainder too) since the last save
        self._snap = [0] * 8  # consumed and remainders before a save, to bill again after a failed one
        app.consumption = self
        self.decide()  # the relay is told at once where it must be

    def decide(self):
        """Tell the switch where the credit now says it must be (open when it is exhausted)."""
        app = self.app
        self.switch.decide(app.balance if app.currency else app.credit[0], LOW_CREDIT_TENTHS)

    def consume(self, service, count, per_unit, now):
        """Bill `count` increments of 1/per_unit unit of `service`. False, and nothing
        billed, for a wrong service, a meter constant that is not a whole number 1..2**32-1, a
        count that is not a whole number >= 0, or one that bills more than STEP_MAX_TENTHS
        at once (a negative or absurd count also sets TamperStatus: metrology is at fault)."""
        if (
            type(count) is not int
            or type(per_unit) is not int
            or not 0 < per_unit <= 0xFFFFFFFF
            or not 0 <= service < 4
        ):
            return False
        app = self.app
        if count < 0:
            app.tamper = 1
            return False
        u = app.usage
        total = u[4 + service] + count * 10
        tenths = total // per_unit
        if tenths > STEP_MAX_TENTHS:
            app.tamper = 1
            return False
        u[4 + service] = total - tenths * per_unit
        if count:
            self._dirty = True
        if tenths:
            app.credit[service] -= tenths
            u[service] += tenths
            if not self._unsaved:
                self._since = now
            self._unsaved += tenths
            if self._unsaved >= SAVE_TENTHS:
                app.save(now)
            self.decide()
        return True

    def measure(self, watts, now, unbalance=0):
        """The present power in W (and unbalance between phases in W). A reading that is
        not a whole number 0..POWER_MAX_W is refused (False): the last one stands."""
        if type(watts) is not int or type(unbalance) is not int:
            return False
        if not (0 <= watts <= POWER_MAX_W and 0 <= unbalance <= POWER_MAX_W):
            return False
        app = self.app
        self.switch.measure(watts, unbalance, app.mpl, app.mppul, now)
        self.step(now)
        return True

    def power_failing(self, now):
        """Store what consumption is not stored yet; True when storage has it all."""
        return self.app.save(now) if self._dirty else True

    def save(self, now):
        """The application's save (it calls this one while a Consumption is attached)."""
        app = self.app
        snap = self._snap
        for i in range(8):
            snap[i] = app.usage[i]
        if Application.save(app, now):
            self._unsaved = 0
            self._dirty = False
            return True
        if not app.refusing:
            # RAM went back to the stored record: bill again what it lacks (still unsaved)
            u = app.usage
            for i in range(4):
                lack = snap[i] - u[i]
                app.credit[i] -= lack
                u[i] += lack
                u[4 + i] = snap[4 + i]
        return False

    def deadline(self, now):
        """ms until a time-triggered save or a switch timer is due, or -1."""
        wait = self.switch.deadline(now)
        if self._unsaved:
            left = SAVE_MS - ticks_diff(now, self._since)
            left = left if left > 0 else 0
            wait = left if wait < 0 else min(wait, left)
        return wait

    def step(self, now):
        if self._unsaved and ticks_diff(now, self._since) >= SAVE_MS:
            self.app.save(now)
        self.switch.step(now)
        self.decide()
