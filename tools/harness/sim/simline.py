"""The line simulator: the core driven by its one loop (`server.Loop`) on a simulated clock
(host side, CPython or MicroPython).

The core is sans-IO, so hours of line time run in seconds: the clock jumps to the core's
`next_event` or to the next byte's arrival, never waits. `SimClock` is the clock,
`SimPort` the serial line (what the HHU sends arrives at set times; what the meter writes
is heard with the time it went out), `SimLine` the HHU's side of it: `exchange` hands the
core a message at the current simulated time and runs the loop until it answers or falls
silent. Used by the logic tests, the trace replay (replay_core.py), long measurements
(brute force against the token lockout), the seeded core fuzz run, and as the port the HHU
client (tools/vtc07/hhu.py) talks through in tests (`SimSerial`).
"""

try:
    from vtc07 import tracefile
except ImportError:  # MicroPython: firmwarepath put tools/vtc07 on the path
    import tracefile
from server import Loop
from ticks import ticks_add

SILENCE_MS = 5000  # longer than any wait the core may ask for before it answers


class SimClock:
    """`now`: ms on the simulated line; called, it gives them as ticks_ms would, from
    `origin` on (wrapping as ticks do). Only `SimPort.wait` moves it."""

    def __init__(self, now=0, origin=0):
        self.now = now
        self.origin = origin

    def __call__(self):
        return ticks_add(self.origin, self.now)


class SimPort:
    """A serial line on a SimClock, with a UART's methods for Link and a `wait` that moves
    the clock: to the deadline the loop gives, or to the next byte's arrival, whichever is
    sooner, never past `until`. `wait` returns False (the run ends) at `until`, when nothing
    more can happen, and after a write when `stop_on_write` is set."""

    def __init__(self, clock, heard=None):
        self.clock = clock
        self.incoming = []  # (time, bytes) in time order: not yet arrived
        self._data = b""  # arrived, read from _at on
        self._at = 0
        self.heard = heard  # a list to keep every (time, bytes) written in, or None
        self.last = None  # the latest (time, bytes) written
        self.until = None
        self.stop_on_write = False
        self._wrote = False

    def send_at(self, t, data):
        self.incoming.append((t, data))

    def any(self):
        if self._at >= len(self._data) and self.incoming and self.incoming[0][0] <= self.clock.now:
            self._data = self.incoming.pop(0)[1]  # what arrived together is read together
            self._at = 0
        return len(self._data) - self._at

    def readinto(self, buf):
        n = min(len(buf), len(self._data) - self._at)
        for i in range(n):  # no slices: the fuzz run keeps its heap flat
            buf[i] = self._data[self._at + i]
        self._at += n
        return n

    def write(self, data, n=-1):
        """The first `n` bytes of `data` (all: -1), as a stream's write(buf, n)."""
        if n < 0:
            n = len(data)
        self.last = (self.clock.now, bytes(data[:n]))
        if self.heard is not None:
            self.heard.append(self.last)
        self._wrote = True
        return n

    def wait(self, ms):
        if self._wrote and self.stop_on_write:
            self._wrote = False
            return False
        self._wrote = False
        now = self.clock.now
        target = None if ms < 0 else now + ms
        if self.incoming and (target is None or self.incoming[0][0] < target):
            target = self.incoming[0][0]
        if target is None:
            return False  # nothing more will happen
        if self.until is not None and target > self.until:
            self.clock.now = max(now, self.until)
            return False
        self.clock.now = max(now, target)
        return True


class SimLine:
    def __init__(self, server, now=0, heard=None, origin=0):
        self.server = server
        self.clock = SimClock(now, origin)
        self.port = SimPort(self.clock, heard)
        self._buf = bytearray(32)

    @property
    def now(self):
        return self.clock.now

    def run_to(self, t):
        """Let the core's timers run until `t` (what it says meanwhile is not heard)."""
        port = self.port
        port.until, port.stop_on_write = t, False
        Loop(self.server, port, self.clock, self._buf, 0).run()  # offset 0: the clock is exact
        self.clock.now = max(self.clock.now, t)

    def exchange(self, data, gap_ms=0):
        """Send `data` (line bytes) `gap_ms` after the last event; returns the answer's
        line bytes, or None if the core stays silent."""
        self.run_to(self.clock.now + gap_ms)
        port = self.port
        port.send_at(self.clock.now, data)
        port.last = None
        port.until, port.stop_on_write = self.clock.now + SILENCE_MS, True
        Loop(self.server, port, self.clock, self._buf, 0).run()
        last, port.last, port._data, port._at = port.last, None, b"", 0  # nothing kept alive
        return None if last is None else last[1]

    def command(self, body, gap_ms=0):
        """A client command (SOH body ETX BCC) with parity; the answer as 7-bit chars."""
        out = self.exchange(tracefile.to_line(list(tracefile.command(body))), gap_ms)
        return None if out is None else tracefile.from_line(out)

    def sign_on(self, gap_ms=0):
        out = self.exchange(tracefile.to_line(list(b"/?!\r\n")), gap_ms)
        return None if out is None else tracefile.from_line(out)


