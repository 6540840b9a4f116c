"""Soak: many messages against the unix board on a small heap, with its heap sampled.

    python3 tools/harness/reliability/soak.py [--messages 100000] [--heap 64k] [--lib build/firmware]

(`--lib build/romfs/unix.img`, an image: the board runs from it, `--rom`.)

Starts the unix board as `micropython -X heapsize=HEAP boards/unix/main.py --lib LIB
--heap-log 1000 --test-tr 1` (the reaction time shortened, outside the profile's range that
--tr accepts, so that 100,000 messages take minutes, not hours; every other timing is the
profile's), and sends a steady mix: sign-on, reads of 13
registers, writes of tokens (accepted, used, rejected until the lockout answers ERR07),
writes of bad values, Break. Every answer must be of the kind the message asks for: an
IDResponse, the register's data message, ACK or an error data message for a write.
The board prints its heap in use after a collection every second; the run fails on a
MemoryError, a missing or wrong answer, or heap growth between the first and the last
quarter.
"""

import os
import sys
import tempfile
import threading
import time

sys.path.append(__file__[: __file__.rfind("/") + 1] + "..")  # tools/harness, for hostpath (README.md)
import hostpath
from powercut import DK
from unixboard import UnixBoard, micropython_binary

from vtc07 import tracefile, vending
from vtc07.hhu import id_response_complete, message_complete

READABLE = (
    b"0000",
    b"0001",
    b"0002",
    b"0003",
    b"0005",
    b"0006",
    b"8000",
    b"8001",
    b"8005",
    b"800B",
    b"8010",
    b"8014",
    b"8016",
)


# what a token write may answer: taken (ACK), or an error data message (locked, bad value)
_WRITE_ANSWERS = (b"\x06", b"\x020004(ERR")


def messages(count):
    """(request as 7-bit characters, a test that the answer is complete or None, the
    answer's possible beginnings) x count."""
    sent = 0
    cycle = 0
    while True:
        cycle += 1
        token = vending.token(0, 0, cycle % 16, 1000 + cycle, 1, DK)
        batch = [(b"/?!\r\n", id_response_complete, (b"/STS",))]
        batch += [
            (tracefile.command(b"R1\x02" + rid + b"()"), message_complete, (b"\x02" + rid + b"(",)) for rid in READABLE
        ]
        for value in (b"%017X" % token, b"%017X" % token, b"%017X" % (cycle * 7919), b"12"):
            batch.append((tracefile.command(b"W1\x020004(" + value + b")"), message_complete, _WRITE_ANSWERS))
            batch.append((tracefile.command(b"R1\x020005()"), message_complete, (b"\x020005(",)))
        batch.append((tracefile.command(b"B0"), None, ()))
        for item in batch:
            if sent == count:
                return
            sent += 1
            yield item


def heap_sampler(proc):
    """Collects the board's output lines, and its `heap` lines as samples, in a thread."""
    samples = []
    lines = []

    def read():
        for raw in proc.stdout:
            line = raw.decode(errors="replace").rstrip()
            lines.append(line)
            if line.startswith("heap "):
                samples.append(int(line.split()[1]))

    threading.Thread(target=read, daemon=True).start()
    return samples, lines


def soak(micropython, count, heap="64k", lib=None, state=None):
    lib = lib or os.path.join(hostpath.ROOT, "build", "firmware")
    board = UnixBoard(
        micropython,
        state or tempfile.mkdtemp(prefix="soak-"),
        "--rom" if lib.endswith(".img") else "--lib",
        lib,
        "--heap-log",
        "1000",
        "--test-tr",
        "1",
        interpreter_args=["-X", "heapsize=" + heap],
    )
    try:
        board.start()
        samples, lines = heap_sampler(board.proc)
        sock = board.connect(timeout=5)
        start_time = time.time()
        sent = 0
        for request, check, beginnings in messages(count):
            sock.sendall(tracefile.to_line(list(request)))
            sent += 1
            if check is None:
                continue  # Break: no answer
            answer = b""
            while not check(answer):
                try:
                    chunk = sock.recv(128)
                except ConnectionResetError:
                    chunk = b""
                if not chunk:
                    raise RuntimeError(
                        "the board closed the line after %d messages:\n%s" % (sent, "\n".join(lines[-8:]))
                    )
                answer += bytes(tracefile.from_line(chunk))
            if not answer.startswith(beginnings):
                raise RuntimeError("message %d %r: answer %r" % (sent, bytes(request), answer))
        seconds = time.time() - start_time
        time.sleep(1.2)  # one more heap sample after the last message
        sock.close()
    finally:
        board.stop()
    errors = [line for line in lines if "Error" in line]
    assert not errors, errors
    quarter = max(1, len(samples) // 4)
    early, late = samples[:quarter], samples[-quarter:]
    return {
        "messages": sent,
        "seconds": seconds,
        "heap": heap,
        "samples": len(samples),
        "heap_min": min(samples),
        "heap_max": max(samples),
        "growth": max(late) - max(early),
    }


def main(argv):
    import argparse

    parser = argparse.ArgumentParser(
        prog="soak.py", description="Many messages against the unix board on a small heap."
    )
    parser.add_argument("--messages", type=int, default=100000)
    parser.add_argument("--heap", default="64k", help="-X heapsize, e.g. 64k")
    parser.add_argument("--lib", help="build/firmware (.mpy) or a ROMFS image (.img); default: the sources")
    args = parser.parse_args(argv)  # a bad argument: usage, one line, exit 2
    micropython = micropython_binary()
    r = soak(micropython, args.messages, args.heap, args.lib)
    print(
        "%(messages)d messages in %(seconds).0f s on -X heapsize=%(heap)s: heap in use after "
        "collection %(heap_min)d..%(heap_max)d bytes over %(samples)d samples, growth from the "
        "first to the last quarter %(growth)d bytes, no MemoryError" % r
    )
    return 0 if r["growth"] <= 512 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
