"""The kit's line: every character it sends and receives, with time as the line sees it.

Time stamps are taken so that the host's own delays can only widen a figure's uncertainty,
never shorten an interval:
- a request's last character cannot end before the clock read *before* the write plus its
  characters' time on the line (10 bits each at the baud rate on a UART; none on a TCP
  socket or a pty, which carry bytes at once); it ended at the latest when the write (and
  flush) returned;
- an answer's first character cannot have arrived after the host saw it, nor before the
  last moment the kit found the port empty. On a TCP socket the kernel stamps its arrival
  (SO_TIMESTAMPNS), so the host's scheduling adds nothing; elsewhere the kit polls the port
  (densely near each limit: tr min, tr max, the recovery wait), and a host that is late to
  poll only widens that answer's [lo, hi].
So every interval is known as [lo, hi]: hi is the figure reported, hi - lo its uncertainty.

The line takes any pyserial-like port (write, flush, read with `timeout`) and a clock
(`now()`, `sleep(s)` in seconds), so it can run on a virtual-time simulator: a port with
`read_stamped(wait_s)` -> (bytes, arrival time or None) gives exact arrival times.

Every answer is kept and classified: the answer to a request, a late one (after the kit
stopped waiting), a duplicate of the last answer, or one nobody asked for.
"""

from __future__ import annotations

import select
import socket
import struct
import time
from typing import Any, Callable, Optional, Sequence, cast

from .. import tracefile
from . import profile

_SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux
_SO_TIMESTAMPING = getattr(socket, "SO_TIMESTAMPING", 37)
# SOF_TIMESTAMPING_TX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE | SOF_TIMESTAMPING_OPT_TSONLY
_TX_STAMPS = (1 << 1) | (1 << 4) | (1 << 11)


class RealClock:
    def now(self) -> float:
        return time.monotonic()

    def sleep(self, s: float) -> None:
        if s > 0:
            time.sleep(s)


class StampedSocket:
    """A pyserial-like port for socket://host:port whose reads carry the kernel's arrival
    time of each byte (on the monotonic clock), so a loaded host cannot make an answer look
    earlier or later than it came."""

    def __init__(self, host: str, port: int, connect_s: float = 3.0) -> None:
        self._s = socket.create_connection((host, port), timeout=connect_s)
        self._s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            self._s.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
            self.stamped = True
        except OSError:
            self.stamped = False
        self.stamps = "kernel (SO_TIMESTAMPNS)" if self.stamped else None  # the report's word for them
        try:  # the kernel's time stamp of each write leaving for the meter
            self._s.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPING, _TX_STAMPS)
            self._tx = True
        except OSError:
            self._tx = False
        self.last_sent_at: Optional[float] = None  # the kernel's time the last write left (monotonic), or None
        self._s.setblocking(False)
        self.is_open = True
        self.timeout = 0
        self.name = "socket://%s:%d" % (host, port)

    def write(self, data: bytes) -> int:
        self.last_sent_at = None
        self._s.setblocking(True)
        try:
            self._s.sendall(data)
        finally:
            self._s.setblocking(False)
        if self._tx:
            deadline = time.monotonic() + 0.05
            while self.last_sent_at is None and time.monotonic() < deadline:
                if not self._tx_stamp():
                    time.sleep(0.0001)
        return len(data)

    def _tx_stamp(self) -> bool:
        """Take the error queue's transmit time stamps; True if one was there."""
        found = False
        while True:
            try:
                _, anc, _, _ = self._s.recvmsg(0, 512, socket.MSG_ERRQUEUE | socket.MSG_DONTWAIT)
            except (BlockingIOError, InterruptedError):
                return found
            except OSError:
                return found
            for level, kind, raw in anc:
                if level == socket.SOL_SOCKET and kind == _SO_TIMESTAMPING and len(raw) >= 16:
                    sec, ns = struct.unpack("qq", raw[:16])
                    if sec or ns:
                        self.last_sent_at = (sec * 10**9 + ns - (time.time_ns() - time.monotonic_ns())) / 1e9
                        found = True

    def flush(self) -> None:
        pass

    def read_stamped(self, wait_s: float) -> tuple[bytes, Optional[float]]:
        """One byte as it arrived: (b"x", arrival) or (b"", None) after `wait_s`."""
        deadline = time.monotonic() + max(wait_s, 0)
        while True:
            left = deadline - time.monotonic()
            if left > 0:
                ready, _, _ = select.select([self._s], [], [], left)
                if not ready:
                    return b"", None
            try:
                data, anc, _, _ = self._s.recvmsg(1, socket.CMSG_SPACE(16))
                break
            except BlockingIOError:  # woken by a transmit stamp, not data
                if self._tx:
                    self._tx_stamp()
                if left <= 0:
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

    def read(self, n: int = 1) -> bytes:
        data, _ = self.read_stamped(self.timeout or 0)
        return data

    def reset_input_buffer(self) -> None:
        pass

    def close(self) -> None:
        self.is_open = False
        self._s.close()


