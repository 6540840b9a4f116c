"""What a message must look like (profile section 3), what a value must be (section 6), and
the one rule by which a measured interval becomes a verdict."""

from __future__ import annotations

from typing import Optional, cast

from .. import tracefile
from . import profile as P

PASS, FAIL, INCONCLUSIVE, INAPPLICABLE, SKIP = "PASS", "FAIL", "INCONCLUSIVE", "INAPPLICABLE", "SKIP"
VERDICTS = (PASS, FAIL, INCONCLUSIVE, INAPPLICABLE, SKIP)

_DIGITS = {"H": "0123456789ABCDEF", "D": "0123456789", "B": "01"}
_NOT_IN_A = "()/!*"  # the A format's excluded characters; "." is allowed (profile-choices.md)


class Finding(Exception):
    """The case failed; the text is the one-line finding."""


class Skipped(Exception):
    """The case was not run (an option left it out); the text says why."""


class Inconclusive(Exception):
    """The kit cannot decide; the text says why."""


class Inapplicable(Exception):
    """The meter has nothing this case could test; the text says why."""


class LineFault(Exception):
    """An answer that is no proper answer (its form, its register) or none where the meter
    must answer: a finding of the `answers` clause, not of the case that met it.
    kind: "form", "register", "missing"."""

    def __init__(self, kind: str, text: str) -> None:
        Exception.__init__(self, text)
        self.kind = kind


class TokenTimeout(Exception):
    """A token took longer than --token-time: a finding of execution.time."""


def escape(chars: Optional[list[int]]) -> str:
    return tracefile.escape(chars) if chars else "nothing"


def first_parity_error(chars: list[int]) -> int:
    for i, c in enumerate(chars):
        if c & tracefile.RAW:
            return i
    return -1


def bcc(chars: list[int]) -> int:
    value = 0
    for c in chars:
        value ^= c
    return value


def _received(answer: Optional[list[int]], what: str, kind: str) -> None:
    if answer is None:
        raise LineFault("missing", "%s: no %s" % (what, kind))
    bad = first_parity_error(answer)
    if bad >= 0:
        raise LineFault(
            "form", "%s: the %s has a parity error at character %d: %s" % (what, kind, bad + 1, escape(answer))
        )


def check_id_response(answer: Optional[list[int]], what: str, baud: int) -> str:
    """/ XXX Z ident CR LF (section 3); the text without CR LF. A malformed IDResponse is a
    signon finding (the sign-on is that clause's subject)."""
    if answer is None:
        raise Finding("%s: no IDResponse" % what)
    bad = first_parity_error(answer)
    if bad >= 0:
        raise LineFault(
            "form", "%s: the IDResponse has a parity error at character %d: %s" % (what, bad + 1, escape(answer))
        )
    text = bytes(answer).decode("ascii", "replace")
    if text[:1] != "/" or answer[-2:] != [P.CR, P.LF] or len(answer) < 8:
        raise Finding("%s: not an IDResponse (/XXXZident<CR><LF>): %s" % (what, escape(answer)))
    manufacturer, speed, ident = text[1:4], text[4], text[5:-2]
    if not manufacturer.isalpha():
        raise Finding("%s: manufacturer id %r is not 3 letters" % (what, manufacturer))
    speeds = {chr(char): rate for rate, char in P.BAUD_CHARS}
    if speed not in speeds:
        raise Finding("%s: baud character %r is none of 0-5" % (what, speed))
    if speeds[speed] != baud:
        raise Finding(
            "%s: baud character %r says %d Bd, the line runs %d Bd (no switch-over in VTC07)"
            % (what, speed, speeds[speed], baud)
        )
    if not 1 <= len(ident) <= P.IDENT_MAX or any(not 0x20 <= ord(c) <= 0x7E for c in ident):
        raise Finding("%s: identification %r is not 1..16 printable characters" % (what, ident))
    return text[:-2]


