"""The one loop that drives the VTC07 core, and the line between a board's UART and it.

`Link.service` is one pass of the loop every place that runs the core uses (the hardware
boards, the unix board, the host tests' lines, the harness's simulated line and trace
replay): send what `poll` gives, take what the port holds and `receive` it, and say how
long the port may sleep (`next_event`). The port is a `machine.UART` or an adapter with
its methods (`any`, `readinto`, `write`; `wait(ms)` where it sleeps by itself): the unix
board's socket (boards/unix/unixmain.py, and its pty through a relay), the tests' fake
UARTs, tools/harness/simline.py's simulated line on a simulated clock.

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
objects; `run()` is the board's loop: select.poll on the UART (or the port's own `wait`)
with the core's next deadline as timeout, so the CPU sleeps between events. A board with
metrology (boards/common/metrology.py) has it fed from the same loop, at least every
FEED_MS; the unix board feeds its simulated load and heap log the same way.
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

    def sent(self, data, done_at):
        """`data` went out; its echo is expected until `done_at` + a grace time."""
        buf = self._buf
        size = len(buf)
        for i in range(len(data)):
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
                 tx_enable=None, tx_active=1, led=None, metrology=None, late=1):
        """`clock`: time.ticks_ms or a test's clock; `sleep_ms`: time.sleep_ms or a test's;
        `late`: ms added to the time input is stamped with: 1 for a clock that truncates
        (ticks_ms: the bytes came in somewhere inside this tick, so stamp them with its end,
        or a minimum gap such as tr could be short by up to 1 ms), 0 for an exact one."""
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
        self.late = late
        self._rx = bytearray(RX_CHUNK)
        if tx_enable is not None:
            tx_enable.value(1 - tx_active)  # listen

    def tx_ms(self, n):
        """Time n characters take on the line, rounded up."""
        return (n * BITS_PER_CHAR * 1000 + self.baud - 1) // self.baud

    def receive(self):
        """Take everything the UART holds and give it to the core (no allocation: the
        core takes the buffer and a count, not a slice)."""
        while self.uart.any():
            n = self.uart.readinto(self._rx) or 0
            if n <= 0:
                return
            now = ticks_add(self.clock(), self.late)
            if self.echo is not None:
                n = self.echo.filter(self._rx, n, now)
            if n:
                self.server.receive(self._rx, now, n)

    def transmit(self, out):
        if self.led is not None:
            self.led.value(1)
        if self.tx_enable is not None:
            self.tx_enable.value(self.tx_active)
        self.uart.write(out)
        if self.tx_enable is not None or self.half_duplex:
            # release the line only after the stop bit of the last character
            if hasattr(self.uart, "flush"):
                self.uart.flush()
            else:
                self.sleep_ms(self.tx_ms(len(out)))
        if self.echo is not None:
            self.echo.sent(out, ticks_add(self.clock(), self.tx_ms(len(out))))
        if self.tx_enable is not None:
            self.tx_enable.value(1 - self.tx_active)
        if self.led is not None:
            self.led.value(0)

    def service(self):
        """One pass: due output, then input, then metrology. Returns ms until the next
        pass is needed (-1: only input can bring work). (Work that is due when input
        comes, a token held back behind its ACK, the core runs first by itself.)"""
        out = self.server.poll(self.clock())
        if out:
            self.transmit(out)
        self.receive()
        wait = self.server.next_event(self.clock())
        if self.metrology is not None:
            due = self.metrology.feed(self.clock())  # -1: only input
            if due >= 0:
                wait = due if wait < 0 else min(wait, due)
        return wait

    def run(self):
        """The loop: a pass, then sleep until input or the next deadline. A port with its
        own `wait(ms)` sleeps by itself; it returns False when the line is over (a
        simulated line with nothing more to come), and so does `run`."""
        wait = getattr(self.uart, "wait", None)
        if wait is None:
            import select

            poller = select.poll()
            poller.register(self.uart, select.POLLIN)
            wait = poller.poll
        while wait(self.service()) is not False:
            pass
