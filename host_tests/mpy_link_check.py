"""Run by test_boards on the MicroPython unix port: the shared board glue (boards/common)
with a loopback UART, as on a current loop: sign-on and a read, the echo removed."""

import sys

_here = sys.argv[0].rsplit("/", 1)[0]
sys.path.insert(0, _here + "/../firmware")
sys.path.insert(0, _here + "/../boards/common")
sys.path.insert(0, _here + "/../tools/vtc07")  # the trace format, by its bare name

import meter  # noqa: E402
from link import Link  # noqa: E402
from storage import MemoryStore  # noqa: E402
from tracefile import command  # noqa: E402

clock = [0]


class LoopUART:
    def __init__(self):
        self.rx = bytearray()
        self.written = []

    def any(self):
        return len(self.rx)

    def readinto(self, buf):
        n = min(len(buf), len(self.rx))
        buf[:n] = self.rx[:n]
        self.rx = self.rx[n:]
        return n

    def write(self, data, n=-1):
        data = data[:n] if n >= 0 else data  # a stream's write(buf, n), as Link writes
        self.written.append(bytes(data))
        self.rx += data  # the loop carries it back
        return len(data)

    def flush(self):
        clock[0] += 70


class FakePin:
    def __init__(self):
        self.log = []

    def value(self, v):
        self.log.append((clock[0], v))


uart = LoopUART()
pin = FakePin()
server = meter.build({"parity": "uart"}, MemoryStore(), 0)
lnk = Link(uart, server, 2400, lambda: clock[0], None, half_duplex=True, echo=True, tx_enable=pin)


def run_until(t):
    while True:
        wait = lnk.service()
        if clock[0] >= t:
            return
        step = 1 if uart.any() else wait
        clock[0] = t if step < 0 else min(t, clock[0] + max(step, 1))


uart.rx += b"/?!\r\n"
run_until(1000)
uart.rx += command(b"R1\x020000()")
run_until(3000)
assert uart.written == [b"/STS3MPY-VTC07\r\n", b"\x020000(01)\x03\x03"], uart.written
assert pin.log[0] == (0, 0) and pin.log[1] == (201, 1) and pin.log[2] == (271, 0), pin.log
print("link ok")
