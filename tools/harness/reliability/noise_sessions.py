"""Token sessions through a noisy line, per bit-error rate (host side).

    python3 tools/harness/reliability/noise_sessions.py [--sessions 20] [--rates 0,1e-5,1e-4,1e-3] [--seed 1]

For each rate, a fresh unix board and, per session, a new credit token entered with the
HHU (`hhu.Hhu.enter_token`) through `noisyline.Channel` in both directions. A session
ends with a result the HHU reports (tokenStatus) or a clean error in words. Then, on a
clean line, the same token is entered again: 10 Used if the meter applied it, 01 if it
had not (and now has). The checks: a reported result is the right one (01: the token is
new), the credit grows by the token's amount exactly once, never twice. Prints, per
rate, how many sessions ended with the result, with a clean error, and how many were
wrong (must be 0).
"""

import sys
import tempfile

sys.path.append(__file__[: __file__.rfind("/") + 1] + "..")  # tools/harness, for hostpath (README.md)
import hostpath  # noqa: F401  (the host package and firmware/ on sys.path)
from noisyline import Channel, NoisyLine
from powercut import DK
from unixboard import UnixBoard, micropython_binary

from vtc07 import hhu, vending

CREDIT = hhu.BY_NAME["creditelectricity"]


def session(port, work):
    """Sign on at `port`, return `work(meter)`, end with Break."""
    with hhu.Hhu("socket://127.0.0.1:%d" % port) as meter:
        meter.sign_on()
        result = work(meter)
        meter.brk()
    return result


def run_rate(micropython, ber, sessions, seed):
    board = UnixBoard(micropython, tempfile.mkdtemp(prefix="noise-")).start()
    port = board.port
    results = {"ok": 0, "error": 0, "wrong": 0, "errors": []}
    credit = 0
    try:
        for i in range(sessions):
            amount = 1 + i
            token = vending.token(0, 0, i % 16, 2000 + i, vending.amount_field(amount), DK)
            to_meter, to_hhu = Channel(ber, seed * 1000 + 2 * i), Channel(ber, seed * 1000 + 2 * i + 1)
            with NoisyLine(port, to_meter=to_meter, to_hhu=to_hhu) as line:
                try:
                    reported = session(line.port, lambda meter: meter.enter_token(token)[0])  # noqa: B023
                except hhu.HhuError as e:
                    reported = None
                    results["errors"].append(str(e).split(":")[0])
            # the truth, on a clean line
            again = session(port, lambda meter: meter.enter_token(token)[0])  # noqa: B023
            credit += amount  # applied now if not before: exactly once either way
            right = again in (1, 10) and (reported is None or reported == 1)
            if reported is not None and reported == 1 and again != 10:
                right = False  # the HHU said Accept but the meter had not applied it
            if int(session(port, lambda meter: meter.read(CREDIT))) != credit:
                right = False
            if not right:
                results["wrong"] += 1
            elif reported is None:
                results["error"] += 1
            else:
                results["ok"] += 1
    finally:
        board.stop()
    return results


def main(argv):
    sessions = int(argv[argv.index("--sessions") + 1]) if "--sessions" in argv else 20
    rates = [
        float(r) for r in (argv[argv.index("--rates") + 1] if "--rates" in argv else "0,1e-5,1e-4,1e-3").split(",")
    ]
    seed = int(argv[argv.index("--seed") + 1]) if "--seed" in argv else 1
    micropython = micropython_binary()
    print("bit-error rate  sessions  result  clean error  wrong")
    worst = 0
    for ber in rates:
        r = run_rate(micropython, ber, sessions, seed)
        print("%14g  %8d  %6d  %11d  %5d" % (ber, sessions, r["ok"], r["error"], r["wrong"]))
        for e in sorted(set(r["errors"])):
            print("    clean error: %s (%d)" % (e, r["errors"].count(e)))
        worst = max(worst, r["wrong"])
    return 1 if worst else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
