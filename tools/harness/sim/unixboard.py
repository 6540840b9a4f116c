"""The unix board as a process on a loopback TCP port (host side: tests and the
reliability scripts start it the same way), and a conversation with it at the byte level
(`ask`, `read`, `enter`: the answers as the trace notation writes them)."""

import os
import shutil
import socket
import subprocess
import sys
import time

import hostpath

from vtc07 import tracefile

MAIN = os.path.join(hostpath.ROOT, "boards", "unix", "main.py")


def micropython_binary():
    """The `micropython` of this virtual environment, else the one on PATH (or None)."""
    here = os.path.join(os.path.dirname(sys.executable), "micropython")
    return here if os.path.exists(here) else shutil.which("micropython")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class UnixBoard:
    """`micropython [interpreter_args] boards/unix/main.py --tcp 127.0.0.1:PORT --state
    STATE [flags]`; its output (stdout and stderr) is `proc.stdout`, bytes. `main`: another
    copy of boards/unix/main.py (one with no firmware beside it)."""

    def __init__(self, binary, state, *flags, interpreter_args=(), main=MAIN):
        self.main = main
        self.binary = binary
        self.state = state
        self.flags = flags
        self.interpreter_args = list(interpreter_args)
        self.port = free_port()
        self.proc = None

    def start(self):
        cmd = (
            [self.binary]
            + self.interpreter_args
            + [self.main, "--tcp", "127.0.0.1:%d" % self.port, "--state", str(self.state), *self.flags]
        )
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
        """SIGKILL: no clean-up, as when the power goes."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def connect(self, timeout=3.0):
        return socket.create_connection(("127.0.0.1", self.port), timeout=timeout)

    def session(self):
        """A connection, signed on."""
        sock = self.connect()
        assert ask(sock, "/?!<CR><LF>").startswith("/STS")
        return sock


def ask(sock, message):
    """Send a message (bytes, or text in the trace notation); the whole answer as text."""
    if isinstance(message, str):
        message = bytes(tracefile.unescape(message))
    sock.sendall(tracefile.to_line(list(message)))
    sock.settimeout(3.0)
    chars = []
    while not (chars in ([6], [0x15]) or chars[-1:] == [0x0A] or chars[-2:-1] == [3]):
        chunk = sock.recv(64)
        if not chunk:
            break
        chars += tracefile.from_line(chunk)
    return tracefile.escape(chars)


def read(sock, rid):
    """The value of register `rid` (its ID, or the ID's 4 hex digits) as the board answers."""
    answer = ask(sock, tracefile.read_request(int(rid, 16) if isinstance(rid, str) else rid))
    return answer[answer.index("(") + 1 : answer.index(")")]


def enter(sock, number):
    """Write a token; (the write's answer, TokenStatus after it)."""
    answer = ask(sock, tracefile.write_request(0x0004, "%017X" % number))
    time.sleep(0.1)
    return answer, read(sock, 0x0005)
