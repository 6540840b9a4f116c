"""An HHU talking to the core on a simulated clock (host side, CPython or MicroPython).

The core is sans-IO, so hours of line time run in seconds: `SimLine.exchange` hands the
core a message at the current simulated time and advances the clock, by the core's own
`next_event`, until it answers or falls silent. Used for long measurements (brute force
against the token lockout) and as the driver of the seeded core fuzz run.
"""
try:
    from vtc07 import tracefile  # noqa: E402
except ImportError:  # MicroPython: firmwarepath put tools/vtc07 on the path
    import tracefile  # noqa: E402

SILENCE_MS = 5000  # longer than any wait the core may ask for before it answers


class SimLine:
    def __init__(self, server, now=0):
        self.server = server
        self.now = now

    def run_to(self, t):
        """Let the core's timers run until `t` (what it says meanwhile is not heard)."""
        while True:
            self.server.poll(self.now)
            w = self.server.next_event(self.now)
            if w < 0 or self.now + max(w, 1) > t:
                break
            self.now += max(w, 1)
        self.now = max(self.now, t)

    def exchange(self, data, gap_ms=0):
        """Send `data` (line bytes) `gap_ms` after the last event; returns the answer's
        line bytes, or None if the core stays silent."""
        self.run_to(self.now + gap_ms)
        self.server.receive(data, self.now)
        waited = 0
        while waited <= SILENCE_MS:
            out = self.server.poll(self.now)
            if out:
                return bytes(out)
            w = self.server.next_event(self.now)
            if w < 0:
                return None
            step = w if w > 0 else 1
            self.now += step
            waited += step
        return None

    def command(self, body, gap_ms=0):
        """A client command (SOH body ETX BCC) with parity; the answer as 7-bit chars."""
        out = self.exchange(tracefile.to_line(list(tracefile.command(body))), gap_ms)
        return None if out is None else tracefile.from_line(out)

    def sign_on(self, gap_ms=0):
        out = self.exchange(tracefile.to_line(list(b"/?!\r\n")), gap_ms)
        return None if out is None else tracefile.from_line(out)
