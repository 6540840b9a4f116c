"""Replay a trace against a meter on a real line (serial port, pty, or the simulated meter).

The client lines are sent at their times; what the meter sends back is timed as it
arrives and compared with the trace's server lines: the bytes exactly, the time of each
response's first byte within a tolerance (a real line and a host add latency). The first
difference is shown as the two messages, named, in hex and ASCII side by side.

Settings in the trace (`@ key value`) are not sent anywhere: start the meter with the
matching flags (`board_flags`). Replay-only settings (`start`, `lockout`) cannot be set
on a running meter, so such traces are for `replay_core.py`.
"""

from __future__ import annotations

from typing import Any, Optional

from tables import ACK, NAK, SOH, STX

from . import tracefile

REPLAY_ONLY = ("start", "lockout")


def board_flags(trace: tracefile.Trace) -> list[str]:
    """The unix board's flags for a trace's settings."""
    flags = []
    for key, value in trace.settings.items():
        if key in REPLAY_ONLY:
            raise ValueError("setting %r cannot be given to a running meter" % key)
        flags += ["--" + key.replace("_", "-"), value]
    return flags


def message_name(chars: list[int]) -> str:
    if not chars:
        return "nothing"
    first = chars[0] & 0x7F
    if first == ACK and len(chars) == 1:
        return "ACK"
    if first == NAK and len(chars) == 1:
        return "NAK"
    if first == ord("/"):
        return "IDRequest" if chars[1:2] == [ord("?")] else "IDResponse"
    if first == SOH and len(chars) > 1:
        return {ord("R"): "ReadCommand", ord("W"): "WriteCommand", ord("B"): "BreakCommand"}.get(
            chars[1] & 0x7F, "command"
        )
    if first == STX:
        return "Error data message" if b"(ERR" in bytes(c & 0x7F for c in chars) else "Data message"
    return "characters"


def side_by_side(label: str, chars: list[int], width: int = 16) -> str:
    """One message as `label name hex... ascii`; `width`: bytes the hex column holds."""
    hexes = " ".join("%02X" % (c & 0xFF) for c in chars)
    text = "".join(chr(c) if 0x20 <= c <= 0x7E else "." for c in chars)
    return "  %-9s %-19s %-*s %s" % (label, message_name(chars), 3 * width - 1, hexes, text)


def replay(meter: Any, trace: tracefile.Trace, tolerance_ms: float = 50) -> list[str]:
    """Run `trace` against the meter behind `meter` (an hhu.Hhu). Returns the first
    difference as lines of text; an empty list means the meter did what the trace says.

    Times are kept relative, as on a real line: a client line goes out as long after the
    server line before it arrived as it did in the trace (never before that server line
    is in), and a server line is due as long after the client line before it was sent."""
    port = meter.port
    clock = meter.clock  # the host's, or a simulated line's (virtual time)
    t0 = clock.monotonic()
    received: list[tuple[float, int]] = []  # (ms, char)

    def now() -> float:
        return (clock.monotonic() - t0) * 1000

    def listen(until_ms: float, want: Optional[int] = None) -> None:
        """Take what arrives until `until_ms`, or until `want` characters are in."""
        while want is None or len(received) < want:
            left = until_ms - now()
            if left <= 0:
                return
            port.timeout = left / 1000
            data = port.read(1)  # returns as soon as a byte is there, so `at` is its arrival
            if data:
                data += port.read(port.in_waiting)
                at = now()
                for c in tracefile.from_line(data, meter.soft):
                    received.append((at, c))

    # (trace ms, chars, request it answers, when it is due here)
    expected: list[tuple[int, list[int], list[int], float]] = []
    want = 0  # server characters the trace has so far
    anchor: tuple[int, float] = (0, 0.0)  # (trace ms, local ms) of the last line that happened here
    request: list[int] = []
    for kind, ms, chars in trace.events:
        if kind == ">":
            if expected:  # the trace's last answer must be in first
                due = expected[-1][3]
                listen(due + tolerance_ms, want)
                if len(received) >= want:
                    anchor = (expected[-1][0], received[want - 1][0] - 0.0)
            listen(anchor[1] + ms - anchor[0])
            port.write(tracefile.to_line(chars, meter.soft))
            anchor = (ms, now())
            request = chars
        elif kind == "<":
            expected.append((ms, chars, request, anchor[1] + ms - anchor[0]))
            want += len(chars)
        else:
            listen(anchor[1] + ms - anchor[0])
    listen((expected[-1][3] if expected else now()) + tolerance_ms + 200)
    return _compare(expected, received, tolerance_ms)


def _compare(
    expected: list[tuple[int, list[int], list[int], float]], received: list[tuple[float, int]], tolerance_ms: float
) -> list[str]:
    i = 0
    for ms, chars, request, due in expected:
        got = received[i : i + len(chars)]
        got_chars = [c for _, c in got]
        where = "at %d ms, answering %s %s" % (ms, message_name(request), tracefile.escape(request))
        if got_chars != chars:
            width = max(len(chars), len(got_chars))
            return [
                "first difference %s:" % where,
                side_by_side("expected", chars, width),
                side_by_side("got", got_chars, width),
            ]
        late = got[0][0] - due
        if abs(late) > tolerance_ms:
            return [
                "first difference %s: the right bytes, %+d ms off (tolerance %d ms)" % (where, late, tolerance_ms),
                side_by_side("expected", chars),
            ]
        i += len(chars)
    if i < len(received):
        extra = [c for _, c in received[i:]]
        return ["the meter sent more than the trace has:", side_by_side("got", extra)]
    return []


def replay_file(meter: Any, path: str, tolerance_ms: float = 50) -> list[str]:
    return replay(meter, tracefile.load(path), tolerance_ms)
