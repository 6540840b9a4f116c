"""The kit's line: every character it sends and receives, with time as the line sees it.

Time stamps are taken so that the host's own delays can only widen a figure's uncertainty,
never shorten an interval:
- a request's last character cannot end before the clock read *before* the write plus its
  characters' time on the line (10 bits each at the baud rate on a UART; none on a TCP
  socket or a pty, which carry bytes at once); it ended at the latest when the write (and
  flush) returned;
- an answer's first character cannot have arrived after the host saw it. On a TCP socket
  the kernel stamps its arrival (SO_TIMESTAMPNS), so the host's scheduling adds nothing;
  elsewhere it arrived at most the host's wake-up latency before it was seen, which the
  kit measures during the run (sleep overshoots, and reads that time out late).
So every interval is known as [lo, hi]: hi is the figure reported, hi - lo its uncertainty.

The line takes any pyserial-like port (write, flush, read with `timeout`) and a clock
(`now()`, `sleep(s)` in seconds), so it can run on a virtual-time simulator: a port with
`read_stamped(wait_s)` -> (bytes, arrival time or None) gives exact arrival times.

Every answer is kept and classified: the answer to a request, a late one (after the kit
stopped waiting), a duplicate of the last answer, or one nobody asked for.
"""
import select
import socket
import struct
import time

from . import profile
from .. import tracefile

_SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux


class RealClock:
    def now(self):
        return time.monotonic()

    def sleep(self, s):
        if s > 0:
            time.sleep(s)


class StampedSocket:
    """A pyserial-like port for socket://host:port whose reads carry the kernel's arrival
    time of each byte (on the monotonic clock), so a loaded host cannot make an answer look
    earlier or later than it came."""

    def __init__(self, host, port, connect_s=3.0):
        self._s = socket.create_connection((host, port), timeout=connect_s)
        self._s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            self._s.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
            self.stamped = True
        except OSError:
            self.stamped = False
        self._s.setblocking(False)
        self.is_open = True
        self.timeout = 0
        self.name = "socket://%s:%d" % (host, port)

    def write(self, data):
        self._s.setblocking(True)
        try:
            self._s.sendall(data)
        finally:
            self._s.setblocking(False)
        return len(data)

    def flush(self):
        pass

    def read_stamped(self, wait_s):
        """One byte as it arrived: (b"x", arrival) or (b"", None) after `wait_s`."""
        if wait_s > 0:
            ready, _, _ = select.select([self._s], [], [], wait_s)
            if not ready:
                return b"", None
        try:
            data, anc, _, _ = self._s.recvmsg(1, socket.CMSG_SPACE(16))
        except BlockingIOError:
            return b"", None
        except OSError as e:
            raise LineError("the line failed while receiving: %s" % e)
        if not data:
            raise LineError("the meter closed the connection")
        for level, kind, raw in anc:
            if level == socket.SOL_SOCKET and kind == _SO_TIMESTAMPNS and len(raw) >= 16:
                sec, ns = struct.unpack("qq", raw[:16])
                offset = time.time_ns() - time.monotonic_ns()
                return data, (sec * 10**9 + ns - offset) / 1e9
        return data, None

    def read(self, n=1):
        data, _ = self.read_stamped(self.timeout or 0)
        return data

    def reset_input_buffer(self):
        pass

    def close(self):
        self.is_open = False
        self._s.close()


class LineError(Exception):
    """The port failed (closed, unplugged): the run cannot go on."""


class Request:
    """What the kit sent, and when its last character ended: between end_lo and end_hi."""

    def __init__(self, what, chars, t_before, t_after, char_s, wants):
        self.what = what
        self.chars = chars
        self.end_lo = t_before + len(chars) * char_s
        self.end_hi = max(t_after, self.end_lo)
        self.wants = wants  # "answer", "silence" or "nak" (what the profile wants)
        self.answers = []


class Answer:
    """Characters that came from the meter as one message, and when the first arrived."""

    def __init__(self, chars, seen, exact, request, kind):
        self.chars = chars
        self.seen = seen  # arrival of the first character (upper bound)
        self.exact = exact  # the arrival time is the kernel's, not the host's wake-up
        self.request = request  # the request it followed (None before the first)
        self.kind = kind  # "answer", "late", "duplicate", "unrequested"
        self.latency = 0.0  # host wake-up allowance, set when judged

    def interval(self, wake_s, char_s):
        """(lo, hi) seconds from the request's last character to this answer's first."""
        start_hi = self.seen - char_s  # the first character began one character before it was whole
        start_lo = start_hi - (0.0 if self.exact else wake_s)
        return start_lo - self.request.end_hi, start_hi - self.request.end_lo


def message_complete(chars):
    """An ACK, a NAK, an IDResponse at its LF, or a message whole at its BCC."""
    if not chars:
        return False
    if chars[0] in (profile.ACK, profile.NAK):
        return True
    if chars[0] == ord("/"):
        return chars[-1] == profile.LF
    return len(chars) >= 2 and chars[-2] == profile.ETX


