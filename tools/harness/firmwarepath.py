"""Where a harness script run on the MicroPython unix port (or CPython) finds the firmware
and the harness's other folders.

    import sys

    sys.path.append(__file__[: __file__.rfind("/") + 1] + "..")  # tools/harness: this module
    import firmwarepath

    args = firmwarepath.setup(sys.argv[1:])

`--lib DIR` as the first argument takes the firmware from DIR (build/firmware: .mpy, as
`make compile` builds it for a board), `--rom IMAGE` from a ROMFS image's lib/ (mounted
at /rom, run in place as from a board's flash; the image itself is read into the heap
here, before anything is measured); either is taken off the arguments returned;
otherwise firmware/ is used as it is. On CPython the const() shim (cpython/) goes on the path too.
The host package's directory (tools/vtc07) goes last, for the trace format (tracefile,
framing), which a script imports by its bare name on MicroPython, and after it the
harness's role folders (ROLES), so a script imports a module of another folder by its
bare name too. String operations only: MicroPython has no os.path and no importlib.
"""

import sys

_HARNESS = __file__[: __file__.rfind("/") + 1] or "./"  # tools/harness/
_ROOT = _HARNESS + "../.."
ROLES = ("build", "bench", "reliability", "sim")  # README.md says which holds what


def roles():
    """Puts the role folders on sys.path, after what is there."""
    for role in ROLES:
        if _HARNESS + role not in sys.path:
            sys.path.append(_HARNESS + role)


def setup(args):
    if args[:1] == ["--lib"]:
        sys.path.insert(0, args[1])
        args = args[2:]
    elif args[:1] == ["--rom"]:
        import vfs

        with open(args[1], "rb") as f:
            vfs.mount(vfs.VfsRom(f.read()), "/rom")
        sys.path.insert(0, "/rom/lib")
        args = args[2:]
    else:
        sys.path.insert(0, _ROOT + "/firmware")
    try:
        import micropython  # noqa: F401
    except ImportError:
        sys.path.insert(0, _ROOT + "/cpython")
    sys.path.append(_ROOT + "/tools/vtc07")
    roles()
    return args