def _ms_up(seconds):
    """Seconds as whole ms, rounded up (a wait of a fraction of a ms still moves the clock;
    0.2 s is 200 ms, not 201, despite 0.2 * 1000 being a hair over 200 in floating point)."""
    if seconds <= 0:
        return 0
    return max(1, int(-(-(seconds * 1000 - 1e-6) // 1)))


class SimSerial:
    """A pyserial-like port on a SimLine, for the HHU client (tools/vtc07/hhu.py) and the
    conformance kit (tools/vtc07/conform) on virtual time: `read` with the port's `timeout`
    runs the simulated meter until it answers or the timeout has passed on its clock, never
    on the host's. It is their clock too (`monotonic`, `sleep` for the Hhu; `clock` with
    `now`, `sleep` for the kit), and `read_stamped` gives each byte with its exact time of
    arrival, as the kit's kernel-stamped TCP socket does. `attach(server)` gives a `sim://`
    URL pyserial opens as this port, so the `vtc07` command runs against it unchanged.
    Bytes go out and come in whole: no character times (a logic test's line, not a
    2400 Bd one)."""

    def __init__(self, server, now=0, to_meter=None, to_hhu=None):
        """`to_meter`, `to_hhu`: what becomes of each chunk going that way (a request as
        the HHU wrote it, an answer as the meter wrote it): noisyline.py's damage functions
        (the same bytes, changed ones, or b"" for a lost chunk), or for answers a plan as
        zoo.py's relays give it, [(delay_s, bytes)]: what reaches the HHU, and how long
        after the meter sent it."""
        self.line = SimLine(server, now, heard=[])
        self.to_meter = to_meter
        self.to_hhu = to_hhu
        self.timeout = None
        self.rx = []  # [arrival ms, bytearray] in arrival order; the first may be partly read
        self.port = None  # pyserial sets the URL here
        self.is_open = True
        self.clock = self  # the kit's clock: now(), sleep(s)
        self.stamps = "simulated line (exact)"  # what the kit's report says its arrival times are

    def open(self):
        pass

    def close(self):
        pass

    def flush(self):
        pass

    def reset_input_buffer(self):
        pass

    def monotonic(self):
        return self.line.now / 1000

    now = monotonic

    def sleep(self, seconds):
        self._run(self.line.now + _ms_up(seconds), False)

    def write(self, data):
        data = bytes(data)
        self.line.port.send_at(self.line.now, self.to_meter(data) if self.to_meter else data)
        self._run(self.line.now, False)  # taken in now: the meter's clock is at this instant
        return len(data)

    @property
    def in_waiting(self):
        return sum(len(chunk) for t, chunk in self.rx if t <= self.line.now)

    def read(self, size=1):
        if size > 0 and not self.in_waiting:
            self._arrive(self.line.now + (3600000 if self.timeout is None else _ms_up(self.timeout)))
        out = bytearray()
        while self.rx and len(out) < size and self.rx[0][0] <= self.line.now:
            chunk = self.rx[0][1]
            take = min(size - len(out), len(chunk))
            out += chunk[:take]
            del chunk[:take]
            if not chunk:
                self.rx.pop(0)
        return bytes(out)

    def read_stamped(self, wait_s):
        """One byte as it arrived: (b"x", arrival s) or (b"", None) after `wait_s`."""
        if not self._arrive(self.line.now + _ms_up(max(wait_s, 0))):
            return b"", None
        at, chunk = self.rx[0]
        data = bytes(chunk[:1])
        del chunk[:1]
        if not chunk:
            self.rx.pop(0)
        return data, at / 1000

    def _arrive(self, deadline):
        """Run the meter until a byte has arrived (True) or the clock is at `deadline`."""
        line = self.line
        while True:
            if self.rx and self.rx[0][0] <= line.now:
                return True
            target = deadline if not self.rx else min(deadline, self.rx[0][0])
            if line.now >= target:
                return False
            self._run(target, True)

    def _run(self, until, stop_on_write):
        """Run the meter to `until`, or to its first write with `stop_on_write`; what it
        wrote is queued to arrive (changed and delayed by `to_hhu`)."""
        line = self.line
        port = line.port
        port.until, port.stop_on_write = until, stop_on_write
        Loop(line.server, port, line.clock, line._buf, 0).run()
        for t, data in port.heard:
            plan = self.to_hhu(data) if self.to_hhu else data
            for delay, out in [(0, plan)] if isinstance(plan, (bytes, bytearray)) else plan:
                if out:
                    self.rx.append([t + _ms_up(delay), bytearray(out)])
        self.rx.sort(key=lambda entry: entry[0])  # stable: what came together stays in order
        wrote = bool(port.heard)
        del port.heard[:]
        if not (stop_on_write and wrote):
            line.clock.now = max(line.clock.now, until)  # nothing came: the time passed


def build_meter(flags=(), store=None, now=0):
    """The meter the unix board builds from its meter flags ("--algorithm", "des",
    "--app", "stub", ...; "--test-tr" too), in this process with its records in RAM, for
    a SimSerial (CPython)."""
    import meter
    from storage import MemoryStore

    options = {}
    for i in range(0, len(flags), 2):
        options[flags[i][2:].replace("-", "_")] = flags[i + 1]
    tr = options.pop("test_tr", None)
    server = meter.build(options, MemoryStore() if store is None else store, now)
    if tr is not None:
        server.tr = int(tr)
    return server


PORTS = {}  # sim:// URL -> SimSerial


def attach(server, name=None, to_meter=None, to_hhu=None):
    """A `sim://NAME` URL for `server` that serial.serial_for_url (the HHU) opens."""
    import serial

    if "simserial" not in serial.protocol_handler_packages:
        serial.protocol_handler_packages.append("simserial")
    url = "sim://%s" % (name or len(PORTS))
    PORTS[url] = SimSerial(server, to_meter=to_meter, to_hhu=to_hhu)
    return url


def serial_class_for_url(url):
    """pyserial's URL handler hook (simserial/protocol_sim.py)."""
    return url, lambda *args, **kwargs: PORTS[url]
