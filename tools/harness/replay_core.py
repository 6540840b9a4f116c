"""Replay byte traces against the sans-IO core, byte- and millisecond-exact.

Runs on CPython and on the MicroPython unix port:

    micropython tools/harness/replay_core.py host_tests/traces/*.trace
    micropython tools/harness/replay_core.py --lib build/firmware host_tests/traces/*.trace   # as built
    python3 tools/harness/replay_core.py --record host_tests/traces/new.trace   # (re)write < lines

The client's lines are fed to a fresh core at their times; the core's output, with the
time `poll` gave it out, must equal the trace's server lines. `--record` rewrites the
server lines from the core (for authoring; the result is reviewed before it is committed).
"""
import sys

if __name__ == "__main__":
    import firmwarepath

    _args = firmwarepath.setup(sys.argv[1:])

try:
    from vtc07 import tracefile  # noqa: E402
except ImportError:  # MicroPython: firmwarepath put tools/vtc07 on the path
    import tracefile  # noqa: E402
import meter  # noqa: E402
from storage import MemoryStore  # noqa: E402
from ticks import ticks_add  # noqa: E402

STEPS_MAX = 10000  # polls between two events before the core counts as stuck
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
    """The events the core produces for the trace's client events: a list like trace.events."""
    settings = trace.settings
    start = int(settings.get("start", "0"))
    soft = settings.get("parity", "soft") == "soft"
    server = make_server(settings, start)
    out = []
    clock = [0]  # ms since start

    def advance(to_ms):
        steps = 0
        while True:
            now = ticks_add(start, clock[0])
            wait = server.next_event(now)
            if wait < 0 or clock[0] + wait > to_ms:
                break
            clock[0] += wait
            data = server.poll(ticks_add(start, clock[0]))
            if data:
                out.append(("<", clock[0], tracefile.from_line(data, soft)))
            steps += 1
            if steps > STEPS_MAX:
                raise RuntimeError("core stuck at %d ms" % clock[0])
        clock[0] = to_ms

    for kind, ms, chars in trace.events:
        if kind == "<":
            continue
        advance(ms)
        if kind == ">":
            out.append((kind, ms, chars))
            server.receive(tracefile.to_line(chars, soft), ticks_add(start, ms))
        else:
            out.append((kind, ms, chars))
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
