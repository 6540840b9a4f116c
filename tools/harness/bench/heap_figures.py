"""The core's heap figures, described once for every MicroPython port that measures them.

The unix port (64-bit, bench_core.py) and the WebAssembly port (32-bit, tools/harness/
wasm/bench_wasm.mjs) run these same generators. Each yields COLLECT where the heap must
be collected before it reads gc.mem_alloc(), and PAUSE between two received messages, and
returns a dict of figures. The ports differ in when a collection can run:
- unix: gc.collect() collects at once, and gc.threshold() collects in the middle of a
  message; its driver (run) calls gc.collect() at each COLLECT and ignores PAUSE.
- WebAssembly: a collection runs only between two top-level calls (runPython); gc.collect()
  or a passed gc.threshold() inside a call only marks one pending. Its runner makes each
  step a call of its own (step): a collection asked for at COLLECT, or one the threshold
  made due, runs before the next step. Its heap grows on demand, so no smallest heap.
The core is built with the token engine (firmware/meterapp.py), so the heap figures
include it. Names of the figures are bench_core.py's.
"""

import gc
import sys

import micropython

COLLECT = 1
PAUSE = 0

# set by modules(): the firmware is imported there, where its heap is measured
frames = meter = MemoryStore = None

EA11 = {"algorithm": "misty1", "dk": "F94B6ED353C3BFDB113E2D3A7EA3C41D"}  # sts-edition3.md section 5
# The first vector's token (sts-tokens.md), and the same credit under EA09 with the same
# key: vending.token(0, 0, 5, 5871715, 1, 0xE653341F9D5BF36F, "des"); EA11: sts-edition3.md's
TOKENS = {"sta": 23716100501183194197, "des": 56290149827221041507, "misty1": 59386323472137426967}
CONFIGS = {"sta": {"algorithm": "sta"}, "des": {"algorithm": "des"}, "misty1": EA11}


def modules():
    """heap_modules: what importing the firmware (as the core needs it) takes;
    modules_imported: how many of the firmware's modules that import brought in.
    The port's own modules the firmware uses come first, outside the figure: C modules on
    the unix port and a board, but frozen Python on the WebAssembly port (os, os.path and
    time: about 1 KB of globals and functions there)."""
    global frames, meter, MemoryStore
    import os  # noqa: F401
    import time  # noqa: F401

    yield COLLECT
    count = len(sys.modules)
    base = gc.mem_alloc()
    import frames
    import meter
    import sta  # noqa: F401  (the default key's cipher, which meterapp imports when built)
    from storage import MemoryStore

    yield COLLECT
    return {"heap_modules": gc.mem_alloc() - base, "modules_imported": len(sys.modules) - count}


def core(name="heap_core", config=None):
    """Bytes a built core keeps (server, buffers, registers, lockout, token engine).

    The configuration is checked first, outside the figure, as a board checks it before it
    builds: the check imports config.py and drops it again, and on the unix port a stale
    pointer on the C stack (its collector scans the stack for pointers) now and then kept
    that module's 4 KB alive across the collection, which made the figure jump."""
    config = config or {}
    meter.check(config)
    yield COLLECT
    before = gc.mem_alloc()
    server = meter.build(config, MemoryStore(), 0, checked=True)
    yield COLLECT
    figure = gc.mem_alloc() - before
    server = None  # noqa: F841  (kept until measured)
    return {name: figure}


def core_ea11():
    """The same with an EA11 key, its misty1 module imported beforehand (counted in neither:
    the module is not the core, as sta above)."""
    import misty1  # noqa: F401

    return (yield from core("heap_core_ea11", EA11))


def replay_peak(name, paths, threshold=-1):
    """Highest heap in use while the core runs each trace (inputs decoded beforehand),
    above what the harness holds. `threshold`: collect whenever that many bytes were
    allocated since the last collection (gc.threshold), as a board's heap does when it is
    small; -1: never during a trace."""
    import tracefile

    scripts = []
    for path in paths:
        trace = tracefile.load(path)
        soft = trace.settings.get("parity", "soft") == "soft"
        inputs = [(ms, tracefile.to_line(chars, soft)) for kind, ms, chars in trace.events if kind == ">"]
        scripts.append((trace.settings, inputs))
    yield COLLECT
    base = gc.mem_alloc()
    peak = 0
    gc.threshold(threshold)
    for settings, inputs in scripts:
        yield COLLECT
        server = meter.build(settings, MemoryStore(), 0, ("start", "lockout"))  # replay_core.REPLAY_KEYS
        t = 0
        for ms, data in inputs:
            while True:
                wait = server.next_event(t)
                if wait < 0 or t + wait > ms:
                    break
                t += wait
                server.poll(t)
                peak = max(peak, gc.mem_alloc())
            t = ms
            server.receive(data, t)
            peak = max(peak, gc.mem_alloc())
            yield PAUSE
        server = None
    gc.threshold(-1)
    return {name: peak - base}


def with_parity(data):
    return bytes([frames.with_parity(b) for b in data])


def steady_stream():
    """A session's steady state: sign-on, reads of each kind, error answers, NAK, ACK.

    All well-formed, so every character goes the whole way through parsing and dispatch.
    """
    from tracefile import command

    msgs = [b"/?!\r\n"] + [command(b"R1\x02" + rid + b"()") for rid in (b"0000", b"0002", b"0003", b"0006", b"9999")]
    msgs += [command(b"W1\x020000(02)"), b"\x15", b"\x06"]
    return with_parity(b"".join(msgs))


