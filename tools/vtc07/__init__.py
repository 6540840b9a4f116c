"""vtc07: the host side of a VTC07 (IEC 62055-52) meter: the HHU client, the vending side
and the trace format, and the `vtc07` command.

    from vtc07 import hhu, vending, tracefile
    with hhu.Hhu("socket://127.0.0.1:7001") as meter:      # or Hhu(None, port=transport)
        print(meter.sign_on())

The host shares the firmware's own modules (tables, formats, frames, tokens, the
RegisterTable, crc) instead of keeping second copies. They import each other by top-level
name (`from tables import ...`, as MicroPython wants), so importing this package puts
their directory on sys.path: the copy inside the installed package (vtc07/_firmware,
built from firmware/ by pyproject.toml), or firmware/ itself when run from a checkout.
Those names (tables, meter, storage, config, ...) are therefore taken in a process that
imports vtc07.
"""
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))


def _firmware_dirs():
    packaged = os.path.join(_HERE, "_firmware")
    if os.path.isdir(packaged):  # an installed wheel
        return [packaged, os.path.join(_HERE, "_cpython")]
    root = os.path.dirname(os.path.dirname(_HERE))  # a checkout (or an editable install): tools/vtc07
    return [os.path.join(root, "firmware"), os.path.join(root, "cpython")]


def _version():
    """The firmware's version (VERSION in firmware/server.py, the SoftwareVersion register),
    read from its source: the meter and its host tools are released together."""
    with open(os.path.join(_firmware_dirs()[0], "server.py")) as f:
        for line in f:
            if line.startswith('VERSION = b"'):
                return line.split('"')[1]
    raise ImportError("vtc07: firmware/server.py has no VERSION")


__version__ = _version()

for _d in reversed(_firmware_dirs()):
    if _d not in sys.path:
        sys.path.insert(0, _d)