class Line:
    """The kit's end of the line: sends requests, receives and classifies every answer,
    records the traffic (trace events, log lines)."""

    GAP_S = profile.TA / 1000  # a pause this long ends an answer the kit is reading

    def __init__(self, port, clock=None, soft=True, char_s=0.0, log=None):
        self.port = port
        self.clock = clock or RealClock()
        self.soft = soft
        self.char_s = char_s
        self.log = log or (lambda text: None)
        self.t0 = self.clock.now()
        self.requests = []
        self.answers = []  # every Answer, in order
        self.events = []  # trace events (kind, ms, chars)
        self.wake = []  # host wake-up latencies measured, seconds
        self._stamped = hasattr(port, "read_stamped")
        self._last = None  # the last Request

    # --- time ---------------------------------------------------------------------------

    def ms(self, t):
        return int(round((t - self.t0) * 1000))

    def calibrate(self, n=20, step_s=0.002):
        """Measure the host's wake-up latency: how late a short sleep returns."""
        for _ in range(n):
            t = self.clock.now()
            self.clock.sleep(step_s)
            self.wake.append(max(0.0, self.clock.now() - t - step_s))

    def wake_s(self):
        """The host's wake-up allowance: the largest latency measured this run."""
        return max(self.wake) if self.wake else 0.0

    # --- sending ------------------------------------------------------------------------

    def send(self, chars, what, wants="answer"):
        """Send characters (7-bit ints, RAW-flagged ones as they are); the Request."""
        self.collect(0)
        chars = list(chars)
        data = tracefile.to_line(chars, self.soft)
        t_before = self.clock.now()
        try:
            self.port.write(data)
            self.port.flush()
        except (OSError, ValueError) as e:
            raise LineError("the line failed while sending: %s" % e)
        except Exception as e:  # serial.SerialException
            raise LineError("the line failed while sending: %s" % e)
        t_after = self.clock.now()
        req = Request(what, chars, t_before, t_after, self.char_s, wants)
        self.requests.append(req)
        self._last = req
        self.events.append((">", self.ms(t_before), chars))
        self.log("%8d > %s  (%s)" % (self.ms(t_before), tracefile.escape(chars), what))
        return req

    def write_parts(self, parts, what):
        """Send characters in parts with a pause before each (for ta): the Request of the
        whole, whose end is the last part's. `parts`: [(pause_s, chars)]. Returns the
        Request and the gaps as [(lo, hi)] seconds between one part's end and the next's start."""
        gaps = []
        prev_end = None
        req = None
        for pause, chars in parts:
            self.clock.sleep(pause)
            self.collect(0)
            t_before = self.clock.now()
            data = tracefile.to_line(list(chars), self.soft)
            self.port.write(data)
            self.port.flush()
            t_after = self.clock.now()
            if prev_end is not None:
                gaps.append((t_before - prev_end[1], t_after - len(chars) * self.char_s - prev_end[0]))
            prev_end = (t_before + len(chars) * self.char_s, max(t_after, t_before + len(chars) * self.char_s))
            self.events.append((">", self.ms(t_before), list(chars)))
            self.log("%8d > %s  (%s, part)" % (self.ms(t_before), tracefile.escape(list(chars)), what))
            req = Request(what, list(chars), t_before, t_after, self.char_s, "answer")
        self.requests.append(req)
        self._last = req
        return req, gaps

    # --- receiving ----------------------------------------------------------------------

    def _read(self, wait_s):
        """One byte and its arrival (hi, exact): (b"", None, False) after wait_s."""
        if self._stamped:
            data, at = self.port.read_stamped(max(wait_s, 0))
            if not data:
                return b"", None, False
            if at is None:
                return data, self.clock.now(), False
            return data, at, True
        deadline = self.clock.now() + max(wait_s, 0)
        try:
            self.port.timeout = max(wait_s, 0)
            data = self.port.read(1)
        except Exception as e:  # serial.SerialException, OSError
            raise LineError("the line failed while receiving: %s" % e)
        now = self.clock.now()
        if not data:
            if wait_s > 0:
                self.wake.append(max(0.0, now - deadline))
            return b"", None, False
        return data, now, False

    def _message(self, first_s):
        """One message as it comes: (chars, seen, exact) or None if nothing within first_s."""
        data, seen, exact = self._read(first_s)
        if not data:
            return None
        chars = tracefile.from_line(data, self.soft)
        while not message_complete(chars):
            data, _, _ = self._read(self.GAP_S)
            if not data:
                break
            chars.extend(tracefile.from_line(data, self.soft))
        self.events.append(("<", self.ms(seen), chars))
        self.log("%8d < %s" % (self.ms(seen), tracefile.escape(chars)))
        return chars, seen, exact

    def receive(self, wait_s):
        """The answer to the last request, or None if nothing came within `wait_s` of its end."""
        req = self._last
        left = req.end_hi + wait_s - self.clock.now()
        got = self._message(left)
        if got is None:
            return None
        kind = "answer" if not req.answers else self._classify(got[0])
        answer = Answer(got[0], got[1], got[2], req, kind)
        req.answers.append(answer)
        self.answers.append(answer)
        return answer

    def _classify(self, chars):
        req = self._last
        if req is None:
            return "unrequested"
        if req.answers:
            return "duplicate" if req.answers[-1].chars == chars else "unrequested"
        if req.wants == "silence":
            return "unrequested"
        return "late"

    def collect(self, wait_s):
        """Take whatever comes within `wait_s` (0: what is here already): each message is
        classified against the last request (late, duplicate or unrequested)."""
        deadline = self.clock.now() + wait_s
        while True:
            got = self._message(max(0.0, deadline - self.clock.now()))
            if got is None:
                return
            req = self._last
            answer = Answer(got[0], got[1], got[2], req, self._classify(got[0]))
            if req is not None:
                req.answers.append(answer)
            self.answers.append(answer)
            self.log("         (%s answer)" % answer.kind)

    def close(self):
        try:
            self.collect(0)
        except LineError:
            pass
        try:
            self.port.close()
        except Exception:
            pass