def alloc_per_char():
    """Heap allocations while 10,000 characters are received one at a time (the worst
    case) with the heap locked: 0, or why not."""
    server = meter.build({}, MemoryStore(), 0)
    data = steady_stream()
    one = bytearray(1)
    t = 0
    n = 0
    yield COLLECT
    micropython.heap_lock()
    try:
        while n < 10000:
            for i in range(len(data)):
                one[0] = data[i]
                server.receive(one, t)
                n += 1
            t += 1
            if server.state != 1:  # server.SESSION (the build folds the name away)
                micropython.heap_unlock()
                return {"alloc_per_char": "left the steady state"}
    except MemoryError:
        micropython.heap_unlock()
        return {"alloc_per_char": "allocated"}
    micropython.heap_unlock()
    return {"alloc_per_char": 0}


class Wire:
    """A fake UART and clock for the board loop (boards/common/link.py's Link): one
    character waits in it per wake, as a UART at 2400 Bd has when the loop wakes for each
    one. Reading, writing and the clock allocate nothing (the figures are the loop's)."""

    def __init__(self):
        self.data = b""
        self.pos = 0
        self.ready = 0
        self.t = 0
        self.sent = 0

    def any(self):
        return self.ready

    def readinto(self, buf, n=-1):
        buf[0] = self.data[self.pos]
        self.pos += 1
        self.ready = 0
        return 1

    def write(self, buf, n=-1):
        self.sent += 1
        return n

    def now(self):
        return self.t


def _no_sleep(ms):
    pass


CHAR_MS = 4  # a character's time at 2400 Bd, rounded up


def board_request(link, wire, data):
    """One request through the board loop, a character per wake, and its answer out, then
    the passes due at once (for a token, the work the answer held back)."""
    wire.data = data
    wire.pos = 0
    sent = wire.sent
    for _ in range(len(data)):
        wire.t += CHAR_MS
        wire.ready = 1
        link.service()
    wait = link.service()
    while wire.sent == sent:
        wire.t += wait if wait > 0 else 1
        wait = link.service()
    while link.server.app.busy:  # a token's work, which the loop does after the ACK
        wire.t += 1
        link.service()


BOARD_ROUNDS = 20
# (figure, request): the first vector's token (sts-tokens.md), accepted every time
BOARD_REQUESTS = (
    ("read", "R1\x028001()"),
    ("token", "W1\x020004(%017X)" % TOKENS["sta"]),
    ("status", "R1\x020005()"),
)


def board_loop():
    """Garbage per request on the board path: Link (boards/common/link.py) over Wire, for a
    read of CreditElectricity, a token write (accepted each time: the TIDs are forgotten
    and there is no store, whose file system is not the loop's) and a TokenStatus read.
    Per kind: board_K_bytes from gc.mem_alloc() with no collection between (what the
    requests left on the heap), board_K_total from micropython.mem_total() where the port
    has it (every byte asked of the heap, heap frames freed at once included), board_K_us
    per request, and two heap dumps ("heap_dump K 0|1" then micropython.mem_info(1))
    from which the host counts the objects left (bench_wasm.objects)."""
    from link import Link
    from tracefile import command

    total = getattr(micropython, "mem_total", None)
    import time

    figures = {"board_rounds": BOARD_ROUNDS}
    wire = Wire()
    server = meter.build({}, MemoryStore(), 0)
    server.app.store = None
    link = Link(wire, server, 2400, wire.now, _no_sleep)
    board_request(link, wire, with_parity(b"/?!\r\n"))
    for kind, body in BOARD_REQUESTS:
        data = with_parity(command(body.encode()))
        for _ in range(3):  # what a first request makes once (the poller's tuple, a key set)
            server.app.forget_tids()
            board_request(link, wire, data)
        yield COLLECT
        gc.disable()
        print("heap_dump", kind, 0)
        micropython.mem_info(1)
        before = gc.mem_alloc()
        before_total = total() if total else 0
        start = time.ticks_us()
        for _ in range(BOARD_ROUNDS):
            server.app.forget_tids()
            board_request(link, wire, data)
        us = time.ticks_diff(time.ticks_us(), start)
        after_total = total() if total else 0
        after = gc.mem_alloc()
        print("heap_dump", kind, 1)
        micropython.mem_info(1)
        gc.enable()
        figures["board_%s_bytes" % kind] = (after - before) // BOARD_ROUNDS
        if total:
            figures["board_%s_total" % kind] = (after_total - before_total) // BOARD_ROUNDS
        figures["board_%s_us" % kind] = us // BOARD_ROUNDS
        assert server.state == 1 and wire.pos == len(data), "the requests went wrong"  # 1: Session
        if kind == "token":
            assert server.app.token_status == 1, "the token was not accepted"
    return figures


def heap(traces, measured=None):
    """Every heap figure, in the order a port measures them: the imports first, on a
    heap that holds only the harness (`measured`: modules()'s figures, taken already)."""
    figures = measured or (yield from modules())
    figures.update((yield from core()))
    figures.update((yield from core_ea11()))
    figures.update((yield from replay_peak("heap_peak_replay", traces, 2048)))
    figures.update((yield from replay_peak("heap_peak_replay_no_gc", traces)))
    figures.update((yield from alloc_per_char()))
    figures.update((yield from board_loop()))
    return figures


def run(steps):
    """Drive a figure's generator where gc.collect() collects at once (the unix port)."""
    try:
        while True:
            if next(steps) == COLLECT:
                gc.collect()
    except StopIteration as done:
        return done.value


_steps = None


def start(steps):
    """The WebAssembly runner: the generator that step() then advances, one call each."""
    global _steps
    _steps = steps


def step():
    """One step of start()'s generator: None while it runs, then its figures as "name
    value" lines. Returning ends the call, which lets a pending collection run."""
    try:
        if next(_steps) == COLLECT:
            gc.collect()  # pending until this call returns
        return None
    except StopIteration as done:
        return "\n".join("%s %s" % item for item in done.value.items())
