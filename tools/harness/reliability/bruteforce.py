"""Brute force against the token lockout, on the core's own clock (host side).

    python3 tools/harness/reliability/bruteforce.py [--hours 24] [--seed 1]

A client writes random class 0 tokens to BinaryTokenEntry as fast as the protocol lets
it: each write as soon as the previous answer is in (tr = 200 ms), signing on again when
the session has ended. A write the meter takes (ACK) is a token evaluated; a locked
meter answers ERR07 without looking at the token. Prints the tokens evaluated in each
hour and the rate once the lockout has reached its longest period (profile section 8:
1280 s, so at most 3600 / 1280 = 2.8 per hour).
"""

import random
import sys

sys.path.append(__file__[: __file__.rfind("/") + 1] + "..")  # tools/harness, for hostpath (README.md)
import hostpath  # noqa: F401  (firmware/ on sys.path)
import meter
from simline import SimLine
from storage import MemoryStore
from tables import ACK, TOKEN_BITS, TOKEN_CLASS_SHIFT

HOUR_MS = 3600 * 1000


def attack(hours, seed=1, store=None, line=None):
    """Returns (tokens evaluated per hour, writes per hour, the line, the store)."""
    rng = random.Random(seed)
    store = store or MemoryStore()
    line = line or SimLine(meter.build({}, store, 0))
    evaluated = [0] * hours
    writes = [0] * hours
    end = hours * HOUR_MS
    signed_on = False
    while line.now < end:
        if not signed_on:
            signed_on = line.sign_on() is not None
            continue
        number = rng.getrandbits(TOKEN_BITS) & ~(3 << TOKEN_CLASS_SHIFT)  # class 0: encrypted, counts for lockout
        answer = line.command(b"W1\x020004(%017X)" % number)
        hour = min(line.now // HOUR_MS, hours - 1)
        writes[hour] += 1
        if answer is None:  # session over (a NAK streak or the timeout): sign on again
            signed_on = False
        elif answer == [ACK]:
            evaluated[hour] += 1
    return evaluated, writes, line, store


def main(argv):
    hours = int(argv[argv.index("--hours") + 1]) if "--hours" in argv else 24
    seed = int(argv[argv.index("--seed") + 1]) if "--seed" in argv else 1
    evaluated, writes, line, _ = attack(hours, seed)
    print("hour  writes  tokens evaluated")
    for h in range(hours):
        print("%4d %7d %6d" % (h + 1, writes[h], evaluated[h]))
    steady = evaluated[1:] or evaluated
    print(
        "total: %d writes, %d tokens evaluated in %d h; after the first hour at most %d per hour"
        % (sum(writes), sum(evaluated), hours, max(steady))
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
