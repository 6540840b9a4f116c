"""The line between a board's UART and the VTC07 core: shared by every hardware board.

`Link` makes a `machine.UART` the line the core's one loop drives (`Loop` in
firmware/server.py, which every place that runs the core uses: these
boards, the unix board's socket, the tests' lines, the simulator in
tools/harness/sim/simline.py).

`Link` also handles the front end (profile section 1):
- half-duplex front ends (optical head, current loop) get a TX-enable / direction pin
  that is driven active just before the first byte and released only after the last
  byte's stop bit has left (`UART.flush()` where the port has it, else the computed
  transmission time);
- the current loop hears its own transmission: those echo bytes are removed, by comparing
  against what was sent, before the core sees them;
- parity: "uart" runs the UART 7E1 and the core takes 7-bit characters; "soft" runs it
  8N1 and the core makes and checks parity in bit 7 itself.
`Link` holds no `machine` import, so the host tests drive it with fake UART and Pin
objects; `run()` is the board's loop: between passes it sleeps in select.poll on the UART
with the core's next deadline as timeout. A board with metrology
(boards/common/metrology.py) has it fed from the same loop, at least every FEED_MS.
"""

from server import Loop
from ticks import ticks_add, ticks_diff

BITS_PER_CHAR = 10  # start + 7 data + parity + stop, or start + 8 data + stop
RX_CHUNK = 32  # bytes taken from the UART at a time (a preallocated buffer)
ECHO_MAX = 48  # OWN: longest response (TX_MAX) plus slack for a repeat in flight
ECHO_GRACE_MS = 20  # OWN: how long after its transmission an echo may still arrive


class EchoFilter:
    """Drops, from what the UART received, the bytes this side sent (a two-wire current
    loop loops the transmitter back into the receiver). Expected echoes expire shortly
    after their transmission ends, so a missing echo cannot eat the HHU's next bytes."""

    def __init__(self, size=ECHO_MAX):
        self._buf = bytearray(size)
        self._head = 0
        self._count = 0
        self._until = 0

    def sent(self, data, done_at, n=-1):
        """`data` (its first `n` bytes) went out; its echo is expected until `done_at` + a
        grace time."""
        buf = self._buf
        size = len(buf)
        for i in range(len(data) if n < 0 else n):
            if self._count == size:  # cannot happen with responses of TX_MAX; stay safe
                self._head = (self._head + 1) % size
                self._count -= 1
            buf[(self._head + self._count) % size] = data[i]
            self._count += 1
        self._until = ticks_add(done_at, ECHO_GRACE_MS)

    def expected(self):
        return self._count

    def filter(self, buf, n, now):
        """Remove echoed bytes from buf[:n] in place; return how many bytes are left."""
        if self._count and ticks_diff(now, self._until) > 0:
            self._count = 0  # the echo did not come back (or not all): stop expecting it
        out = 0
        size = len(self._buf)
        for i in range(n):
            b = buf[i]
            if self._count and b == self._buf[self._head]:
                self._head = (self._head + 1) % size
                self._count -= 1
                continue
            # not our echo: a collision or the HHU talking; the rest of the echo is lost
            self._count = 0
            buf[out] = b
            out += 1
        return out


class Link:
    """A board's UART as the line the core's loop (`server.Loop`) drives:
    its front end between the two."""

    def __init__(
        self,
        uart,
        server,
        baud,
        clock,
        sleep_ms,
        half_duplex=False,
        echo=False,
        tx_enable=None,
        tx_active=1,
        led=None,
        metrology=None,
    ):
        """`clock`: time.ticks_ms or a test's clock; `sleep_ms`: time.sleep_ms or a test's."""
        self.uart = uart
        self.server = server
        self.baud = baud
        self.half_duplex = half_duplex
        self.echo = EchoFilter() if echo else None
        self.tx_enable = tx_enable
        self.tx_active = tx_active
        self.led = led
        self.metrology = metrology  # feed(now) -> ms until it wants the next pass
        self.clock = clock
        self.sleep_ms = sleep_ms
        self._rx = bytearray(RX_CHUNK)
        self._poller = None
        self._loop = Loop(server, self, clock, self._rx, 1, metrology)
        if tx_enable is not None:
            tx_enable.value(1 - tx_active)  # listen

    def tx_ms(self, n):
        """Time n characters take on the line, rounded up."""
        return (n * BITS_PER_CHAR * 1000 + self.baud - 1) // self.baud

    # --- the line the loop drives ---------------------------------------------------------

    def any(self):
        return self.uart.any()

    def readinto(self, buf):
        """What the UART holds, without this side's own echo."""
        while True:
            n = self.uart.readinto(buf) or 0
            if n <= 0 or self.echo is None:
                return n
            n = self.echo.filter(buf, n, ticks_add(self.clock(), 1))
            if n or not self.uart.any():  # all of it our echo: read on
                return n

    def write(self, out, n=-1):
        """Send `out` (its first `n` bytes: a stream's write(buf, n), no slice of it)."""
        if n < 0:
            n = len(out)
        if self.led is not None:
            self.led.value(1)
        if self.tx_enable is not None:
            self.tx_enable.value(self.tx_active)
        self.uart.write(out, n)
        if self.tx_enable is not None or self.half_duplex:
            # release the line only after the stop bit of the last character
            if hasattr(self.uart, "flush"):
                self.uart.flush()
            else:
                self.sleep_ms(self.tx_ms(n))
        if self.echo is not None:
            self.echo.sent(out, ticks_add(self.clock(), self.tx_ms(n)), n)
        if self.tx_enable is not None:
            self.tx_enable.value(1 - self.tx_active)
        if self.led is not None:
            self.led.value(0)

    def wait(self, ms):
        """Sleep until the UART has input or `ms` have passed (-1: until input)."""
        if self._poller is None:
            import select

            self._poller = select.poll()
            self._poller.register(self.uart, select.POLLIN)
        for _ in self._poller.ipoll(ms):  # ipoll: no list of results per wake
            break

    # --- the loop -----------------------------------------------------------------------

    def service(self):
        """One pass of the core's loop over this UART (the tests drive it pass by pass)."""
        return self._loop.step()

    def run(self):
        """The board's loop: it never returns (a board's fault guard wraps it)."""
        self._loop.run()
