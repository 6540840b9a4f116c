"""Every trace under traces/ replayed byte- and millisecond-exact on both interpreters."""

import glob
import os
import subprocess

import pytest
import replay_core
from conftest import ROOT, TRACES

from vtc07 import tracefile

TRACE_FILES = sorted(glob.glob(os.path.join(TRACES, "*.trace")))


def test_there_are_traces():
    assert len(TRACE_FILES) >= 20


@pytest.mark.parametrize("path", TRACE_FILES, ids=os.path.basename)
def test_trace_on_cpython(path):
    problem = replay_core.check(tracefile.load(path))
    assert problem is None, problem


@pytest.mark.parametrize("built", [False, True], ids=["source", "built"])
def test_traces_on_micropython(micropython, built, request):
    """On the unix port from firmware/ as it is, and as `make compile` builds it for a board
    (.mpy, with the firmware's integer constants folded in by tools/build_firmware.py)."""
    lib = ["--lib", request.getfixturevalue("built_firmware")] if built else []
    result = subprocess.run(
        [micropython, os.path.join(ROOT, "tools", "harness", "sim", "replay_core.py"), *lib, *TRACE_FILES],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    ok = [line for line in result.stdout.splitlines() if line.startswith("ok ")]
    assert len(ok) == len(TRACE_FILES)


def test_replayer_reports_a_difference(tmp_path):
    path = tmp_path / "bad.trace"
    text = open(os.path.join(TRACES, "signon_read_predefined.trace")).read()
    path.write_text(text.replace("< 200 /STS3", "< 201 /STS3"))
    problem = replay_core.check(tracefile.load(str(path)))
    assert "event 2" in problem and "201" in problem


def test_trace_format_round_trip():
    chars = list(range(128)) + [0x1C1 | tracefile.RAW]
    assert tracefile.unescape(tracefile.escape(chars)) == chars


def test_no_heap_allocation_per_received_character(micropython):
    """10,000 characters through the core on the unix port with the heap locked."""
    result = subprocess.run(
        [micropython, os.path.join(ROOT, "tools", "harness", "bench", "bench_core.py"), "--alloc-check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0 and "alloc_per_char 0" in result.stdout, result.stdout + result.stderr
