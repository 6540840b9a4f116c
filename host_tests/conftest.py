"""Shared setup: import paths for firmware/ on CPython, the MicroPython binary, the unix board."""
import os
import shutil
import socket
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for sub in ("cpython", "firmware", "tools"):
    path = os.path.join(ROOT, sub)
    if path not in sys.path:
        sys.path.insert(0, path)

TRACES = os.path.join(ROOT, "host_tests", "traces")


def micropython_binary():
    here = os.path.join(os.path.dirname(sys.executable), "micropython")
    return here if os.path.exists(here) else shutil.which("micropython")


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


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class UnixBoard:
    """The unix board as a process on a loopback TCP port."""

    def __init__(self, binary, state, *flags):
        self.binary = binary
        self.state = state
        self.flags = flags
        self.port = free_port()
        self.proc = None

    def start(self):
        cmd = [self.binary, os.path.join(ROOT, "boards", "unix", "main.py"),
               "--tcp", "127.0.0.1:%d" % self.port, "--state", str(self.state), *self.flags]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(self.proc.stdout.read().decode())
                time.sleep(0.05)
        raise RuntimeError("unix board did not start listening")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def connect(self, timeout=3.0):
        return socket.create_connection(("127.0.0.1", self.port), timeout=timeout)


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
