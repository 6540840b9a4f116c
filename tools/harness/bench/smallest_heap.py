"""The smallest heap the meter runs in, as a board runs it (issue 21: "the meter in 12 KB").

    .venv/bin/python tools/harness/bench/smallest_heap.py [IMAGE]     (after make romfs BOARD=unix)

Bisects `micropython -X heapsize=` (the unix port) for the smallest heap in which the
firmware, from the ROMFS image (bytecode in place, as from a board's flash), builds the
meter with a store in RAM and serves a session through its receive/poll interface: a
sign-on, 200 rounds of a register read, an accepted token write (its TID forgotten each
time), a TokenStatus read and a TokenLockout read, then a Break. The image is read into
the heap first (a board maps it from flash): its bytes object is taken off the figure.
Nothing else is in the heap but the interpreter's own start-up (about 1 KB, measured
with an empty run and taken off as well), so the figure is the meter's: its modules'
globals, functions and interned names, the built core and the garbage between two
collections. It is the 64-bit port's (objects about 1.6x a 32-bit board's, see
docs/benchmarks.md); the WebAssembly port, 32-bit, grows its heap on demand and so has
no smallest heap.
"""

import os
import subprocess
import sys

sys.path.append(__file__[: __file__.rfind("/") + 1] + "..")  # tools/harness, for hostpath (README.md)
from hostpath import ROOT

MICROPYTHON = os.path.join(ROOT, ".venv", "bin", "micropython")
IMAGE = os.path.join(ROOT, "build", "romfs", "unix.img")
ROUNDS = 200
TOKEN = 23716100501183194197  # sts-tokens.md's first vector, the unix board's default key

# The run, on the unix port; IMAGE and ROUNDS filled in. The requests are made before the
# meter is built; each is sent whole and the loop polls until its answer is out.
SESSION = """
import gc, os, sys, vfs
rom = bytearray(os.stat(%(image)r)[6])  # one block of the image's size, no growing buffer
with open(%(image)r, "rb") as f:
    f.readinto(rom)
vfs.mount(vfs.VfsRom(rom), "/rom")
sys.path[:0] = ["/rom/lib"]
import meter
from storage import MemoryStore

def message(text):
    bcc = 0
    for c in text[1:]:
        bcc ^= c
    return text + bytes((bcc,))

REQUESTS = (
    message(b"\\x01R1\\x028001()\\x03"),
    message(b"\\x01W1\\x020004(%(token)017X)\\x03"),
    message(b"\\x01R1\\x020005()\\x03"),
    message(b"\\x01R1\\x020006()\\x03"),
)
server = meter.build({"parity": "uart"}, MemoryStore(), 0)  # 7-bit characters: the UART does parity
app = server.app
t = 0

def exchange(data):
    global t
    server.receive(data, t)
    while True:
        t += 10
        out = server.poll(t)
        if out:
            return out

assert exchange(b"/?!\\r\\n")[:1] == b"/"
for _ in range(%(rounds)d):
    for data in REQUESTS:
        app.forget_tids()
        out = exchange(data)
        assert out[:1] in (b"\\x02", b"\\x06"), out
    while app.busy:
        t += 10
        server.poll(t)
    assert app.token_status == 1
server.receive(message(b"\\x01B0\\x03"), t)  # no answer
gc.collect()
print("fits", len(rom))
"""

EMPTY = "import gc\ngc.collect()\nprint('fits', 0)\n"


def fits(script, heap):
    r = subprocess.run([MICROPYTHON, "-X", "heapsize=%d" % heap, "-c", script], capture_output=True, text=True)
    if r.returncode == 0 and r.stdout.startswith("fits"):
        return int(r.stdout.split()[1])
    return None


def smallest(script, lo=512, hi=1 << 20, step=256):
    """The smallest heap (a multiple of `step` bytes) the script fits, and what it printed."""
    if fits(script, hi) is None:
        raise RuntimeError("the run fails even in %d bytes" % hi)
    while hi - lo > step:
        mid = (lo + hi) // 2 // step * step
        if fits(script, mid) is None:
            lo = mid
        else:
            hi = mid
    return hi, fits(script, hi)


def main(argv):
    image = argv[0] if argv else IMAGE
    if not os.path.exists(image):
        print("smallest_heap: no image %s: run `make romfs BOARD=unix`" % image, file=sys.stderr)
        return 2
    base, _ = smallest(EMPTY)
    heap, rom = smallest(SESSION % {"image": image, "rounds": ROUNDS, "token": TOKEN})
    # the image's bytearray: its data and its object, in 32-byte blocks (64-bit)
    image_heap = (rom + 31) // 32 * 32 + 32
    print(
        "smallest heap the meter runs in (unix port, 64-bit, from %s): %d B "
        "(-X heapsize=%d, less the image's %d B and the interpreter's own %d B)"
        % (os.path.basename(image), heap - image_heap - base, heap, image_heap, base)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
