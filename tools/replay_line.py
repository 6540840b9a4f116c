"""Replay a trace against a meter on a real line (serial port, pty, or the simulated meter).

The client lines are sent at their times; what the meter sends back is timed as it
arrives and compared with the trace's server lines: the bytes exactly, the time of each
response's first byte within a tolerance (a real line and a host add latency). The first
difference is shown as the two messages, named, in hex and ASCII side by side.

Settings in the trace (`@ key value`) are not sent anywhere: start the meter with the
matching flags (`board_flags`). Replay-only settings (`start`, `lockout`) cannot be set
on a running meter, so such traces are for `replay_core.py`.
"""
import time

import tracefile
from hhu import ACK, NAK, SOH, STX

REPLAY_ONLY = ("start", "lockout")


def board_flags(trace):
    """The unix board's flags for a trace's settings."""
    flags = []
    for key, value in trace.settings.items():
        if key in REPLAY_ONLY:
            raise ValueError("setting %r cannot be given to a running meter" % key)
        flags += ["--" + key.replace("_", "-"), value]
    return flags


def message_name(chars):
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
            chars[1] & 0x7F, "command")
    if first == STX:
        return "Error data message" if b"(ERR" in bytes(c & 0x7F for c in chars) else "Data message"
    return "characters"


def side_by_side(label, chars):
    hexes = " ".join("%02X" % (c & 0xFF) if c & tracefile.RAW else "%02X" % c for c in chars)
    text = "".join(chr(c) if 0x20 <= c <= 0x7E else "." for c in chars)
    return "  %-9s %-19s %-48s %s" % (label, message_name(chars), hexes, text)


class _Clock:
    def __init__(self):
        self.t0 = time.monotonic()

    def ms(self):
        return (time.monotonic() - self.t0) * 1000


def replay(meter, trace, tolerance_ms=50):
    """Run `trace` against the meter behind `meter` (an hhu.Hhu). Returns the differences
    as readable texts; an empty list means the meter did what the trace says."""
    port = meter.port
    clock = _Clock()
    received = []  # (ms, char)

    def listen_until(ms):
        while True:
            left = ms - clock.ms()
            if left <= 0:
                return
            port.timeout = min(left, 50) / 1000
            data = port.read(256)
            if data:
                at = clock.ms()
                for c in tracefile.from_line(data, meter.soft):
                    received.append((at, c))

    expected = []  # (line's ms, chars, the request it answers)
    last_request = []
    end = 0
    for kind, ms, chars in trace.events:
        end = max(end, ms)
        if kind == ">":
            listen_until(ms)
            port.write(tracefile.to_line(chars, meter.soft))
            last_request = chars
        elif kind == "<":
            expected.append((ms, chars, last_request))
    listen_until(end + tolerance_ms + 200)
    return _compare(expected, received, tolerance_ms)


def _compare(expected, received, tolerance_ms):
    i = 0
    for ms, chars, request in expected:
        got = received[i:i + len(chars)]
        got_chars = [c for _, c in got]
        where = "at %d ms, answering %s" % (ms, "%s %s" % (message_name(request), tracefile.escape(request)))
        if got_chars != chars:
            return ["first difference %s:" % where, side_by_side("expected", chars),
                    side_by_side("got", got_chars)]
        at = got[0][0]
        if abs(at - ms) > tolerance_ms:
            return ["first difference %s: the right bytes at %d ms, %d ms off (tolerance %d ms)"
                    % (where, at, at - ms, tolerance_ms), side_by_side("expected", chars)]
        i += len(chars)
    if i < len(received):
        extra = [c for _, c in received[i:]]
        return ["the meter sent more than the trace has, at %d ms:" % received[i][0],
                side_by_side("got", extra)]
    return []


def replay_file(meter, path, tolerance_ms=50):
    return replay(meter, tracefile.load(path), tolerance_ms)
