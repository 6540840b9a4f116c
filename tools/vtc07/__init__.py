"""vtc07: the host side of a VTC07 (IEC 62055-52) meter: the HHU client, the vending side
and the trace format, and the `vtc07` command.

    from vtc07 import hhu, vending, tracefile
    with hhu.Hhu("socket://127.0.0.1:7001") as meter:      # or Hhu(None, port=transport)
        print(meter.sign_on())

The host shares the firmware's own modules (tables, formats, frames, tokens, the
RegisterTable, crc) instead of keeping second copies: the copy inside the installed package
(vtc07/_firmware, built from firmware/ by pyproject.toml), or firmware/ itself when run from
a checkout. They import each other by top-level name (`from tables import ...`, as
MicroPython wants). So that a process importing vtc07 keeps those names (config, meter,
storage, ...) for its own modules, nothing goes on sys.path: the firmware's modules live
only inside this package, as vtc07._firmware.tables and so on, and a firmware name
imported from a module of this package (the firmware's own, or vtc07's: `from tables
import ...`) is resolved there by the import hook below.
"""

from __future__ import annotations

import builtins
import importlib
import importlib.machinery
import os
import sys
import types
from typing import Mapping, Optional, Sequence

_HERE = os.path.dirname(os.path.abspath(__file__))


def _firmware_dirs() -> list[str]:
    packaged = os.path.join(_HERE, "_firmware")
    if os.path.isdir(packaged):  # an installed wheel
        return [packaged, os.path.join(_HERE, "_cpython")]
    root = os.path.dirname(os.path.dirname(_HERE))  # a checkout (or an editable install): tools/vtc07
    return [os.path.join(root, "firmware"), os.path.join(root, "cpython")]


def _version() -> str:
    """The firmware's version (VERSION in firmware/server.py, the SoftwareVersion register),
    read from its source: the meter and its host tools are released together."""
    with open(os.path.join(_firmware_dirs()[0], "server.py")) as f:
        for line in f:
            if line.startswith('VERSION = b"'):
                return line.split('"')[1]
    raise ImportError("vtc07: firmware/server.py has no VERSION")


__version__ = _version()

# top-level firmware name -> its module inside this package ("tables" -> "vtc07._firmware.tables")
_SHARED: dict[str, str] = {}
for _pkg, _dir in zip((__name__ + "._firmware", __name__ + "._cpython"), _firmware_dirs()):
    _module = types.ModuleType(_pkg, "the firmware's modules as the host shares them")
    _module.__path__ = [_dir]
    _module.__package__ = _pkg
    sys.modules.setdefault(_pkg, _module)
    for _file in sorted(os.listdir(_dir)):
        if _file.endswith(".py") and not _file.startswith("_"):
            _SHARED.setdefault(_file[:-3], _pkg + "." + _file[:-3])


def _import(
    name: str,
    globals: Optional[Mapping[str, object]] = None,
    locals: Optional[Mapping[str, object]] = None,
    fromlist: Sequence[str] = (),
    level: int = 0,
) -> types.ModuleType:
    """__import__ for the modules of this package: a firmware name is the package's copy."""
    if level == 0 and name in _SHARED:
        return importlib.import_module(_SHARED[name])
    return builtins.__import__(name, globals, locals, fromlist, level)


_BUILTINS = dict(builtins.__dict__, __import__=_import)


class _Loader(importlib.machinery.SourceFileLoader):
    """Runs a module of this package with _import as its __import__ (its `import` statements
    and __import__ calls, at load time and later inside its functions)."""

    def exec_module(self, module: types.ModuleType) -> None:
        module.__builtins__ = _BUILTINS  # type: ignore[attr-defined]  # a module object takes any attribute
        super().exec_module(module)


class _Finder:
    """Finds vtc07's submodules (the firmware's among them) and loads them with _Loader."""

    @staticmethod
    def find_spec(
        fullname: str, path: Optional[Sequence[str]] = None, target: Optional[types.ModuleType] = None
    ) -> Optional[importlib.machinery.ModuleSpec]:
        if not fullname.startswith(__name__ + ".") or path is None:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is not None and isinstance(spec.loader, importlib.machinery.SourceFileLoader):
            spec.loader = _Loader(spec.loader.name, spec.loader.path)
        return spec

    @staticmethod
    def invalidate_caches() -> None:
        pass


if not any(isinstance(f, type) and f.__name__ == "_Finder" and f.__module__ == __name__ for f in sys.meta_path):
    sys.meta_path.insert(0, _Finder)
