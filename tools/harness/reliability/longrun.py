"""A long simulated life of a prepayment meter (CPython, firmware/ from source): random
loads on every service, power readings, credit tokens, power cuts with and without the
power-fail signal, time passing. After every step, per service:
    credit bought = credit left + consumed          (credit may stand below 0: owed)
and after every power cut the restarted meter holds every token bought, and has lost
less than SAVE_TENTHS of consumption (none when the board signalled power failing).

    python3 tools/harness/reliability/longrun.py [--steps N] [--seed S]     (make reliability: 200,000 steps)
"""

import argparse
import datetime
import random
import sys

sys.path.append(__file__[: __file__.rfind("/") + 1] + "..")  # tools/harness, for hostpath (README.md)
import hostpath  # noqa: F401  (firmware/ on sys.path)
from consumption import Consumption
from meterapp import MeterApplication
from storage import MemoryStore
from tables import SAVE_TENTHS

from vtc07 import vending

DK = 0xE653341F9D5BF36F
T0 = vending.tid_minutes(datetime.datetime(2004, 3, 1))
# meter constants a metrology might use: pulses per kWh (or m3, min), and W*ms per kWh
PER_UNIT = (1000, 3200, 10000, 3600000000)


def run(steps=10000, seed=1):
    rnd = random.Random(seed)
    store = MemoryStore()
    app = MeterApplication(store, {})
    meter = Consumption(app)
    bought = [0, 0, 0, 0]
    now = 0
    tid = T0
    result = {
        "steps": steps,
        "tokens": 0,
        "cuts": 0,
        "power_fail_cuts": 0,
        "failures": 0,
        "max_unbilled_tenths": 0,
        "consumed": [0, 0, 0, 0],
    }
    for _ in range(steps):
        now += rnd.choice((1, 10, 100, 1000, 60000))
        action = rnd.random()
        if action < 0.80:
            s = rnd.randrange(4)
            per = rnd.choice(PER_UNIT)
            count = rnd.randrange(0, 36000 * 1000) if per == 3600000000 else rnd.randrange(0, 300)
            meter.consume(s, count, per, now)
        elif action < 0.88:
            meter.measure(rnd.randrange(0, 40000), now)
        elif action < 0.93:
            s = rnd.randrange(4)
            amount = rnd.randrange(1, 500)
            tid += rnd.randrange(1, 5)
            number = vending.token(0, s, 5, tid, vending.amount_field(amount), DK)
            app.submit(number, now)
            if app.step(now) == 1:
                bought[s] += amount
                result["tokens"] += 1
        elif action < 0.97:
            signalled = rnd.random() < 0.3
            if signalled:
                meter.power_failing(now)
            restarted = MeterApplication(store, {})
            meter = Consumption(restarted)
            unbilled = sum(app.usage[:4]) - sum(restarted.usage[:4])
            result["max_unbilled_tenths"] = max(result["max_unbilled_tenths"], unbilled)
            if (
                unbilled < 0
                or unbilled >= SAVE_TENTHS
                or (signalled and (unbilled or app.usage[4:] != restarted.usage[4:]))
            ):
                result["failures"] += 1
            app = restarted
            result["cuts"] += 1
            result["power_fail_cuts"] += signalled
        else:
            if app.deadline(now) == 0:
                app.step(now)
        for s in range(4):
            if app.credit[s] + app.usage[s] != bought[s]:
                result["failures"] += 1
    result["consumed"] = app.usage[:4]
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=200000)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args(argv)
    result = run(args.steps, args.seed)
    print(
        "longrun: %(steps)d steps, %(tokens)d tokens, %(cuts)d power cuts (%(power_fail_cuts)d signalled), "
        "most unbilled by a cut %(max_unbilled_tenths)d tenths, failures %(failures)d" % result
    )
    return 1 if result["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
