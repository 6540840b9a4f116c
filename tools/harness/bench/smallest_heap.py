"""The smallest heap the meter runs in, as a board runs it (issue 21: "the meter in 12 KB").

    .venv/bin/python tools/harness/bench/smallest_heap.py [--wasm|--breakdown] [IMAGE]
                                                               (after make romfs BOARD=unix)

Bisects, to 256 B, for the smallest heap in which the firmware, from the ROMFS image
(bytecode in place, as from a board's flash), builds the meter with a store in RAM and
serves a session through its receive/poll interface: a sign-on, 200 rounds of a register
read, an accepted token write (its TID forgotten each time), a TokenStatus read and a
TokenLockout read, then a Break.

On the unix port (64-bit, objects about 1.6x a 32-bit board's, see docs/benchmarks.md):
`micropython -X heapsize=`, the session as one script, collecting whenever an allocation
fails. The image is read into the heap first: its bytes object is taken off the figure.
The interpreter's own start-up (an empty run's smallest heap) is taken off as well.

With --wasm, on the WebAssembly port (32-bit, 16-byte blocks as on rp2, esp32 and stm32,
run with node: bench_wasm.py): `loadMicroPython({heapsize, romfs})`, the image copied to
memory outside the GC heap and mounted at /rom by the port, as a board maps its flash.
That port collects only between two top-level calls, so the session runs one step per
call (a round each), collecting after each, as a board's loop lets its collector run
between rounds (wasm/smallest_heap.mjs). The smallest heap the port starts in with the
image mounted is taken off, importing os, os.path and time there as well: the firmware
imports them, and they are frozen Python on this port (0.9 KB of heap), C on a board.

Either way the figure is the meter's: its modules' globals, functions and interned names,
the built core, and the garbage made between two collections. --breakdown: what the
32-bit port's smallest heap holds after each part of the session, collected.
"""

import json
import os
import subprocess
import sys

sys.path.append(__file__[: __file__.rfind("/") + 1] + "..")  # tools/harness, for hostpath (README.md)
import bench_wasm
from hostpath import HARNESS, ROOT

MICROPYTHON = os.path.join(ROOT, ".venv", "bin", "micropython")
IMAGE = os.path.join(ROOT, "build", "romfs", "unix.img")
WASM_RUNNER = os.path.join(HARNESS, "bench", "wasm", "smallest_heap.mjs")
ROUNDS = 200
STEP = 256  # the bisection's resolution, bytes
TOKEN = 23716100501183194197  # sts-tokens.md's first vector, the unix board's default key

# The session, in top-level steps (python, times), the same Python on both ports: the unix
# port runs them as one script, the WebAssembly port one runPython call per time. The
# requests are made before the meter is built; each is sent whole and the loop polls
# until its answer is out. Firmware from /rom/lib (the image's mount).
DEFINE = """
import gc
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
t = 0

def exchange(data):
    global t
    server.receive(data, t)
    while True:
        t += 10
        out = server.poll(t)
        if out:
            return out

def serve_round():
    global t
    for data in REQUESTS:
        app.forget_tids()
        out = exchange(data)
        assert out[:1] in (b"\\x02", b"\\x06"), out
    while app.busy:
        t += 10
        server.poll(t)
    assert app.token_status == 1
""" % {"token": TOKEN}

STEPS = (
    (DEFINE, 1),
    (
        'server = meter.build({"parity": "uart"}, MemoryStore(), 0)  # 7-bit characters: the UART does parity\n'
        "app = server.app",
        1,
    ),
    ('assert exchange(b"/?!\\r\\n")[:1] == b"/"', 1),
    ("serve_round()", ROUNDS),
    ('server.receive(message(b"\\x01B0\\x03"), t)  # no answer', 1),
)

# The unix port's start: the image read into one block of its size (no growing buffer)
# and mounted, as the WebAssembly port's start-up mounts it outside the heap.
UNIX_MOUNT = """
import os, sys, vfs
rom = bytearray(os.stat(%r)[6])
with open(%r, "rb") as f:
    f.readinto(rom)
vfs.mount(vfs.VfsRom(rom), "/rom")
sys.path[:0] = ["/rom/lib"]
"""

EMPTY = "import gc\ngc.collect()\n"


def unix_script(image, steps=STEPS):
    """The steps as one script for `micropython -c`, after the image's mount."""
    lines = [UNIX_MOUNT % (image, image)]
    for code, times in steps:
        if times == 1:
            lines.append(code)
        else:
            lines.append(
                "for _ in range(%d):\n%s" % (times, "".join("    " + line + "\n" for line in code.splitlines()))
            )
    return "\n".join(lines) + '\nprint("fits")\n'


def unix_fits(script, heap):
    r = subprocess.run([MICROPYTHON, "-X", "heapsize=%d" % heap, "-c", script], capture_output=True, text=True)
    return r.returncode == 0 and r.stdout.endswith("fits\n")


