"""The line between a board's UART and the VTC07 core: shared by every hardware board.

`Link` moves bytes between a `machine.UART`-like object and the server and handles the
front end (profile section 1):
- half-duplex front ends (optical head, current loop) get a TX-enable / direction pin
  that is driven active just before the first byte and released only after the last
  byte's stop bit has left (`UART.flush()` where the port has it, else the computed
  transmission time);
- the current loop hears its own transmission: those echo bytes are removed, by comparing
  against what was sent, before the core sees them;
- parity: "uart" runs the UART 7E1 and the core takes 7-bit characters; "soft" runs it
  8N1 and the core makes and checks parity in bit 7 itself.
`Link` holds no `machine` import, so the host tests drive it with fake UART and Pin
objects; `run()` is the board's loop: select.poll on the UART with the core's next
deadline as timeout, so the CPU sleeps between events. A board with metrology
(boards/common/metrology.py) has it fed from the same loop, at least every FEED_MS.
"""
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
    def __init__(self, uart, server, baud, clock, sleep_ms, half_duplex=False, echo=False,
                 tx_enable=None, tx_active=1, led=None, metrology=None):
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
        self._tx = server.tx_buffer()  # what server.poll_len counts: written with no slice of it
        if tx_enable is not None:
            tx_enable.value(1 - tx_active)  # listen

    def tx_ms(self, n):
        """Time n characters take on the line, rounded up."""
        return (n * BITS_PER_CHAR * 1000 + self.baud - 1) // self.baud

    def receive(self):
        """Take everything the UART holds and give it to the core."""
        while self.uart.any():
            n = self.uart.readinto(self._rx) or 0
            if n <= 0:
                return
            now = ticks_add(self.clock(), 1)  # the end of this tick: see boards/unix
            if self.echo is not None:
                n = self.echo.filter(self._rx, n, now)
            if n:
                self.server.receive(self._rx, now, n)

    def transmit(self, n):
        """Send the first `n` bytes of the server's buffer (a stream's write(buf, n): no
        slice of it is made)."""
        if self.led is not None:
            self.led.value(1)
        if self.tx_enable is not None:
            self.tx_enable.value(self.tx_active)
        self.uart.write(self._tx, n)
        if self.tx_enable is not None or self.half_duplex:
            # release the line only after the stop bit of the last character
            if hasattr(self.uart, "flush"):
                self.uart.flush()
            else:
                self.sleep_ms(self.tx_ms(n))
        if self.echo is not None:
            self.echo.sent(self._tx, ticks_add(self.clock(), self.tx_ms(n)), n)
        if self.tx_enable is not None:
            self.tx_enable.value(1 - self.tx_active)
        if self.led is not None:
            self.led.value(0)

    def service(self):
        """One pass: due output and work, then input, then metrology. Returns ms until the
        next pass is needed (-1: only input can bring work).

        The core is polled before input is taken: a token waiting to be worked on runs
        before the next request, even when that request is complete in the UART the
        moment an answer has gone out (else a HHU asking TokenStatus back to back would
        keep an answer pending, and the token waiting, for ever)."""
        n = self.server.poll_len(self.clock())
        while n:  # and once more after an answer: the work it held back runs now
            self.transmit(n)
            n = self.server.poll_len(self.clock())
        self.receive()
        wait = self.server.next_event(self.clock())
        if self.metrology is not None:
            due = self.metrology.feed(self.clock())
            wait = due if wait < 0 else min(wait, due)
        return wait

    def run(self):
        import select

        poller = select.poll()
        poller.register(self.uart, select.POLLIN)
        while True:
            wait = self.service()
            for _ in poller.ipoll(wait):  # ipoll: no list of results per wake
                break
