"""The unix board's heap after start-up, by where its firmware comes from (docs/boards.md).

    python3 tools/harness/bench/startup_heap.py [--heap 64k] [--image build/romfs/unix.img]

Starts the board (`--heap-log`, `--test-tr 1` as the soak; no load) three ways and prints
the heap in use after a collection once it listens:
- files: the .mpy files `make compile` builds (`--lib build/firmware`), their bytecode
  loaded into the heap, as a board that has them on its file system;
- ROMFS: the image `make romfs BOARD=unix` builds (`--rom`), its bytecode run in place;
  the unix port reads the image into the heap, where a board maps it from flash, so the
  figure is given with the image buffer and without it (the board's);
- sources: firmware/ as it is (`make run`), compiled at start-up.
A way that does not start in the heap size given is reported as such.
"""

import os
import subprocess
import sys
import tempfile
import time

sys.path.append(__file__[: __file__.rfind("/") + 1] + "..")  # tools/harness, for hostpath (README.md)
import hostpath
import smallest_heap
from unixboard import UnixBoard, micropython_binary

BUILD = os.path.join(hostpath.ROOT, "build")


def heap_after_start(micropython, flags, heap):
    """Heap in use after the first collection once the board listens, or the error line."""
    board = UnixBoard(
        micropython,
        tempfile.mkdtemp(prefix="heap-"),
        *flags,
        "--heap-log",
        "200",
        "--test-tr",
        "1",
        interpreter_args=["-X", "heapsize=" + heap],
    )
    try:
        board.start()
    except RuntimeError as e:
        return str(e).strip().splitlines()[-1:] or ["did not start"]
    try:
        deadline = time.time() + 10
        while time.time() < deadline:
            line = board.proc.stdout.readline().decode()
            if line.startswith("heap "):
                return int(line.split()[1])
        return ["no heap line"]
    finally:
        board.stop()


def smallest_start(micropython, lib, oversized=False, low=32 * 1024, high=96 * 1024):
    """The smallest -X heapsize (to smallest_heap.STEP, 256 B) in which the board starts from the .mpy files in
    `lib` on a meter that was in use, and listens; `oversized`: one copy of its record is
    2 MB of random bytes, as the 64 KB fail-closed test has it. None if not even `high`."""
    state = os.path.join(tempfile.mkdtemp(prefix="heap-"), "state")
    UnixBoard(micropython, state, "--lib", lib).start().stop()  # a record, in use
    if oversized:
        with open(os.path.join(state, "meter.b"), "wb") as f:
            f.write(os.urandom(2 * 1024 * 1024))

    def starts(heap):
        board = UnixBoard(micropython, state, "--lib", lib, interpreter_args=("-X", "heapsize=%d" % heap))
        try:
            board.start()
        except RuntimeError:
            return False
        board.stop()
        return True

    try:
        return smallest_heap.smallest(starts, low, high)
    except RuntimeError:  # it does not start even in `high`
        return None


def buffer_bytes(micropython, size):
    """What the board's image buffer, a bytearray of `size` bytes, takes of the heap."""
    script = "import gc\ngc.collect()\na=gc.mem_alloc()\nb=bytearray(%d)\ngc.collect()\nprint(gc.mem_alloc()-a)" % size
    return int(subprocess.run([micropython, "-c", script], capture_output=True, text=True, check=True).stdout)


def measure(micropython, heap, image):
    return {
        "files": heap_after_start(micropython, ["--lib", os.path.join(BUILD, "firmware")], heap),
        "romfs": heap_after_start(micropython, ["--rom", image], heap),
        "sources": heap_after_start(micropython, [], heap),
        "image": os.path.getsize(image),
        "buffer": buffer_bytes(micropython, os.path.getsize(image)),
    }


def main(argv):
    import argparse

    parser = argparse.ArgumentParser(prog="startup_heap.py", description="The unix board's heap after start-up.")
    parser.add_argument("--heap", default="64k", help="-X heapsize, e.g. 64k")
    parser.add_argument("--image", default=os.path.join(BUILD, "romfs", "unix.img"))
    args = parser.parse_args(argv)  # a bad argument: usage, one line, exit 2
    heap, image = args.heap, args.image
    if not os.path.isfile(image) or not os.path.isdir(os.path.join(BUILD, "firmware")):
        print("error: no %s or build/firmware: run `make romfs BOARD=unix` first" % image)
        return 2
    r = measure(micropython_binary(), heap, image)
    print("unix board, -X heapsize=%s, heap in use after start-up:" % heap)
    print("  files (.mpy, --lib build/firmware): %s" % r["files"])
    if isinstance(r["romfs"], int):
        print(
            "  ROMFS (--rom, %d B image):          %d B, %d B without the image buffer"
            % (r["image"], r["romfs"], r["romfs"] - r["buffer"])
        )
    else:
        print("  ROMFS (--rom, %d B image):          %s" % (r["image"], r["romfs"]))
    print("  sources (firmware/, compiled):      %s" % r["sources"])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