def wasm_run(heap, image, steps=STEPS, timeout=60):
    """The WebAssembly runner's result for the steps in `heap` bytes, the image outside it:
    (fits, its stdout and stderr). Unavailable without node or the port."""
    r = subprocess.run(
        [bench_wasm.node_binary(), WASM_RUNNER, wasm_package(), str(heap), image],
        input=json.dumps(steps),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return r.returncode == 0 and r.stdout.endswith("fits\n"), r.stdout + r.stderr


def wasm_package():
    package = bench_wasm.package_dir()
    if not os.path.exists(os.path.join(package, "micropython.mjs")):
        raise bench_wasm.Unavailable(
            "the MicroPython WebAssembly port is not installed in %s: run `make venv`" % package
        )
    return package


def smallest(fits, lo=512, hi=1 << 20, step=STEP):
    """The smallest heap (a multiple of `step` bytes) in which fits(heap) holds."""
    if not fits(hi):
        raise RuntimeError("the run fails even in %d bytes" % hi)
    while hi - lo > step:
        mid = (lo + hi) // 2 // step * step
        if fits(mid):
            hi = mid
        else:
            lo = mid
    return hi


def unix_line(image):
    base = smallest(lambda heap: unix_fits(EMPTY + 'print("fits")\n', heap))
    script = unix_script(image)
    heap = smallest(lambda heap: unix_fits(script, heap))
    # the image's bytearray: its data and its object, in 32-byte blocks (64-bit)
    image_heap = (os.path.getsize(image) + 31) // 32 * 32 + 32
    return (
        "smallest heap the meter runs in (unix port, 64-bit, from %s): %d B "
        "(-X heapsize=%d, less the image's %d B and the interpreter's own %d B)"
        % (os.path.basename(image), heap - image_heap - base, heap, image_heap, base)
    )


# this port's modules the firmware imports (storage, recovery: os), Python here, C on a board
PORT_MODULES = ("import os, time", 1)


def wasm_smallest(image):
    """(the smallest heap for the session, for the port's start-up and PORT_MODULES), 32-bit;
    the bounds leave room (the session fits in 24 KB, the start-up in 2.5 KB) for fewer runs."""
    base = smallest(lambda heap: wasm_run(heap, image, (PORT_MODULES,))[0], hi=1 << 14)
    return smallest(lambda heap: wasm_run(heap, image)[0], hi=1 << 17), base


def wasm_line(image):
    heap, base = wasm_smallest(image)
    return (
        "smallest heap the meter runs in (WebAssembly port, 32-bit, %s outside the heap): %d B "
        "(heapsize %d, less the port's own start-up with the image mounted and os and time imported, %d B)"
        % (os.path.basename(image), heap - base, heap, base)
    )


# a step that prints the heap in use, after the previous step's collection, and the
# interned names' pools (qstr_info: "n_total_bytes=N", in the heap on this port)
PROBE = ("micropython.qstr_info()\nprint('heap', gc.mem_alloc())", 1)


def wasm_breakdown(image):
    """(the smallest heap, the figure, [(part, bytes, of which interned names' pools)])
    on the 32-bit port, the image outside the heap: the parts the smallest heap holds after
    each of the session's steps, collected, summing to it."""
    smallest_heap, base = wasm_smallest(image)
    steps = [PROBE, PORT_MODULES, PROBE, ("import meter\nfrom storage import MemoryStore", 1), PROBE]
    steps += [STEPS[0], PROBE, STEPS[1], PROBE, *STEPS[2:], PROBE, ("micropython.mem_info()", 1)]
    for heap in (smallest_heap, smallest_heap + STEP, smallest_heap + 2 * STEP):  # the probes' own garbage may not fit
        ok, out = wasm_run(heap, image, steps)
        if ok:
            break
    else:
        raise RuntimeError("the session with its probes fails 512 B above its smallest heap:\n" + out)
    names, heaps = [0], [0]
    for line in out.splitlines():
        if line.startswith("qstr pool:"):
            names.append(int(line.rsplit("=", 1)[1]))
        elif line.startswith("heap "):
            heaps.append(int(line.split()[1]))
        elif line.startswith("GC: total: "):
            blocks = int(line.split()[2].rstrip(","))
    parts = [("tables", heap - blocks, 0)]
    for i, part in enumerate(("start", "port", "modules", "definitions", "meter", "rounds")):
        parts.append((part, heaps[i + 1] - heaps[i], names[i + 1] - names[i] if i else 0))
    parts.append(("free", blocks - heaps[-1], 0))
    return heap, base, parts


WHAT = {
    "tables": "the collector's tables (a block's kind, its finaliser) and alignment",
    "start": "the port's start-up, the runner's prelude and this probe",
    "port": "the port's os, os.path and time (Python here, C on a board)",
    "modules": "the firmware's modules from the image",
    "definitions": "the session's own functions and requests",
    "meter": "the built meter (store in RAM; the cipher module it imports, sta)",
    "rounds": "what the sign-on and the 200 rounds leave",
    "free": "free between rounds: room for a round's garbage, in pieces",
}


def breakdown_lines(image):
    heap, base, parts = wasm_breakdown(image)
    lines = [
        "32-bit heap (WebAssembly port, %s outside it): a heap of %d B after each step, collected:"
        % (os.path.basename(image), heap)
    ]
    for part, size, names in parts:
        lines.append("  %-72s %6d B%s" % (WHAT[part] + ":", size, " (interned names %d B)" % names if names else ""))
    lines.append("(smallest_heap.py --wasm: the smallest heap the session runs in, less the %d B the port needs" % base)
    lines.append("to start and import os and time)")
    return lines


def main(argv):
    mode = argv[0] if argv[:1] in (["--wasm"], ["--breakdown"]) else None
    argv = argv[1:] if mode else argv
    image = argv[0] if argv else IMAGE
    if not os.path.exists(image):
        print("smallest_heap: no image %s: run `make romfs BOARD=unix`" % image, file=sys.stderr)
        return 2
    try:
        if mode == "--breakdown":
            print("\n".join(breakdown_lines(image)))
        else:
            print(wasm_line(image) if mode else unix_line(image))
    except bench_wasm.Unavailable as problem:
        print("smallest_heap: %s" % problem, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