class LineError(Exception):
    """The port failed (closed, unplugged): the run cannot go on."""


class Request:
    """What the kit sent, and when its last character ended: between end_lo and end_hi."""

    def __init__(self, what: str, chars: list[int], t_before: float, t_after: float, char_s: float, wants: str) -> None:
        self.what = what
        self.chars = chars
        self.end_lo = t_before + len(chars) * char_s
        self.end_hi = max(t_after, self.end_lo)
        # what the profile wants: "answer" (judged by tr), "silence", "nak" (judged by the recovery
        # wait), "case" (the case judges its answer itself)
        self.wants = wants
        self.answers: list[Answer] = []


class Answer:
    """Characters that came from the meter as one message, and when the first arrived."""

    def __init__(
        self, chars: list[int], lo: float, seen: float, exact: bool, request: Optional[Request], kind: str
    ) -> None:
        self.chars = chars
        self.lo = lo  # the first character had not arrived before this
        self.seen = seen  # ... and had arrived by this
        self.exact = exact  # the kernel stamped its arrival
        self.request = request  # the request it followed (None before the first)
        self.kind = kind  # "answer", "late", "duplicate", "unrequested"

    def interval(self, char_s: float) -> tuple[float, float]:
        """(lo, hi) seconds from the request's last character to this answer's first
        (which began one character time before it was whole)."""
        request = cast(Request, self.request)  # asked only of an answer to a request
        return self.lo - char_s - request.end_hi, self.seen - char_s - request.end_lo


