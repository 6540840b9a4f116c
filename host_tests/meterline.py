"""Meters in this process, each served on a loopback TCP port in real time, for tests that
drive them from the host side as a real line would (the conformance kit, `vtc07`).

- `CoreMeter(server)`: the sans-IO core (firmware/ on CPython) with the host's clock; a
  test may build it wrong on purpose (say tr = 100 ms) to see the kit find it.
- `BoardMeter(name, state_dir)`: a hardware board's own glue (boards/<name>/board.py and
  boards/common: Link, echo removal, parity, direction pin) on fake `machine.UART` and
  `Pin` objects, as host_tests/test_boards.py drives it, but in real time: the bytes from
  the TCP peer land in the fake UART's receive buffer, what the board writes goes back
  out, and a write lasts the characters' time on the line at the board's speed. A current
  loop board also hears its own characters (its UART's receive side gets them back).

    with BoardMeter("esp32", tmp_path) as meter:
        Hhu("socket://127.0.0.1:%d" % meter.port, parity="uart")
"""

import os
import select
import socket
import sys
import threading
import time
import types

from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, "boards", "common"))
import boardmain
from server import Loop

_T0 = time.monotonic()


def now_ms():
    """The host's clock as MicroPython ticks (the core compares ticks, wrap-safe)."""
    return int((time.monotonic() - _T0) * 1000) % (1 << 30)


class _Served:
    """A loopback listener and a thread that runs the meter: `_feed(data)` takes what
    the peer sent, `_service()` runs the meter once and returns ms until it needs to run
    again (-1: only input). One thread does both, so the meter is never entered twice."""

    def __init__(self):
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(1)
        self.port = self._listener.getsockname()[1]
        self.conn = None
        self._stop = False
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def _send(self, data):
        if self.conn is not None:
            try:
                self.conn.sendall(bytes(data))
            except OSError:
                pass

    def _loop(self):
        while not self._stop:
            wait = self._service()
            timeout = 0.05 if wait < 0 else min(wait, 50) / 1000
            watch = [self._listener] + ([self.conn] if self.conn is not None else [])
            try:
                ready, _, _ = select.select(watch, [], [], timeout)
            except (OSError, ValueError):
                return
            for s in ready:
                if s is self._listener:
                    new, _ = self._listener.accept()
                    if self.conn is not None:
                        self.conn.close()
                    self.conn = new  # a newer HHU replaces an older one, as on the unix board
                    continue
                try:
                    data = s.recv(256)
                except OSError:
                    data = b""
                if data:
                    self._feed(data)
                else:
                    s.close()
                    self.conn = None

    def close(self):
        self._stop = True
        self._thread.join(2)
        self._listener.close()
        if self.conn is not None:
            self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class _FedPort:
    """The UART a CoreMeter's Link reads: what the TCP peer sent, at once."""

    def __init__(self, meter):
        self.meter = meter
        self.rx = bytearray()

    def any(self):
        return len(self.rx)

    def readinto(self, buf):
        n = min(len(buf), len(self.rx))
        buf[:n] = self.rx[:n]
        del self.rx[:n]
        return n

    def write(self, data, n=-1):
        if n < 0:
            n = len(data)
        self.meter._send(bytes(data[:n]))
        return n


class CoreMeter(_Served):
    def __init__(self, server):
        super().__init__()
        self.server = server
        self.line = _FedPort(self)  # (self.port is the TCP port)
        self._buf = bytearray(32)
        self._loop = Loop(server, self.line, now_ms, self._buf)
        self.start()

    def _feed(self, data):
        self.line.rx += data

    def _service(self):
        return self._loop.step()


