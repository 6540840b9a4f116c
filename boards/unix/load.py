"""The unix board's simulated load (--load-w W, or --load-w LOW-HIGH), behind the meter's
load switch: it feeds the consumption API as a board's metrology would (docs/porting.md).

It draws its watts while the switch is closed and nothing while it is open; LOW-HIGH draws
a new value in that range each second. Energy goes in as W*ms (3.6e9 of them make a kWh,
so nothing is rounded) with the present power, every 100 ms; the switch's changes are
printed on the console as `switch open <reason>` / `switch closed <reason>`
(SwitchReason, firmware/catalogue.py). Each tenth billed is stored at once (Ctrl-C stores the
rest through the power-failing save). Imported only when the option is given: a meter
without it carries none of this (nor firmware/consumption.py).
"""

import os
import time

from consumption import Consumption

WMS_PER_KWH = 3600000000


def start(app, value, now):
    if not hasattr(app, "consumption"):
        raise ValueError("config key 'load_w' needs the token engine (app sts), not the stub")
    low, _, high = value.partition("-")
    return Load(app, int(low), int(high or low), now)


class Load:
    def __init__(self, app, low, high, now):
        self.low = low
        self.high = high
        self.watts = low
        self.closed = True
        self.last = now
        self.drawn = now
        self.consumption = Consumption(app, self.switch)

    def switch(self, closed, reason):
        print("switch", "closed" if closed else "open", reason)
        self.closed = closed

    def poll(self, now):
        dt = time.ticks_diff(now, self.last)
        if dt < 100:
            return
        self.last = now
        if self.high > self.low and time.ticks_diff(now, self.drawn) >= 1000:
            r = os.urandom(3)
            self.watts = self.low + (r[0] << 16 | r[1] << 8 | r[2]) % (self.high - self.low + 1)
            self.drawn = now
        w = self.watts if self.closed else 0
        # a process stalled over a second (a suspended host) bills one second, not a burst
        self.consumption.consume(0, w * min(dt, 1000), WMS_PER_KWH, now)
        if self.consumption._unsaved:
            # every tenth billed is stored at once (a host's directory does not wear out as
            # flash does): SIGTERM, which the unix port cannot catch, leaves less unbilled
            self.consumption.power_failing(now)
        self.consumption.measure(w, now)