def message_complete(chars: list[int]) -> bool:
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
    POLL_S = 0.0001  # polling step near a limit (ports without kernel arrival stamps)
    COARSE_S = 0.01  # polling step elsewhere
    DENSE_S = 0.03  # "near a limit": this close to one
    TIGHT_BEFORE_S = 0.0005  # "at a limit": from this long before it ...
    TIGHT_AFTER_S = 0.003  # ... to this long after it, the port is watched without a pause
    LIMITS_MS = (profile.TR_MIN, profile.TR_MAX, profile.RECOVERY_WAIT, profile.RECOVERY_WAIT + profile.TR_MAX)

    def __init__(
        self,
        port: Any,
        clock: Any = None,
        soft: bool = True,
        char_s: float = 0.0,
        log: Optional[Callable[[str], None]] = None,
    ) -> None:
        self.port = port
        self.clock = clock or RealClock()
        self.soft = soft
        self.char_s = char_s
        self.log: Callable[[str], None] = log or (lambda text: None)
        self.t0 = self.clock.now()
        self.requests: list[Request] = []
        self.answers: list[Answer] = []  # every Answer, in order
        self.events: list[tuple[str, int, list[int]]] = []  # trace events (kind, ms, chars)
        self.wake: list[float] = []  # host wake-up latencies measured, seconds
        self._stamped = hasattr(port, "read_stamped")
        self._last: Optional[Request] = None  # the last Request

    # --- time ---------------------------------------------------------------------------

    def ms(self, t: float) -> int:
        return int(round((t - self.t0) * 1000))

    def calibrate(self, n: int = 20, step_s: float = 0.002) -> None:
        """Measure the host's wake-up latency (how late a short sleep returns), for the
        report: it says how loaded the host was; the verdicts use each answer's own bounds."""
        for _ in range(n):
            t = self.clock.now()
            self.clock.sleep(step_s)
            self.wake.append(max(0.0, self.clock.now() - t - step_s))

    def wake_s(self) -> float:
        """The host's wake-up allowance: the largest latency measured this run."""
        return max(self.wake) if self.wake else 0.0

    # --- sending ------------------------------------------------------------------------

    def send(self, chars: Sequence[int], what: str, wants: str = "answer") -> Request:
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
        sent = getattr(self.port, "last_sent_at", None)
        if sent is not None and self.char_s == 0 and t_before <= sent <= t_after:
            t_before = t_after = sent  # the kernel's own time the request left
        req = Request(what, chars, t_before, t_after, self.char_s, wants)
        self.requests.append(req)
        self._last = req
        self.events.append((">", self.ms(t_before), chars))
        self.log("%8d > %s  (%s)" % (self.ms(t_before), tracefile.escape(chars), what))
        return req

    def write_parts(
        self, parts: Sequence[tuple[float, Sequence[int]]], what: str
    ) -> tuple[Request, list[tuple[float, float]]]:
        """Send characters in parts with a pause before each (for ta): the Request of the
        whole, whose end is the last part's. `parts`: [(pause_s, chars)]. Returns the
        Request and the gaps as [(lo, hi)] seconds between one part's end and the next's start."""
        gaps: list[tuple[float, float]] = []
        prev_end: Optional[tuple[float, float]] = None
        req: Optional[Request] = None
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
        req = cast(Request, req)  # there is at least one part
        self.requests.append(req)
        self._last = req
        return req, gaps

    # --- receiving ----------------------------------------------------------------------

    def _read(
        self, wait_s: float, limits: Sequence[float] = ()
    ) -> tuple[bytes, Optional[float], Optional[float], bool]:
        """One byte and its arrival as (data, lo, hi, exact); (b"", None, None, False) after
        wait_s. The arrival lies in [lo, hi]: hi is when the host saw it (or the kernel's
        stamp, exact), lo the last moment the port was known to be empty. Near a time in
        `limits` (clock times) the port is polled densely, so [lo, hi] is narrow where a
        verdict depends on it."""
        now = self.clock.now()
        deadline = now + max(wait_s, 0)
        if self._stamped:
            data, at = self.port.read_stamped(max(wait_s, 0))
            if not data:
                return b"", None, None, False
            if at is None:
                at = self.clock.now()
                return data, now, at, False
            return data, at, at, True
        empty_at = now
        while True:
            t_check = self.clock.now()
            try:
                waiting = self.port.in_waiting
            except Exception as e:  # serial.SerialException, OSError
                raise LineError("the line failed while receiving: %s" % e)
            if waiting:
                data = self.port.read(1)
                if data:
                    return data, empty_at, self.clock.now(), False
            empty_at = t_check
            if t_check >= deadline:
                return b"", None, None, False
            if any(-self.TIGHT_BEFORE_S <= t_check - t <= self.TIGHT_AFTER_S for t in limits):
                step = 0.0  # at a limit: look without pausing
            elif any(abs(t_check - t) <= self.DENSE_S for t in limits):
                ahead = [t - self.TIGHT_BEFORE_S - t_check for t in limits if t - self.TIGHT_BEFORE_S > t_check]
                step = min([self.POLL_S] + ahead)
            else:
                ahead = [t - self.DENSE_S - t_check for t in limits if t - self.DENSE_S > t_check]
                step = min([self.COARSE_S] + ahead)
            self.clock.sleep(max(0.0, min(step, deadline - t_check)))

    def _message(self, first_s: float, limits: Sequence[float] = ()) -> Optional[tuple[list[int], float, float, bool]]:
        """One message as it comes: (chars, lo, hi, exact) or None if nothing within first_s."""
        data, lo, hi, exact = self._read(first_s, limits)
        if not data:
            return None
        lo, hi = cast(float, lo), cast(float, hi)  # a character came: its arrival is known
        chars = tracefile.from_line(data, self.soft)
        while not message_complete(chars):
            more = self._read(self.GAP_S)[0]
            if not more:
                break
            chars.extend(tracefile.from_line(more, self.soft))
        self.events.append(("<", self.ms(hi), chars))
        self.log("%8d < %s" % (self.ms(hi), tracefile.escape(chars)))
        return chars, lo, hi, exact

    def receive(self, wait_s: float) -> Optional[Answer]:
        """The answer to the last request, or None if nothing came within `wait_s` of its end."""
        req = cast(Request, self._last)  # an answer follows a request
        left = req.end_hi + wait_s - self.clock.now()
        limits = [req.end_lo + ms / 1000 for ms in self.LIMITS_MS] + [req.end_hi + ms / 1000 for ms in self.LIMITS_MS]
        got = self._message(left, limits)
        if got is None:
            return None
        kind = "answer" if not req.answers else self._classify(got[0])
        answer = Answer(got[0], got[1], got[2], got[3], req, kind)
        req.answers.append(answer)
        self.answers.append(answer)
        return answer

    def _classify(self, chars: list[int]) -> str:
        req = self._last
        if req is None:
            return "unrequested"
        if req.answers:
            return "duplicate" if req.answers[-1].chars == chars else "unrequested"
        if req.wants == "silence":
            return "unrequested"
        return "late"

    def collect(self, wait_s: float) -> None:
        """Take whatever comes within `wait_s` (0: what is here already): each message is
        classified against the last request (late, duplicate or unrequested)."""
        deadline = self.clock.now() + wait_s
        while True:
            got = self._message(max(0.0, deadline - self.clock.now()))
            if got is None:
                return
            req = self._last
            answer = Answer(got[0], got[1], got[2], got[3], req, self._classify(got[0]))
            if req is not None:
                req.answers.append(answer)
            self.answers.append(answer)
            self.log("         (%s answer)" % answer.kind)

    def close(self) -> None:
        try:
            self.collect(0)
        except LineError:
            pass
        try:
            self.port.close()
        except Exception:
            pass