class RealTimeUART:
    """machine.UART as boards/common/link.py uses it, at its baud rate in real time: a
    byte from the TCP peer can be read one character time (10 bits) after the one before
    it, and `write` hands the peer one byte per character time (the caller waits, as for
    a UART whose transmit buffer is full). A TCP peer's request thus reaches the board as
    slowly as on a serial line (13 characters of a ReadCommand: 54 ms at 2400 Bd), which
    a client measuring tr over TCP sees added to it."""

    INV_TX = 1
    INV_RX = 2

    def __init__(self, meter, *args, baudrate=9600, bits=8, parity=None, **kw):
        self.meter = meter
        self.baudrate, self.bits, self.parity = baudrate, bits, parity
        self.char_s = 10 / baudrate
        self.rx = bytearray()  # arrived: what readinto gives
        self._incoming = []  # (time.monotonic() it arrives, byte), in order
        self.loopback = False

    def feed(self, data):
        t = max(time.monotonic(), self._incoming[-1][0] if self._incoming else 0)
        for b in data:
            t += self.char_s
            self._incoming.append((t, b))

    def next_arrival_ms(self):
        """ms until the next byte arrives, -1 if none is on its way."""
        if not self._incoming:
            return -1
        return max(0, int((self._incoming[0][0] - time.monotonic()) * 1000) + 1)

    def any(self):
        now = time.monotonic()
        n = 0
        while n < len(self._incoming) and self._incoming[n][0] <= now:
            n += 1
        if n:
            self.rx += bytes(b for _, b in self._incoming[:n])
            del self._incoming[:n]
        return len(self.rx)

    def readinto(self, buf):
        n = min(len(buf), len(self.rx))
        buf[:n] = self.rx[:n]
        del self.rx[:n]
        return n

    def write(self, data, n=-1):
        data = data[:n] if n >= 0 else data  # a stream's write(buf, n), as Link writes
        start = time.monotonic()
        for i in range(len(data)):
            time.sleep(max(0.0, start + i * self.char_s - time.monotonic()))
            self.meter._send(data[i : i + 1])
        time.sleep(max(0.0, start + len(data) * self.char_s - time.monotonic()))
        if self.loopback:  # a current loop: our own characters come back to our receiver
            self.rx += data
        return len(data)

    def flush(self):  # write returned after the last stop bit
        pass


class FakePin:
    OUT = 1
    IN = 0
    PULL_UP = 1
    IRQ_FALLING = 4

    def __init__(self, *args, **kw):
        self.log = []

    def value(self, v=None):
        if v is None:
            return self.log[-1][1] if self.log else 0
        self.log.append((now_ms(), v))

    def irq(self, handler=None, trigger=None):
        """The metrology's inputs (boards/common/metrology.py): no pulses come here."""


class BoardMeter(_Served):
    def __init__(self, name, state_dir):
        super().__init__()
        self.board = self._load(name, str(state_dir))
        self.link = boardmain.build(self.board, now_ms, lambda ms: time.sleep(ms / 1000))
        self.link.uart.loopback = self.board.FRONT_END == "current_loop"
        self.start()

    def _load(self, name, state_dir):
        machine = types.ModuleType("machine")
        machine.UART = lambda *a, **kw: RealTimeUART(self, *a, **kw)
        machine.UART.INV_TX, machine.UART.INV_RX = RealTimeUART.INV_TX, RealTimeUART.INV_RX
        machine.Pin = FakePin
        saved = sys.modules.get("machine")
        sys.modules["machine"] = machine
        try:
            path = os.path.join(ROOT, "boards", name, "board.py")
            module = types.ModuleType("board_" + name)
            exec(compile(open(path).read(), path, "exec"), module.__dict__)
        finally:
            if saved is None:
                del sys.modules["machine"]
            else:
                sys.modules["machine"] = saved
        module.STATE_DIR = os.path.join(state_dir, "state")
        module.CONFIG_FILE = os.path.join(state_dir, "meter.conf")
        return module

    @property
    def parity(self):
        return self.board.PARITY

    def _feed(self, data):
        self.link.uart.feed(data)

    def _service(self):
        wait = self.link.service()
        arrival = self.link.uart.next_arrival_ms()
        if arrival < 0:
            return wait
        return arrival if wait < 0 else min(wait, arrival)
