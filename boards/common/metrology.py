"""A prototype meter's metrology as the firmware sees it: an energy pulse input counted in
an interrupt, a relay output, a power-fail input (docs/porting.md).

`PulseMetrology` takes `machine.Pin`-like objects from the board (boards/<name>/board.py
makes them; no `machine` import here, so the host tests drive it with fake pins):
- the pulse pin's interrupt only adds 1 to a preallocated small int, masked so it can never
  grow into a long int (no allocation in the handler: a hard IRQ may not allocate);
- the board's loop (Link.service) calls `feed(now)`: the pulses since the last feed go to
  Consumption.consume as energy (per_kwh of them make a kWh), and each FEED_MS the power
  they make is given to Consumption.measure;
- the power-fail pin's interrupt sets a flag; the next feed stores the consumption not yet
  stored (a flash write cannot run in an interrupt);
- the relay pin follows the load switch (`switch`, the Consumption's callback).
"""

from consumption import Consumption
from ticks import ticks_diff

FEED_MS = 1000  # OWN: power is computed over this window (and the loop wakes this often)
_MASK = 0x3FFFFFFF  # the pulse count wraps here: a small int on every port


class PulseMetrology:
    def __init__(self, pulse_pin, per_kwh, relay_pin, relay_closed=1, fail_pin=None, now=0):
        self.per_kwh = per_kwh
        self.relay_pin = relay_pin
        self.relay_closed = relay_closed
        self.count = 0  # pulses counted by the interrupt, modulo _MASK + 1
        self.taken = 0  # the count the last feed took
        self.window = 0  # pulses in the power window so far
        self.started = now
        self.failing = False
        self.consumption = None
        pulse_pin.irq(handler=self._pulse, trigger=pulse_pin.IRQ_FALLING)
        if fail_pin is not None:
            fail_pin.irq(handler=self._fail, trigger=fail_pin.IRQ_FALLING)

    # --- interrupt context: no allocation, no storage, nothing that can raise -----------

    def _pulse(self, pin):
        self.count = (self.count + 1) & _MASK

    def _fail(self, pin):
        self.failing = True

    # --- the board's loop ----------------------------------------------------------------

    def attach(self, app):
        """Connect to the meter application (server.app); the relay is set at once."""
        self.consumption = Consumption(app, self.switch)

    def switch(self, closed, reason):
        self.relay_pin.value(self.relay_closed if closed else 1 - self.relay_closed)

    def feed(self, now):
        """Bill the pulses since the last feed; return ms until the next feed is due."""
        consumption = self.consumption
        if consumption is None:
            return FEED_MS  # not attached to a meter application: the pulses wait in the counter
        count = self.count  # one read: the interrupt may add to it at any time
        n = (count - self.taken) & _MASK
        self.taken = count
        if n:
            consumption.consume(0, n, self.per_kwh, now)
            self.window += n
        if self.failing:
            self.failing = False
            consumption.power_failing(now)
        dt = ticks_diff(now, self.started)
        if dt >= FEED_MS:
            # W = pulses / per_kwh kWh over dt ms = pulses * 3.6e9 / (per_kwh * dt)
            consumption.measure(self.window * 3600000000 // (self.per_kwh * dt), now)
            self.window = 0
            self.started = now
            dt = 0
        return FEED_MS - dt
