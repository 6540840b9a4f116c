"""Seeded random frames through the core, on MicroPython (or CPython), on a simulated clock.

    micropython tools/harness/reliability/fuzz_core.py [FRAMES] [SEED]

Frames are built from every message kind of the profile (IDRequest, reads and writes of
any register, BinaryTokenEntry values of any shape, Break, ACK, NAK) and then damaged at
random: bits flipped, characters dropped, doubled or inserted, messages cut short or run
together, gaps from 0 to 3 s (past ta and the recovery wait) and now and then past the
session timeout. The core must never raise, must always answer within its timers (no
hang: `next_event` never asks for more than its longest timer, the 1280 s lockout), and its heap after a
collection must stay flat. Prints frames, seconds, frames per second and the heap range.
"""

import gc
import random
import sys

sys.path.append(__file__[: __file__.rfind("/") + 1] + "..")  # tools/harness, for firmwarepath (README.md)
import firmwarepath

_args = firmwarepath.setup(sys.argv[1:])

import meter  # noqa: E402

try:
    from vtc07 import tracefile
except ImportError:  # MicroPython: firmwarepath put tools/vtc07 on the path
    import tracefile
from simline import SimLine  # noqa: E402
from storage import MemoryStore  # noqa: E402
from tables import KCT_WINDOW_MS, LOCKOUT_MAX_S, SESSION_TIMEOUT  # noqa: E402

LONGEST_TIMER = max(SESSION_TIMEOUT, LOCKOUT_MAX_S * 1000, KCT_WINDOW_MS)

try:
    from time import ticks_diff, ticks_ms
except ImportError:  # CPython
    import time

    def ticks_ms():
        return int(time.monotonic() * 1000)

    def ticks_diff(a, b):
        return a - b


def heap_used():
    """Bytes in use after a collection: gc.mem_alloc on MicroPython, tracemalloc on CPython."""
    gc.collect()
    if hasattr(gc, "mem_alloc"):
        return gc.mem_alloc()
    import tracemalloc

    if not tracemalloc.is_tracing():
        tracemalloc.start()
    return tracemalloc.get_traced_memory()[0]


REGISTERS = (b"0000", b"0001", b"0002", b"0003", b"0004", b"0005", b"0006", b"8001", b"8005", b"8016", b"FFFF", b"12G4")
HEX = b"0123456789ABCDEF"


def rand_bytes(n, alphabet=None):
    out = bytearray(n)
    for i in range(n):
        out[i] = alphabet[random.getrandbits(8) % len(alphabet)] if alphabet else random.getrandbits(7)
    return bytes(out)


def make_frame():
    kind = random.getrandbits(4)
    if kind < 3:
        return b"/?" + (b"600727000000000009" if kind == 1 else b"") + b"!\r\n"
    if kind < 7:
        return tracefile.command(b"R1\x02" + REGISTERS[random.getrandbits(8) % len(REGISTERS)] + b"()")
    if kind < 11:
        value = rand_bytes(random.getrandbits(5), HEX if kind < 10 else None)
        if kind == 7:
            # a class 0 token (getrandbits gives at most 32 bits on MicroPython)
            number = random.getrandbits(2) << 64 | random.getrandbits(32) << 32 | random.getrandbits(32)
            value = b"%017X" % (number & ~(3 << 27))
        return tracefile.command(b"W1\x020004(" + value + b")")
    if kind == 11:
        return tracefile.command(b"B0")
    if kind == 12:
        return b"\x06"
    if kind == 13:
        return b"\x15"
    return rand_bytes(1 + random.getrandbits(5))  # line garbage


def damage(frame):
    n = len(frame)
    roll = random.getrandbits(3)
    if not n:
        return frame
    i = random.getrandbits(8) % n
    if roll == 0:
        return frame[:i] + bytes([frame[i] ^ (1 << (random.getrandbits(3) % 7))]) + frame[i + 1 :]
    if roll == 1:
        return frame[:i] + frame[i + 1 :]  # a character lost
    if roll == 2:
        return frame[: i + 1] + frame[i:]  # a character doubled
    if roll == 3:
        return frame[:i]  # cut short
    return frame


def run(frames, seed):
    random.seed(seed)
    server = meter.build({}, MemoryStore(), 0)
    line = SimLine(server)
    # the store holds its record (both copies) before the first reading: a fixed size, kept
    # from the first token's save on, which is not growth with the frames
    server.app.save(0)
    heap_low = heap_high = heap_used()
    start = ticks_ms()
    for n in range(frames):
        frame = make_frame()
        if random.getrandbits(2):
            frame = damage(frame)
        gap = random.getrandbits(11) if random.getrandbits(2) else random.getrandbits(12)
        if random.getrandbits(10) == 0:
            gap = SESSION_TIMEOUT + 1
        data = tracefile.to_line(list(frame))
        if random.getrandbits(6) == 0 and data:  # a parity error on a raw byte
            data = bytes([data[0] ^ 0x80]) + data[1:]
        line.exchange(data, gap)
        wait = server.next_event(line.now)
        assert wait <= LONGEST_TIMER, (n, wait)
        if n % 10000 == 9999:
            used = heap_used()
            heap_low = min(heap_low, used)
            heap_high = max(heap_high, used)
    seconds = ticks_diff(ticks_ms(), start) / 1000
    return seconds, heap_low, heap_high, heap_used()


def main(argv):
    frames = int(argv[0]) if argv else 1000000
    seed = int(argv[1]) if len(argv) > 1 else 1
    seconds, low, high, final = run(frames, seed)
    print(
        "frames %d seed %d seconds %.1f frames_per_s %d heap_after_gc %d..%d final %d"
        % (frames, seed, seconds, frames / max(seconds, 0.001), low, high, final)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(_args))
