"""Soak: many messages against the unix board on a small heap, with its heap sampled.

    python3 tools/soak.py [--messages 100000] [--heap 96k] [--lib build/firmware]

Starts the unix board as `micropython -X heapsize=HEAP boards/unix/main.py --lib LIB
--heap-log 1000 --tr 1` (tr shortened so that 100,000 messages take minutes, not hours;
every other timing is the profile's), and sends a steady mix: sign-on, reads of every
readable register, writes of tokens (accepted, used, rejected until the lockout answers
ERR07), writes of bad values, Break. Every answer must be the one the message asks for.
The board prints its heap in use after a collection every second; the run fails on a
MemoryError, a missing answer, or heap growth between the first and the last quarter.
"""
import os
import subprocess
import sys
import threading
import time

import hostpath  # noqa: F401
import tracefile
import vending

DK = 0xE653341F9D5BF36F
READABLE = (b"0000", b"0001", b"0002", b"0003", b"0005", b"0006", b"8000", b"8001", b"8005", b"800B",
            b"8010", b"8014", b"8016")


def _line_end(answer):
    return answer.endswith(b"\r\n")


def _message_end(answer):
    return answer in (b"\x06", b"\x15") or (len(answer) >= 2 and answer[-2] == 3)


def messages(count):
    """(request as 7-bit characters, a test that the answer is complete or None) x count."""
    sent = 0
    cycle = 0
    while True:
        cycle += 1
        token = vending.token(0, 0, cycle % 16, 1000 + cycle, 1, DK)
        batch = [(b"/?!\r\n", _line_end)]
        batch += [(tracefile.command(b"R1\x02" + rid + b"()"), _message_end) for rid in READABLE]
        for value in (b"%017X" % token, b"%017X" % token, b"%017X" % (cycle * 7919), b"12"):
            batch.append((tracefile.command(b"W1\x020004(" + value + b")"), _message_end))
            batch.append((tracefile.command(b"R1\x020005()"), _message_end))
        batch.append((tracefile.command(b"B0"), None))
        for item in batch:
            if sent == count:
                return
            sent += 1
            yield item

ROOT = hostpath.ROOT


def start(micropython, heap, lib, state, port):
    cmd = [micropython, "-X", "heapsize=" + heap, os.path.join(ROOT, "boards", "unix", "main.py"),
           "--lib", lib, "--heap-log", "1000", "--tr", "1", "--tcp", "127.0.0.1:%d" % port,
           "--state", state]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    samples = []
    lines = []

    def read():
        for line in proc.stdout:
            lines.append(line.rstrip())
            if line.startswith("heap "):
                samples.append(int(line.split()[1]))

    threading.Thread(target=read, daemon=True).start()
    return proc, samples, lines


def soak(micropython, count, heap="96k", lib=None, state=None, port=None):
    import socket
    import tempfile

    lib = lib or os.path.join(ROOT, "build", "firmware")
    state = state or tempfile.mkdtemp(prefix="soak-")
    if port is None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
    proc, samples, lines = start(micropython, heap, lib, state, port)
    try:
        deadline = time.time() + 10
        while True:
            try:
                sock = socket.create_connection(("127.0.0.1", port), timeout=5)
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError("the board did not start:\n" + "\n".join(lines))
                time.sleep(0.05)
        start_time = time.time()
        sent = 0
        for request, check in messages(count):
            sock.sendall(tracefile.to_line(list(request)))
            sent += 1
            if check is None:
                continue  # Break: no answer
            answer = b""
            while not check(answer):
                chunk = sock.recv(128)
                if not chunk:
                    raise RuntimeError("the board closed the line after %d messages:\n%s"
                                       % (sent, "\n".join(lines[-5:])))
                answer += bytes(tracefile.from_line(chunk))
        seconds = time.time() - start_time
        time.sleep(1.2)  # one more heap sample after the last message
        sock.close()
    finally:
        proc.kill()
        proc.wait()
    errors = [line for line in lines if "Error" in line]
    assert not errors, errors
    quarter = max(1, len(samples) // 4)
    early, late = samples[:quarter], samples[-quarter:]
    return {"messages": sent, "seconds": seconds, "heap": heap, "samples": len(samples),
            "heap_min": min(samples), "heap_max": max(samples),
            "growth": max(late) - max(early)}


def main(argv):
    count = int(argv[argv.index("--messages") + 1]) if "--messages" in argv else 100000
    heap = argv[argv.index("--heap") + 1] if "--heap" in argv else "96k"
    lib = argv[argv.index("--lib") + 1] if "--lib" in argv else None
    micropython = os.path.join(os.path.dirname(sys.executable), "micropython")
    r = soak(micropython, count, heap, lib)
    print("%(messages)d messages in %(seconds).0f s on -X heapsize=%(heap)s: heap in use after "
          "collection %(heap_min)d..%(heap_max)d bytes over %(samples)d samples, growth from the "
          "first to the last quarter %(growth)d bytes, no MemoryError" % r)
    return 0 if r["growth"] <= 512 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