def check_data(answer: Optional[list[int]], rid: int, what: str) -> str:
    """A Data message or error data message for `rid` (section 3): its value text."""
    _received(answer, what, "answer")
    answer = cast("list[int]", answer)  # _received raised if nothing came
    if answer == [P.NAK]:
        raise Finding("%s: answered NAK" % what)
    if answer == [P.ACK]:
        raise Finding("%s: answered ACK, expected a Data message" % what)
    if answer[0] != P.STX or len(answer) < 9 or answer[-2] != P.ETX:
        raise LineFault("form", "%s: not a Data message (STX id(value) ETX BCC): %s" % (what, escape(answer)))
    if answer[-1] != bcc(answer[1:-1]):
        raise LineFault(
            "form", "%s: BCC is %02X, should be %02X: %s" % (what, answer[-1], bcc(answer[1:-1]), escape(answer))
        )
    if any(c < 0x20 for c in answer[1:-2]):
        raise LineFault("form", "%s: a control character inside the message: %s" % (what, escape(answer)))
    body = bytes(answer[1:-2]).decode("ascii", "replace")
    head = "%04X(" % rid
    if not body.endswith(")") or "(" not in body:
        raise LineFault("form", "%s: not a Data message (STX id(value) ETX BCC): %s" % (what, escape(answer)))
    if not body.startswith(head):
        raise LineFault("register", "%s: the answer is not for register %04X: %s" % (what, rid, escape(answer)))
    value = body[len(head) : -1]
    if value.startswith("ERR") and not (len(value) == 5 and value[3:].isdigit()):
        raise Finding("%s: error code is not 2 decimal digits: %s" % (what, value))
    return value


def check_format(value: str, fmt: str, width: int) -> str:
    """'' if `value` is a good value of the format, else what is wrong."""
    if fmt == "A":
        if not 1 <= len(value) <= width:
            return "%d characters, format A1..%d" % (len(value), width)
        for c in value:
            if not 0x20 <= ord(c) <= 0x7E or c in _NOT_IN_A:
                return "character %r is not allowed in format A" % c
        return ""
    if len(value) != width:
        return "%d digits, format %s%d wants exactly %d" % (len(value), fmt, width, width)
    for c in value:
        if c not in _DIGITS[fmt]:
            return "%r is not a digit of format %s" % (c, fmt)
    return ""


def check_value(rid: int, value: str) -> str:
    if rid == P.REG_PROTOCOL_VERSION and int(value, 16) != P.PROTOCOL_VERSION:
        return "ProtocolVersion must be %02X (IEC 62055-52 edition 1.0)" % P.PROTOCOL_VERSION
    if rid == P.REG_SERVER_STATUS and value[:3] != "000":
        return "bits 5-7 must be zero"
    if rid == P.REG_TOKEN_STATUS and int(value) > P.TS_NOT_READY:
        return "tokenStatus 17-255 are reserved"
    if rid == P.REG_LOCKOUT_REMAINING and int(value) > P.LOCKOUT_MAX_S:
        return "longer than the longest lockout (%d s)" % P.LOCKOUT_MAX_S
    return ""


def judge(lo_ms: float, hi_ms: float, least: Optional[float] = None, most: Optional[float] = None) -> str:
    """The verdict on an interval known to lie in [lo_ms, hi_ms] against `least` <= t <=
    `most`: PASS or FAIL only when the whole range is on one side, else INCONCLUSIVE.
    Times are judged to the microsecond: the clock's seconds, as floats, carry rounding
    noise far below that (an answer exactly at tr min must not read 199.99999999 ms)."""
    lo_ms, hi_ms = round(lo_ms, 3), round(hi_ms, 3)
    if least is not None and hi_ms < least:
        return FAIL
    if most is not None and lo_ms > most:
        return FAIL
    if (least is None or lo_ms >= least) and (most is None or hi_ms <= most):
        return PASS
    return INCONCLUSIVE


def figure(lo_ms: float, hi_ms: float) -> str:
    """An interval as the report gives it: the measured figure and its uncertainty."""
    return "%.1f ms (-%.1f)" % (hi_ms, hi_ms - lo_ms)
