"""The core's heap figures on a 32-bit MicroPython: the WebAssembly port, run with node.

    .venv/bin/python tools/harness/bench/bench_wasm.py [--lib DIR|IMAGE.img] [TRACE...]

Prints the "name value" lines of tools/harness/bench/heap_figures.py (heap_modules,
modules_imported, heap_core, heap_core_ea11, heap_peak_replay, heap_peak_replay_no_gc,
alloc_per_char) for the firmware as built (`make compile`: build/firmware; or from a
ROMFS image, `make romfs BOARD=unix`, mounted and run in place), replaying
every host_tests/traces/*.trace unless traces are given. `make bench` prints them beside
the unix port's. The port is the npm package pinned in tools/harness/bench/wasm/package-lock.json,
which `make venv` installs into .venv/wasm.
"""

import glob
import os
import shutil
import subprocess
import sys

sys.path.append(__file__[: __file__.rfind("/") + 1] + "..")  # tools/harness, for hostpath (README.md)
from hostpath import HARNESS, ROOT

RUNNER = os.path.join(HARNESS, "bench", "wasm", "bench_wasm.mjs")
TRACES = sorted(glob.glob(os.path.join(ROOT, "host_tests", "traces", "*.trace")))
BUILD = os.path.join(ROOT, "build", "firmware")


class Unavailable(Exception):
    """No node or no installed port: what to do about it, in one line."""


def package_dir():
    """The installed port, beside this virtual environment's Python (.venv/wasm)."""
    venv = os.path.dirname(os.path.dirname(sys.executable))
    return os.path.join(venv, "wasm", "node_modules", "@micropython", "micropython-webassembly-pyscript")


def version():
    """The installed port's npm version (its MicroPython release and build)."""
    import json

    with open(os.path.join(package_dir(), "package.json")) as f:
        return json.load(f)["version"]


def node_binary():
    node = shutil.which("node")
    if node is None:
        raise Unavailable("no `node` on PATH: the 32-bit figures need Node.js 20 or newer (and npm for `make venv`)")
    return node


def figures(lib=BUILD, traces=TRACES, names_first=False):
    """{name: value as printed} from the WebAssembly port; Unavailable if it cannot run.
    `names_first`: heap_modules alone, with the qstr pools grown beforehand, so that it is
    the firmware's objects without the pools its names open (bench_wasm.mjs)."""
    node = node_binary()
    package = package_dir()
    if not os.path.exists(os.path.join(package, "micropython.mjs")):
        raise Unavailable("the MicroPython WebAssembly port is not installed in %s: run `make venv`" % package)
    flags = ["--names-first"] if names_first else []
    result = subprocess.run([node, RUNNER, package, lib, *flags, *traces], capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise RuntimeError("the WebAssembly port's run failed:\n" + result.stdout + result.stderr)
    return parse(result.stdout)


def parse(text):
    """{name: value} from "name value" lines (bench_core.py's and the 32-bit runner's),
    with the heap dumps heap_figures.board_loop prints ("heap_dump K 0|1" and
    micropython.mem_info(1)'s block map) turned into board_K_objects: the heap objects
    (blocks that start one) the requests of kind K left, per request."""
    found = {}
    heads = {}
    dump = None
    for line in text.splitlines():
        if line.startswith("heap_dump "):
            _, kind, which = line.split()
            dump = (kind, which)
            heads[dump] = 0
        elif dump and len(line) > 10 and line[8:10] == ": " and all(c in "0123456789abcdef" for c in line[:8]):
            heads[dump] += sum(1 for c in line[10:] if c not in ".= ")
        elif dump and (line.startswith(" ") or line.startswith(("mem:", "stack:", "GC:", "GC memory layout"))):
            continue  # the dump's header and its "(N lines all free)"
        elif line:
            dump = None
            name, value = line.split(" ", 1)
            found[name] = value
    rounds = int(found.get("board_rounds", 1))
    for kind, which in heads:
        if which == "1":
            found["board_%s_objects" % kind] = (heads[(kind, "1")] - heads[(kind, "0")]) // rounds
    return found


def main(argv):
    lib = BUILD
    if argv[:1] == ["--lib"]:
        if len(argv) < 2:
            print("bench_wasm: --lib needs a directory of .mpy files or a ROMFS image", file=sys.stderr)
            return 2
        lib, argv = argv[1], argv[2:]
    if not lib.endswith(".img") and not glob.glob(os.path.join(lib, "*.mpy")):
        print("bench_wasm: no .mpy files in %s: run `make compile`" % lib, file=sys.stderr)
        return 2
    try:
        found = figures(lib, argv or TRACES)
    except Unavailable as problem:
        print("bench_wasm: %s" % problem, file=sys.stderr)
        return 2
    except RuntimeError as problem:
        print("bench_wasm: %s" % problem, file=sys.stderr)
        return 1
    for name in sorted(found):
        print(name, found[name])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
