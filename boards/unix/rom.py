"""The unix board's `--rom IMAGE` (boards/unix/main.py imports this only then): the ROMFS
image read into the heap and mounted at /rom, as a board's MicroPython mounts its ROM
partition; /rom/lib then holds the firmware and this board's modules, run in place.

A module of its own so that a board started without --rom compiles none of it: a script's
names are interned and its bytecode kept while it runs (docs/benchmarks.md). For the same
reason the option is taken off sys.argv here, so unixmain (whose every name costs heap
from files) never knows it: a `rom` key in a config file stays unknown, refused as any.
"""

import os
import sys

import vfs

i = sys.argv.index("--rom")
path = sys.argv[i + 1]
del sys.argv[i : i + 2]
if "--lib" in sys.argv:
    print("error: give one of --rom and --lib", file=sys.stderr)
    sys.exit(2)
try:
    # a buffer of the file's size, read into: read() would grow one, leaving holes
    image = bytearray(os.stat(path)[6])
    with open(path, "rb") as f:
        f.readinto(image)
    vfs.mount(vfs.VfsRom(image), "/rom")  # reads `image` in place: it stays this module's
except OSError:  # no such file, or not a ROMFS image
    print("error: cannot mount %r as a ROMFS image (make romfs BOARD=unix builds one)" % path, file=sys.stderr)
    sys.exit(2)
