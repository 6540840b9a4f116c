"""Replay byte traces against the sans-IO core, byte- and millisecond-exact.

Runs on CPython and on the MicroPython unix port:

    micropython tools/harness/sim/replay_core.py host_tests/traces/*.trace
    micropython tools/harness/sim/replay_core.py --lib build/firmware host_tests/traces/*.trace   # as built
    python3 tools/harness/sim/replay_core.py --record host_tests/traces/new.trace   # (re)write < lines

The client's lines are fed to a fresh core at their times; the core's output, with the
time `poll` gave it out, must equal the trace's server lines. `--record` rewrites the
server lines from the core (for authoring; the result is reviewed before it is committed).
"""

import sys

if __name__ == "__main__":
    sys.path.append(__file__[: __file__.rfind("/") + 1] + "..")  # tools/harness, for firmwarepath (README.md)
    import firmwarepath

    _args = firmwarepath.setup(sys.argv[1:])

try:
    from vtc07 import tracefile
except ImportError:  # MicroPython: firmwarepath put tools/vtc07 on the path
    import tracefile
import meter
from simline import SimLine
from storage import MemoryStore

# @ settings of the replay itself, not of the meter (docs/traces.md)
REPLAY_KEYS = ("start", "lockout")


def make_server(settings, start):
    """A core configured from a trace's @ settings, as a board configures it from flags."""
    store = MemoryStore()
    if "lockout" in settings:  # "count remaining_ms": state left by an earlier power cycle
        count, remaining = settings["lockout"].split()
        before = meter.build(settings, store, start, REPLAY_KEYS)
        before.app.lockout.restore(int(count), int(remaining), start)
        before.app.save(start)
    return meter.build(settings, store, start, REPLAY_KEYS)


def run(trace):
    """The events the core produces for the trace's client events: a list like trace.events.

    The core runs on the line simulator (simline.py: boards/common/link.py's loop on a
    simulated clock); the client's lines arrive at their times, and what the core writes
    is heard with the time it went out."""
    settings = trace.settings
    start = int(settings.get("start", "0"))
    soft = settings.get("parity", "soft") == "soft"
    heard = []
    line = SimLine(make_server(settings, start), heard=heard, origin=start)
    out = []

    def hear():
        for ms, data in heard:
            out.append(("<", ms, tracefile.from_line(data, soft)))
        del heard[:]

    for kind, ms, chars in trace.events:
        if kind == "<":
            continue
        line.run_to(ms)
        hear()
        out.append((kind, ms, chars))
        if kind == ">":
            line.port.send_at(ms, tracefile.to_line(chars, soft))
    return out


def check(trace):
    """None if the core reproduces the trace, else a description of the first difference."""
    expected = trace.lines(with_header=False)
    got = tracefile.Trace()
    got.events = run(trace)
    actual = got.lines(with_header=False)
    for i in range(max(len(expected), len(actual))):
        e = expected[i] if i < len(expected) else "(end of trace)"
        a = actual[i] if i < len(actual) else "(nothing more from the core)"
        if e != a:
            return "event %d:\n  trace: %s\n  core:  %s" % (i + 1, e, a)
    return None


def record(path):
    trace = tracefile.load(path)
    got = tracefile.Trace()
    got.settings = trace.settings
    got.comments = trace.comments
    got.events = run(trace)
    with open(path, "w") as f:
        f.write("\n".join(got.lines()) + "\n")


def main(argv):
    if argv and argv[0] == "--record":
        for path in argv[1:]:
            record(path)
        return 0
    failed = 0
    for path in argv:
        problem = check(tracefile.load(path))
        if problem:
            failed += 1
            print("FAIL", path, problem)
        else:
            print("ok", path)
    print("%d passed, %d failed" % (len(argv) - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(_args))
