"""`vtc07 conform`: the VTC07 profile's cases against whatever meter is on a port.

    vtc07 conform --port URL [--baud N] [--parity soft|uart] [--address A]
                  [--json] [--junit FILE] [--no-tokens] [--token DIGITS] [--leave-locked]
                  [--slow] [--only CLAUSES] [--slack MS]

A conformance kit for a meter maker or a test lab. It speaks only the profile
(../shared/spec/vtc07-profile.md) to the meter, through pyserial as the HHU does (the HHU's
line and framing, tools/hhu.py), and knows nothing of the meter's insides: its numbers are
the profile's (firmware/tables.py). Each case belongs to a profile clause and ends PASS,
FAIL (with a one-line finding) or SKIP (with the reason); every answer's tr is measured.

Exit status: 0 every case passed (or was skipped), 1 a case failed, 2 bad usage, 3 no
meter to test (the port cannot be opened, or nothing answers the sign-on sensibly).
docs/conformance.md says what each case checks.
"""
import contextlib
import datetime
import json
import random
import sys
import time
import xml.etree.ElementTree as ET

import serial

from . import hhu
from . import tracefile
from . import vending
from .hhu import HhuError
from tables import (
    ACK,
    BAUD_CHARS,
    CR,
    ERR_BUSY,
    ETX,
    LF,
    LOCKOUT_AFTER,
    LOCKOUT_FIRST_S,
    LOCKOUT_MAX_S,
    NAK,
    PROTOCOL_VERSION,
    RECOVERY_WAIT,
    REG_BINARY_TOKEN_ENTRY,
    REG_LOCKOUT_REMAINING,
    REG_PROTOCOL_VERSION,
    REG_SERVER_STATUS,
    REG_SOFTWARE_VERSION,
    REG_TABLE_ID,
    REG_TOKEN_STATUS,
    REPEATS_MAX,
    SESSION_TIMEOUT,
    STATUS_LOCKOUT,
    STX,
    TA,
    TOKEN_CLASS_SHIFT,
    TOKEN_BITS,
    TOKEN_DIGITS_HEX,
    TR_MAX,
    TR_MIN,
    TS_LOCKED,
    TS_NOT_READY,
)

PASS, FAIL, SKIP = "PASS", "FAIL", "SKIP"
SLACK_MS = 100  # default allowance for the host and the line on upper time limits
LOCKOUT_WAIT_MAX_S = 60  # the kit waits a lock out only up to this long
TOKEN_WAIT_S = hhu.TOKEN_WAIT_S  # longest the kit polls TokenStatus for a final result
UNKNOWN_REGISTER = 0x7FFF  # no table of the profile assigns it (Table 15: 0000-0006, 6.9: 8000-80FF)
OTHER_ADDRESS = "VTC07CONFORMANCEKIT0"  # an IDRequest address no real meter has
ACCEPTED = (1, 2, 3)  # tokenStatus Accept, 1stKCT, 2ndKCT

# (key, profile section, title), in the order they run; --only takes the keys
CLAUSES = (
    ("signon", "4", "Sign-on: IDRequest and IDResponse"),
    ("read", "6", "Predefined registers (Table 15): ReadCommand -> Data message"),
    ("errors", "3", "Error data messages ERR01-ERR05"),
    ("nak", "4-5", "NAK after a transmission or syntax error, and the recovery wait"),
    ("repeat", "4", "Repeats on the client's NAK; 3 NAKs in a row -> Idle"),
    ("break", "4", "BreakCommand -> Idle"),
    ("ta", "5", "ta: the gap inside a message"),
    ("session", "4", "Session timeout (120 s; --slow)"),
    ("execution", "5", "Token execution (6.7.3): ACK within tr, TokenStatus 16 while busy"),
    ("lockout", "8", "TokenLockout (6.6.7)"),
    ("tr", "5", "tr measured on every answer"),
)
SECTIONS = {key: (section, title) for key, section, title in CLAUSES}

# Table 15's readable registers: (ID, name, format, width) and a check of the value
PREDEFINED = (
    (REG_PROTOCOL_VERSION, "ProtocolVersion", "H", 2),
    (REG_TABLE_ID, "TableID", "H", 4),
    (REG_SERVER_STATUS, "ServerStatus", "B", 8),
    (REG_SOFTWARE_VERSION, "SoftwareVersion", "A", 16),
    (REG_TOKEN_STATUS, "TokenStatus", "D", 2),
    (REG_LOCKOUT_REMAINING, "TokenLockoutTimeRemaining", "D", 5),
)
_DIGITS = {"H": "0123456789ABCDEF", "D": "0123456789", "B": "01"}
_NOT_IN_A = "()/!*"  # the A format's excluded characters; "." is allowed (profile-choices.md)


class Finding(Exception):
    """The case failed; the text is the one-line finding."""


class Skipped(Exception):
    """The case cannot be run here; the text says why."""


class NoMeter(Exception):
    """Nothing to test: exit status 3."""


class Case:
    def __init__(self, clause, cid, title):
        self.clause = clause
        self.cid = cid
        self.title = title
        self.status = PASS
        self.finding = ""  # FAIL: what is wrong; SKIP: why; PASS: what was seen, if worth saying
        self.seconds = 0.0


def stats(values):
    if not values:
        return None
    return {"n": len(values), "min": round(min(values), 1), "mean": round(sum(values) / len(values), 1),
            "max": round(max(values), 1)}


def stats_text(s, unit="ms"):
    if not s:
        return "none"
    return "n=%d min %.0f mean %.1f max %.0f %s" % (s["n"], s["min"], s["mean"], s["max"], unit)


def _escape(chars):
    return tracefile.escape(chars) if chars else "nothing"


class Kit:
    """The line to the meter and what the cases measured on it."""

    def __init__(self, meter, baud, slack_ms=SLACK_MS, url=""):
        self.h = meter
        self.baud = baud
        self.slack = slack_ms
        self.url = url
        self.silence_s = (max(TR_MAX, RECOVERY_WAIT) + slack_ms) / 1000
        self.nak_s = (RECOVERY_WAIT + TR_MAX + slack_ms) / 1000  # a NAK after a damaged message
        self.tr = []  # (ms, what it answered)
        self.recovery = []  # ms from a damaged message's last character to the NAK
        self.execution = []  # ms from a token's write to its final TokenStatus
        self.not_ready_seen = 0
        self.busy_answer = None  # what a write got while a token was processed
        self.ident = None
        self.in_session = False
        self.notes = []

    # --- the line ------------------------------------------------------------------------

    def send(self, chars):
        self.h.port.reset_input_buffer()
        self.h.send(chars)

    def answer(self, wait_s=None, complete=hhu.message_complete):
        """The next answer's characters (None: nothing within `wait_s`) and its time in ms
        from the end of the last send to its first character."""
        chars = self.h.receive(complete, self.silence_s if wait_s is None else wait_s)
        if chars is None:
            return None, None
        return chars, (self.h.first_at - self.h.sent_at) * 1000

    def ask(self, chars, what, complete=hhu.message_complete, wait_s=None):
        """Send a request; its answer. The answer's time counts as a tr."""
        self.send(chars)
        answer, ms = self.answer(wait_s, complete)
        if answer is not None:
            self.tr.append((ms, what))
        return answer

    def silence(self, what, wait_s=None):
        answer, ms = self.answer(wait_s)
        if answer is not None:
            raise Finding("%s: answered %s after %.0f ms, where the profile wants silence"
                          % (what, _escape(answer), ms))

    def drain(self):
        """Let whatever a failed case left on the line pass, and leave the meter Idle."""
        self.in_session = False
        while self.h.receive(hhu.message_complete, self.silence_s) is not None:
            pass
        self.send(tracefile.command(b"B0"))

    # --- messages ------------------------------------------------------------------------

    def sign_on(self, address=None, what="IDRequest"):
        """IDRequest; the IDResponse checked against section 3, as text without CR LF."""
        address = self.h.address if address is None else address
        answer = self.ask(("/?%s!\r\n" % address).encode(), what, complete=hhu.id_response_complete)
        text = check_id_response(answer, what, self.baud)
        self.in_session = True
        return text

    def fresh(self):
        """Break, then sign on: a new session whatever state the meter was in."""
        self.send(tracefile.command(b"B0"))
        self.sign_on()

    def session(self):
        if not self.in_session:
            self.fresh()

    def idle(self):
        self.send(tracefile.command(b"B0"))
        self.in_session = False

    def read(self, rid, what=None):
        """R1: the value text, or "ERRnn" for an error data message."""
        what = what or "ReadCommand %04X" % rid
        answer = self.ask(tracefile.read_request(rid), what)
        return check_data(answer, rid, what)

    def write(self, rid, value, what=None):
        """W1: None for ACK, else the "ERRnn" of an error data message."""
        what = what or "WriteCommand %04X(%s)" % (rid, value)
        answer = self.ask(tracefile.write_request(rid, value), what)
        if answer == [ACK]:
            return None
        value = check_data(answer, rid, what)
        if not value.startswith("ERR"):
            raise Finding("%s: answered a Data message %s, not ACK or an error" % (what, _escape(answer)))
        return value

    def expect_error(self, answer_value, code, what):
        if answer_value != "ERR%02d" % code:
            raise Finding("%s: answered %s, expected ERR%02d" % (what, answer_value or "ACK", code))

    def read_number(self, rid, name):
        """A D-format register's value as a number."""
        value = self.read(rid, "ReadCommand %04X (%s)" % (rid, name))
        if not value.isdigit():
            raise Finding("%s reads %r, not decimal digits" % (name, value))
        return int(value)

    def token_status(self):
        return self.read_number(REG_TOKEN_STATUS, "TokenStatus")

    def lockout_left(self):
        return self.read_number(REG_LOCKOUT_REMAINING, "TokenLockoutTimeRemaining")

    def enter_token(self, number, what):
        """Write BinaryTokenEntry; None if refused with ERRnn (returned as text in the
        second place), else the final tokenStatus. Times the execution."""
        answer = self.write(REG_BINARY_TOKEN_ENTRY, "%0*X" % (TOKEN_DIGITS_HEX, number), what)
        if answer is not None:
            return None, answer
        written = self.h.sent_at
        deadline = time.monotonic() + TOKEN_WAIT_S
        while True:
            status = self.token_status()
            if status != TS_NOT_READY:
                self.execution.append((self.h.first_at - written) * 1000)
                return status, None
            self.not_ready_seen += 1
            if self.busy_answer is None:  # once: a write while busy must get ERR06
                self.busy_answer = self.write(REG_BINARY_TOKEN_ENTRY, "%0*X" % (TOKEN_DIGITS_HEX, number),
                                              "BinaryTokenEntry again while TokenStatus reads 16") or "ACK"
            if time.monotonic() > deadline:
                raise Finding("%s: TokenStatus still reads 16 (not ready) after %d s" % (what, TOKEN_WAIT_S))


def first_parity_error(chars):
    for i, c in enumerate(chars):
        if c & tracefile.RAW:
            return i
    return -1


def _received(answer, what, kind):
    """A Finding unless `answer` came, with no parity error; `kind` names it."""
    if answer is None:
        raise Finding("%s: no %s" % (what, kind))
    bad = first_parity_error(answer)
    if bad >= 0:
        raise Finding("%s: the %s has a parity error at character %d: %s" % (what, kind, bad + 1, _escape(answer)))


def check_id_response(answer, what, baud):
    """/ XXX Z ident CR LF (section 3); the text without CR LF."""
    _received(answer, what, "IDResponse")
    text = bytes(answer).decode("ascii", "replace")
    if text[:1] != "/" or answer[-2:] != [CR, LF] or len(answer) < 8:
        raise Finding("%s: not an IDResponse (/XXXZident<CR><LF>): %s" % (what, _escape(answer)))
    manufacturer, speed, ident = text[1:4], text[4], text[5:-2]
    if not manufacturer.isalpha():
        raise Finding("%s: manufacturer id %r is not 3 letters" % (what, manufacturer))
    speeds = {chr(char): rate for rate, char in BAUD_CHARS}
    if speed not in speeds:
        raise Finding("%s: baud character %r is none of 0-5" % (what, speed))
    if speeds[speed] != baud:
        raise Finding("%s: baud character %r says %d Bd, the line runs %d Bd (no switch-over in VTC07)"
                      % (what, speed, speeds[speed], baud))
    if not 1 <= len(ident) <= 16 or any(not 0x20 <= ord(c) <= 0x7E for c in ident):
        raise Finding("%s: identification %r is not 1..16 printable characters" % (what, ident))
    return text[:-2]


def check_data(answer, rid, what):
    """A Data message or error data message for `rid` (section 3): its value text."""
    _received(answer, what, "answer")
    if answer == [NAK]:
        raise Finding("%s: answered NAK" % what)
    if answer == [ACK]:
        raise Finding("%s: answered ACK, expected a Data message" % what)
    if answer[0] != STX or len(answer) < 9 or answer[-2] != ETX:
        raise Finding("%s: not a Data message (STX id(value) ETX BCC): %s" % (what, _escape(answer)))
    expected = 0
    for c in answer[1:-1]:
        expected ^= c
    if answer[-1] != expected:
        raise Finding("%s: BCC is %02X, should be %02X: %s" % (what, answer[-1], expected, _escape(answer)))
    body = bytes(answer[1:-2]).decode("ascii", "replace")
    head = "%04X(" % rid
    if not body.startswith(head) or not body.endswith(")"):
        raise Finding("%s: the answer is not for register %04X: %s" % (what, rid, _escape(answer)))
    value = body[len(head):-1]
    if any(c < 0x20 for c in answer[1:-2]):
        raise Finding("%s: a control character inside the message: %s" % (what, _escape(answer)))
    if value.startswith("ERR") and not (len(value) == 5 and value[3:].isdigit()):
        raise Finding("%s: error code is not 2 decimal digits: %s" % (what, value))
    return value


def check_format(value, fmt, width):
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


def random_class0_token(rng):
    """A random meter-specific (class 0) token: its CRC fails under the meter's key (but
    for a 1 in 65536 chance, and then it is still refused by its other checks)."""
    return rng.getrandbits(TOKEN_BITS) & ~(3 << TOKEN_CLASS_SHIFT)


def bad_class1_token():
    """A class 1 test token with its CRC's lowest bit flipped: processed even while
    locked, and refused (13) without acting on any test it names."""
    return vending.class1_token(0, 0, 0) ^ 1


# --- the cases ---------------------------------------------------------------------------

def clause_signon(kit, run):
    with run("signon.any", "IDRequest without address -> IDResponse (section 3)") as case:
        kit.idle()
        case.finding = kit.sign_on(address="", what="IDRequest /?!")
    with run("signon.again", "IDRequest in Session -> IDResponse again") as case:
        kit.session()
        first = kit.sign_on(address="", what="second IDRequest")
        if kit.ident and first != kit.ident:
            raise Finding("the second IDResponse %r differs from the first %r" % (first, kit.ident))
    with run("signon.address", "IDRequest with the meter's address -> IDResponse") as case:
        if not kit.h.address:
            raise Skipped("give --address to check the meter's own address")
        kit.idle()
        kit.sign_on(what="IDRequest /?%s!" % kit.h.address)
    with run("signon.other", "IDRequest for another meter in Idle -> silence") as case:
        kit.idle()
        other = OTHER_ADDRESS if kit.h.address != OTHER_ADDRESS else OTHER_ADDRESS[:-1]
        kit.send(("/?%s!\r\n" % other).encode())
        kit.silence("IDRequest /?%s!" % other)


def clause_read(kit, run):
    for rid, name, fmt, width in PREDEFINED:
        with run("read.%04X" % rid, "%04X %s: %s%s%s" % (rid, name, fmt, "1.." if fmt == "A" else "", width)) as case:
            kit.session()
            what = "ReadCommand %04X (%s)" % (rid, name)
            value = kit.read(rid, what)
            if value.startswith("ERR"):
                raise Finding("%s: answered %s" % (what, value))
            wrong = check_format(value, fmt, width)
            if wrong:
                raise Finding("%s: value %r: %s" % (what, value, wrong))
            wrong = check_value(rid, value)
            if wrong:
                raise Finding("%s: value %r: %s" % (what, value, wrong))
            case.finding = value


def check_value(rid, value):
    if rid == REG_PROTOCOL_VERSION and int(value, 16) != PROTOCOL_VERSION:
        return "ProtocolVersion must be %02X (IEC 62055-52 edition 1.0)" % PROTOCOL_VERSION
    if rid == REG_SERVER_STATUS and value[:3] != "000":
        return "bits 5-7 must be zero"
    if rid == REG_TOKEN_STATUS and int(value) > TS_NOT_READY:
        return "tokenStatus 17-255 are reserved"
    if rid == REG_LOCKOUT_REMAINING and int(value) > LOCKOUT_MAX_S:
        return "longer than the longest lockout (%d s)" % LOCKOUT_MAX_S
    return ""


def clause_errors(kit, run):
    token = REG_BINARY_TOKEN_ENTRY
    cases = (
        ("errors.01-read", "ReadCommand of an unknown register -> ERR01", "R", UNKNOWN_REGISTER, None, 1),
        ("errors.01-write", "WriteCommand of an unknown register -> ERR01", "W", UNKNOWN_REGISTER, "0", 1),
        ("errors.02", "WriteCommand of ProtocolVersion (read-only) -> ERR02", "W", REG_PROTOCOL_VERSION,
         "%02X" % PROTOCOL_VERSION, 2),
        ("errors.03", "ReadCommand of BinaryTokenEntry (write-only) -> ERR03", "R", token, None, 3),
        ("errors.04-length", "BinaryTokenEntry of 3 digits -> ERR04", "W", token, "123", 4),
        ("errors.04-chars", "BinaryTokenEntry with a non-hex digit -> ERR04", "W", token, "0" * 16 + "G", 4),
        ("errors.05", "BinaryTokenEntry with the top 2 of 68 bits set -> ERR05", "W", token,
         "C" + "0" * (TOKEN_DIGITS_HEX - 1), 5),
    )
    for cid, title, kind, rid, value, code in cases:
        with run(cid, title):
            kit.session()
            if kind == "R":
                what = "ReadCommand %04X" % rid
                kit.expect_error(kit.read(rid, what), code, what)
            else:
                what = "WriteCommand %04X(%s)" % (rid, value)
                kit.expect_error(kit.write(rid, value, what), code, what)


def _nak_after_damage(kit, chars, what):
    kit.session()
    kit.send(chars)
    answer, ms = kit.answer(kit.nak_s)
    if answer is None:
        raise Finding("%s: no NAK within %.1f s" % (what, kit.nak_s))
    if answer != [NAK]:
        raise Finding("%s: answered %s, expected NAK" % (what, _escape(answer)))
    kit.recovery.append(ms)
    if ms < RECOVERY_WAIT:
        raise Finding("%s: NAK after %.0f ms, before the %d ms recovery wait of line silence"
                      % (what, ms, RECOVERY_WAIT))
    value = kit.read(REG_PROTOCOL_VERSION, "ReadCommand 0000 after the NAK (Session must stay)")
    if value.startswith("ERR"):
        raise Finding("ReadCommand 0000 after the NAK answered %s" % value)
    return "NAK after %.0f ms" % ms


def damage_parity(kit, chars, index):
    """`chars` with a parity error in character `index`, as the line will carry it."""
    out = list(chars)
    c = out[index]
    if kit.h.soft:
        out[index] = (tracefile.to_line([c])[0] ^ 0x80) | tracefile.RAW
    else:  # a 7-bit line (a 7E1 UART's view): a set 8th bit is what a parity error looks like
        out[index] = c | 0x80 | tracefile.RAW
    return out


def send_parity_error(kit, chars, index):
    """Send `chars` with one character of wrong parity. A 7E1 serial port cannot make
    one: it is switched to odd parity for that character."""
    port = kit.h.port
    if kit.h.soft or not isinstance(port, serial.Serial):
        kit.send(damage_parity(kit, chars, index))
        return
    port.reset_input_buffer()
    port.write(tracefile.to_line(chars[:index], False))
    port.flush()
    port.parity = serial.PARITY_ODD
    port.write(tracefile.to_line(chars[index:index + 1], False))
    port.flush()
    port.parity = serial.PARITY_EVEN
    kit.h.send(chars[index + 1:])


def clause_nak(kit, run):
    request = list(tracefile.read_request(REG_PROTOCOL_VERSION))
    with run("nak.syntax", "undefined command letter -> NAK within tr, Session stays") as case:
        kit.session()
        what = "command Q1 (undefined)"
        answer = kit.ask(tracefile.command(b"Q1\x020000()"), what, wait_s=kit.nak_s)
        if answer != [NAK]:
            raise Finding("%s: answered %s, expected NAK" % (what, _escape(answer)))
        value = kit.read(REG_PROTOCOL_VERSION, "ReadCommand 0000 after the NAK (Session must stay)")
        if value.startswith("ERR"):
            raise Finding("ReadCommand 0000 after the NAK answered %s" % value)
        case.finding = "NAK after %.0f ms" % kit.tr[-2][0]
    with run("nak.bcc", "wrong BCC -> NAK after the recovery wait, Session stays") as case:
        damaged = request[:-1] + [request[-1] ^ 0x01]
        case.finding = _nak_after_damage(kit, damaged, "ReadCommand 0000 with a wrong BCC")
    with run("nak.parity", "parity error -> NAK after the recovery wait, Session stays") as case:
        kit.session()
        what = "ReadCommand 0000 with a parity error"
        send_parity_error(kit, request, 5)
        answer, ms = kit.answer(kit.nak_s)
        if answer != [NAK]:
            raise Finding("%s: answered %s, expected NAK" % (what, _escape(answer)))
        kit.recovery.append(ms)
        if ms < RECOVERY_WAIT:
            raise Finding("%s: NAK after %.0f ms, before the %d ms recovery wait" % (what, ms, RECOVERY_WAIT))
        value = kit.read(REG_PROTOCOL_VERSION, "ReadCommand 0000 after the NAK (Session must stay)")
        if value.startswith("ERR"):
            raise Finding("ReadCommand 0000 after the NAK answered %s" % value)
        case.finding = "NAK after %.0f ms" % ms


def clause_repeat(kit, run):
    with run("repeat.nak", "client NAK -> the last response again, at most %d times" % REPEATS_MAX) as case:
        kit.session()
        what = "ReadCommand 0000"
        first = kit.ask(tracefile.read_request(REG_PROTOCOL_VERSION), what)
        check_data(first, REG_PROTOCOL_VERSION, what)
        for n in range(1, REPEATS_MAX + 1):
            again = kit.ask(bytes([NAK]), "NAK %d" % n)
            if again != first:
                raise Finding("NAK %d: answered %s, expected the repeat %s" % (n, _escape(again), _escape(first)))
        kit.send(bytes([NAK]))
        kit.silence("NAK %d (one more than the %d repeats)" % (REPEATS_MAX + 1, REPEATS_MAX))
        kit.in_session = False
    with run("repeat.idle", "3 NAKs in a row from the meter -> Idle") as case:
        kit.session()
        for n in range(1, 4):
            what = "undefined command %d" % n
            answer = kit.ask(tracefile.command(b"Q1\x020000()"), what, wait_s=kit.nak_s)
            if answer != [NAK]:
                raise Finding("%s: answered %s, expected NAK" % (what, _escape(answer)))
        kit.in_session = False
        kit.send(tracefile.read_request(REG_PROTOCOL_VERSION))
        kit.silence("ReadCommand 0000 after the meter's 3rd NAK (it should be Idle)")


def clause_break(kit, run):
    with run("break.idle", "BreakCommand -> no answer, Idle: a ReadCommand gets silence"):
        kit.session()
        kit.send(tracefile.command(b"B0"))
        kit.in_session = False
        kit.silence("BreakCommand")
        kit.send(tracefile.read_request(REG_PROTOCOL_VERSION))
        kit.silence("ReadCommand 0000 after Break")


def clause_ta(kit, run):
    request = list(tracefile.read_request(REG_PROTOCOL_VERSION))
    gap_in = (TA - 500) / 1000
    gap_out = (TA + 500) / 1000
    with run("ta.inside", "a %.1f s gap inside a message (under ta) -> answered" % gap_in):
        kit.session()
        kit.send(request[:6])
        kit.silence("first half of ReadCommand 0000", gap_in)
        what = "ReadCommand 0000 sent with a %.1f s gap" % gap_in
        check_data(kit.ask(request[6:], what), REG_PROTOCOL_VERSION, what)
    with run("ta.over", "a %.1f s gap (over ta) drops the partial message silently" % gap_out):
        kit.session()
        kit.send(request[:6])
        kit.silence("first half of ReadCommand 0000, then %.1f s of silence" % gap_out, gap_out)
        what = "a whole ReadCommand 0000 after the dropped half"
        answer = kit.ask(request, what)
        check_data(answer, REG_PROTOCOL_VERSION, what)


def clause_session(kit, run, slow):
    with run("session.timeout", "no message for %d s -> Idle, but not sooner" % (SESSION_TIMEOUT // 1000)) as case:
        if not slow:
            raise Skipped("takes 4 minutes: give --slow")
        kit.fresh()
        early = (SESSION_TIMEOUT - 5000) / 1000
        time.sleep(early)
        value = kit.read(REG_PROTOCOL_VERSION, "ReadCommand 0000 after %.0f s of silence" % early)
        if value.startswith("ERR"):
            raise Finding("ReadCommand 0000 answered %s" % value)
        late = (SESSION_TIMEOUT + 2000) / 1000
        time.sleep(late)
        kit.in_session = False
        kit.send(tracefile.read_request(REG_PROTOCOL_VERSION))
        kit.silence("ReadCommand 0000 after %.0f s of silence" % late)


def clause_execution(kit, run, token):
    with run("execution.accepted", "a token the operator gives (--token) is accepted") as case:
        if token is None:
            raise Skipped("needs a token the meter accepts: give --token DIGITS")
        kit.session()
        what = "BinaryTokenEntry of the --token"
        status, refused = kit.enter_token(token, what)
        if refused:
            raise Finding("%s: answered %s (%s)" % (what, refused, hhu.ERRORS.get(int(refused[3:]), "?")))
        if status not in ACCEPTED:
            raise Finding("the --token was refused: tokenStatus %d %s" % (status, hhu.TOKEN_STATUS.get(status, "")))
        case.finding = "tokenStatus %d after %.0f ms" % (status, kit.execution[-1])


def clause_execution_summary(kit, run, tokens):
    with run("execution.timing", "time from BinaryTokenEntry to its final TokenStatus") as case:
        if not tokens:
            raise Skipped("no token entered (--no-tokens)")
        if not kit.execution:
            raise Skipped("no token reached a final status (see the cases above)")
        case.finding = stats_text(stats(kit.execution))
    with run("execution.not-ready", "TokenStatus 16 (not ready) while a token is processed, writes get ERR06") as case:
        if not tokens:
            raise Skipped("no token entered (--no-tokens)")
        if not kit.not_ready_seen:
            raise Skipped("not observable: every token was done before the first TokenStatus read")
        if kit.busy_answer != "ERR%02d" % ERR_BUSY:
            raise Finding("a BinaryTokenEntry while TokenStatus read 16 answered %s, expected ERR%02d (busy)"
                          % (kit.busy_answer, ERR_BUSY))
        case.finding = "16 read %d times; a write meanwhile got ERR%02d" % (kit.not_ready_seen, ERR_BUSY)


def clause_lockout(kit, run, leave_locked, rng):
    """Three rejected tokens, then the lock's answers; each case needs the one before."""
    state = {}

    def need(key):
        if key not in state:
            raise Skipped("needs the lock, which an earlier case did not reach")
        return state[key]

    with run("lockout.locks", "%d rejected meter-specific tokens lock token entry" % LOCKOUT_AFTER) as case:
        kit.session()
        left = kit.lockout_left()
        if left:
            if left > LOCKOUT_WAIT_MAX_S or leave_locked:
                raise Skipped("the meter is already locked for %d s; run again when it is not" % left)
            time.sleep(left + 1)
            kit.fresh()
        rejected = 0
        for n in range(1, LOCKOUT_AFTER + 1):
            what = "rejected token %d (random class 0)" % n
            status, refused = kit.enter_token(random_class0_token(rng), what)
            if refused == "ERR07":  # locked by an earlier count of the meter's
                state["after"] = rejected
                break
            if refused:
                raise Finding("%s: answered %s, expected ACK" % (what, refused))
            if status in ACCEPTED:
                raise Finding("%s: a random token was accepted (tokenStatus %d)" % (what, status))
            rejected += 1
            if kit.lockout_left():
                state["after"] = rejected
                break
        kit.rejected = rejected
        if "after" not in state:
            raise Finding("%d rejected tokens (last tokenStatus %d) did not lock: TokenLockoutTimeRemaining "
                          "reads 00000" % (rejected, status))
        kit.notes.append("TokenLockout was triggered (rejected tokens entered: %d). The meter now counts at "
                         "least %d rejections in a row until it accepts a meter-specific token: its next "
                         "rejection locks it again, for longer." % (rejected, LOCKOUT_AFTER))
        if state["after"] < LOCKOUT_AFTER:
            raise Skipped("locked after %d rejections: the meter had earlier rejections counted (a previous "
                          "run?); an accepted token (--token) clears the count" % state["after"])
        case.finding = "locked after %d rejections" % state["after"]
    with run("lockout.remaining", "TokenLockoutTimeRemaining counts the lock (first lock %d s)" % LOCKOUT_FIRST_S) as case:
        need("after")
        left = kit.lockout_left()
        state["left"] = left
        state["since"] = time.monotonic()
        if state["after"] == LOCKOUT_AFTER and not LOCKOUT_FIRST_S - 3 <= left <= LOCKOUT_FIRST_S:
            raise Finding("TokenLockoutTimeRemaining reads %d s just after the first lock, expected %d s"
                          % (left, LOCKOUT_FIRST_S))
        if not 0 < left <= LOCKOUT_MAX_S:
            raise Finding("TokenLockoutTimeRemaining reads %d s while locked" % left)
        case.finding = "%d s" % left
    with run("lockout.server-status", "ServerStatus bit 1 (token lockout active) is set") as case:
        need("after")
        value = kit.read(REG_SERVER_STATUS)
        if check_format(value, "B", 8) or not int(value, 2) & STATUS_LOCKOUT:
            raise Finding("ServerStatus reads %s while locked: bit 1 not set" % value)
    with run("lockout.err07", "a meter-specific token while locked -> ERR07") as case:
        need("after")
        what = "BinaryTokenEntry while locked"
        status, refused = kit.enter_token(random_class0_token(rng), what)
        if refused != "ERR07":
            raise Finding("%s: answered %s, expected ERR07" % (what, refused or "ACK (tokenStatus %d)" % status))
    with run("lockout.status15", "TokenStatus reads 15 after the ERR07") as case:
        need("after")
        status = kit.token_status()
        if status != TS_LOCKED:
            raise Finding("TokenStatus reads %d after ERR07, expected %d" % (status, TS_LOCKED))
    with run("lockout.class1", "a class 1 (test) token is still processed while locked") as case:
        need("after")
        what = "class 1 test token with a wrong CRC, while locked"
        status, refused = kit.enter_token(bad_class1_token(), what)
        if refused:
            raise Finding("%s: answered %s; class 1 tokens are processed while locked" % (what, refused))
        if status in (TS_LOCKED,) + ACCEPTED:
            raise Finding("%s: tokenStatus %d, expected a rejection such as 13 (CRC)" % (what, status))
        case.finding = "tokenStatus %d" % status
    with run("lockout.expires", "the lock runs out: TokenLockoutTimeRemaining 00000, bit 1 clear") as case:
        left = need("left") - (time.monotonic() - state["since"])
        if leave_locked:
            kit.notes.append("The meter was left locked for about %.0f s more (--leave-locked)." % max(left, 0))
            raise Skipped("--leave-locked: the meter stays locked for about %.0f s" % max(left, 0))
        if left > LOCKOUT_WAIT_MAX_S:
            kit.notes.append("The meter was left locked for about %.0f s more." % left)
            raise Skipped("locked for %.0f s more; the kit waits at most %d s" % (left, LOCKOUT_WAIT_MAX_S))
        time.sleep(max(left, 0) + 1)
        kit.session()
        remaining = kit.read(REG_LOCKOUT_REMAINING)
        status = kit.read(REG_SERVER_STATUS)
        if remaining != "00000":
            raise Finding("TokenLockoutTimeRemaining reads %s after the lock ran out" % remaining)
        if check_format(status, "B", 8) or int(status, 2) & STATUS_LOCKOUT:
            raise Finding("ServerStatus reads %s after the lock ran out: bit 1 still set" % status)


def clause_tr(kit, run, slack):
    top = TR_MAX + slack
    with run("tr.every-answer", "%d ms <= tr <= %d ms on every answer (+%d ms for host and line)"
             % (TR_MIN, TR_MAX, slack)) as case:
        if not kit.tr:
            raise Skipped("no answer was timed")
        times = [ms for ms, _ in kit.tr]
        wrong = [(ms, what) for ms, what in kit.tr if not TR_MIN <= ms <= top]
        summary = stats_text(stats(times))
        if wrong:
            ms, what = wrong[0]
            raise Finding("%d of %d answers outside %d..%d ms, first: %s after %.0f ms (%s)"
                          % (len(wrong), len(times), TR_MIN, TR_MAX, what, ms, summary))
        case.finding = summary


# --- running and reporting ---------------------------------------------------------------

class Run:
    def __init__(self, kit, only, progress):
        self.kit = kit
        self.only = only
        self.progress = progress
        self.cases = []
        self._clause = None

    def clause(self, key):
        self._clause = key
        return not self.only or key in self.only

    @contextlib.contextmanager
    def __call__(self, cid, title):
        case = Case(self._clause, cid, title)
        start = time.monotonic()
        try:
            yield case
        except Finding as e:
            case.status, case.finding = FAIL, str(e)
        except Skipped as e:
            case.status, case.finding = SKIP, str(e)
        except HhuError as e:
            case.status, case.finding = FAIL, "the line: %s" % e
        except (ValueError, IndexError) as e:  # an answer the checks above did not foresee
            case.status, case.finding = FAIL, "an answer the kit cannot read: %s" % e
        case.seconds = time.monotonic() - start
        if case.status == FAIL:
            try:
                self.kit.drain()
            except HhuError:
                pass
        self.cases.append(case)
        self.progress(case)


def contact(kit):
    """The first sign-on: is there a VTC07 meter at all? Its IDResponse, else NoMeter."""
    kit.send(tracefile.command(b"B0"))
    for _ in range(2):
        kit.send(("/?%s!\r\n" % kit.h.address).encode())
        answer, ms = kit.answer(kit.silence_s + 0.5, hhu.id_response_complete)
        if answer is None:
            raise NoMeter("no answer to the sign-on /?%s! within %.1f s: wrong port, speed, parity "
                          "(--parity soft|uart) or address, or not connected" % (kit.h.address, kit.silence_s + 0.5))
        if first_parity_error(answer) < 0 and answer[:1] == [ord("/")] and answer[-2:] == [CR, LF]:
            kit.tr.append((ms, "first IDRequest"))
            kit.in_session = True
            return bytes(answer[:-2]).decode("ascii", "replace")
        time.sleep(kit.silence_s)  # garbled: let the line settle, try once more
    if first_parity_error(answer) >= 0:
        hint = "characters with wrong parity: try --parity %s" % ("uart" if kit.h.soft else "soft")
    else:
        hint = "a damaged line or not a VTC07 meter"
    raise NoMeter("the sign-on's answer is not an IDResponse: %s (%s)" % (_escape(answer), hint))


def run_all(kit, only=(), tokens=True, token=None, slow=False, leave_locked=False, progress=lambda case: None):
    run = Run(kit, only, progress)
    kit.ident = contact(kit)
    rng = random.Random()
    for key, fn in (("signon", clause_signon), ("read", clause_read), ("errors", clause_errors),
                    ("nak", clause_nak), ("repeat", clause_repeat), ("break", clause_break),
                    ("ta", clause_ta)):
        if run.clause(key):
            fn(kit, run)
    if run.clause("session"):
        clause_session(kit, run, slow)
    if run.clause("execution") and (tokens or token is not None):
        clause_execution(kit, run, token)
    if run.clause("lockout"):
        if tokens:
            clause_lockout(kit, run, leave_locked, rng)
        else:
            with run("lockout", "TokenLockout cases (enter rejected tokens, lock the meter)"):
                raise Skipped("--no-tokens")
    if run.clause("execution"):
        clause_execution_summary(kit, run, tokens or token is not None)
    run.clause("tr")  # always: the tr of every answer the chosen clauses brought
    clause_tr(kit, run, kit.slack)
    try:
        kit.idle()
    except HhuError:
        pass
    return run.cases


def counts(cases):
    return {s.lower(): sum(1 for c in cases if c.status == s) for s in (PASS, FAIL, SKIP)}


def timing(kit):
    return {"tr_ms": stats([ms for ms, _ in kit.tr]), "recovery_ms": stats(kit.recovery),
            "token_execution_ms": stats(kit.execution)}


def report_json(kit, cases, seconds, status, error=None):
    return json.dumps({
        "tool": "vtc07 conform",
        "port": kit.url if kit else None,
        "meter": kit.ident if kit else None,
        "result": {0: "pass", 1: "fail", 3: "no meter"}[status],
        "exit_status": status,
        "error": error,
        "seconds": round(seconds, 1),
        "counts": counts(cases),
        "timing": timing(kit) if kit else None,
        "notes": kit.notes if kit else [],
        "cases": [{"clause": c.clause, "section": SECTIONS[c.clause][0], "id": c.cid, "title": c.title,
                   "status": c.status.lower(), "finding": c.finding, "seconds": round(c.seconds, 2)}
                  for c in cases],
    }, indent=2)


def report_junit(kit, cases, seconds, error=None):
    """JUnit XML: one testsuite per clause, one testcase per case."""
    root = ET.Element("testsuites", name="vtc07 conform", time="%.3f" % seconds)
    if error:
        suite = ET.SubElement(root, "testsuite", name="vtc07.signon", tests="1", failures="0", errors="1",
                              skipped="0", time="0")
        case = ET.SubElement(suite, "testcase", classname="vtc07.signon", name="contact", time="0")
        ET.SubElement(case, "error", message=error).text = error
    for key, section, title in CLAUSES:
        mine = [c for c in cases if c.clause == key]
        if not mine:
            continue
        n = counts(mine)
        suite = ET.SubElement(root, "testsuite", name="vtc07.%s" % key, tests=str(len(mine)),
                              failures=str(n["fail"]), errors="0", skipped=str(n["skip"]),
                              time="%.3f" % sum(c.seconds for c in mine))
        props = ET.SubElement(suite, "properties")
        ET.SubElement(props, "property", name="profile section", value=section)
        ET.SubElement(props, "property", name="clause", value=title)
        if kit:
            ET.SubElement(props, "property", name="port", value=kit.url)
            ET.SubElement(props, "property", name="meter", value=kit.ident or "")
        for c in mine:
            case = ET.SubElement(suite, "testcase", classname="vtc07.%s" % key, name="%s: %s" % (c.cid, c.title),
                                 time="%.3f" % c.seconds)
            if c.status == FAIL:
                ET.SubElement(case, "failure", message=c.finding, type="nonconformance").text = c.finding
            elif c.status == SKIP:
                ET.SubElement(case, "skipped", message=c.finding)
            elif c.finding:
                ET.SubElement(case, "system-out").text = c.finding
    if kit and kit.notes:
        ET.SubElement(root, "system-out").text = "\n".join(kit.notes)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def case_line(case):
    text = "  %s  %-22s %s" % (case.status, case.cid, case.title)
    if case.finding:
        text += ("\n        -> " if case.status != PASS else ": ") + case.finding
    return text


def add_parser(sub):
    """The `conform` subcommand of vtc07 (tools/vtc07.py)."""
    keep = __import__("argparse").SUPPRESS
    c = sub.add_parser("conform", help="run the VTC07 profile's conformance cases against a meter",
                       description="Run the VTC07 profile's cases against the meter on the port and "
                       "report PASS/FAIL/SKIP per clause with timing. Exit status: 0 all passed, 1 a "
                       "case failed, 2 bad usage, 3 no meter answered. See docs/conformance.md.")
    c.add_argument("--port", default=keep, help="pyserial URL or device")
    c.add_argument("--baud", type=int, default=keep)
    c.add_argument("--parity", choices=("soft", "uart"), default=keep)
    c.add_argument("--address", default=keep, help="the meter's address (also checks address sign-on)")
    c.add_argument("--json", action="store_true", help="print the report as JSON instead of text")
    c.add_argument("--junit", metavar="FILE", help="also write the report as JUnit XML to FILE")
    c.add_argument("--no-tokens", action="store_true",
                   help="enter no token: skip TokenLockout and token execution (the meter is not locked)")
    c.add_argument("--token", metavar="DIGITS", help="a token the meter accepts (20 digits): times its execution")
    c.add_argument("--leave-locked", action="store_true", help="do not wait for the lockout to run out")
    c.add_argument("--slow", action="store_true", help="also the 120 s session timeout (about 4 minutes)")
    c.add_argument("--only", metavar="CLAUSES", help="comma-separated clauses: " + ",".join(k for k, _, _ in CLAUSES))
    c.add_argument("--slack", type=int, default=SLACK_MS, metavar="MS",
                   help="allowance on upper time limits for the host and line (default %(default)s)")
    return c


def main(args, out=print, err=None):
    """Run from vtc07's parsed arguments; the exit status."""
    err = err or (lambda text: print(text, file=sys.stderr))
    only = ()
    if args.only:
        only = tuple(k.strip() for k in args.only.split(",") if k.strip())
        unknown = [k for k in only if k not in SECTIONS]
        if unknown:
            err("vtc07 conform: no clause %s (one of %s)" % (", ".join(unknown), ",".join(SECTIONS)))
            return 2
    token = None
    if args.token:
        try:
            token = hhu.token_number(args.token)
        except ValueError as e:
            err("vtc07 conform: --token: %s" % e)
            return 2
    if not 0 <= args.slack <= 1000:
        err("vtc07 conform: --slack is 0..1000 ms")
        return 2
    if args.baud not in [rate for rate, _ in BAUD_CHARS]:
        err("vtc07 conform: --baud is one of %s" % ", ".join(str(r) for r, _ in BAUD_CHARS))
        return 2
    started = time.monotonic()
    kit = None
    cases = []
    text = not args.json

    def progress(case):
        if text:
            if case.clause != progress.clause:
                progress.clause = case.clause
                section, title = SECTIONS[case.clause]
                out("section %s  %s" % (section, title))
            out(case_line(case))
    progress.clause = None

    try:
        meter = hhu.Hhu(args.port, args.baud, args.parity, args.address)
    except HhuError as e:
        return _no_meter(args, out, err, None, started, str(e))
    with meter:
        kit = Kit(meter, args.baud, args.slack, args.port)
        if text:
            out("VTC07 conformance kit: %s, %d Bd, %s parity, started %s"
                % (args.port, args.baud, args.parity, datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S")))
        try:
            cases = run_all(kit, only, tokens=not args.no_tokens, token=token, slow=args.slow,
                            leave_locked=args.leave_locked, progress=progress)
        except NoMeter as e:
            return _no_meter(args, out, err, kit, started, str(e))
        except HhuError as e:
            return _no_meter(args, out, err, kit, started, str(e))
    seconds = time.monotonic() - started
    status = 1 if any(c.status == FAIL for c in cases) else 0
    if args.junit:
        _write(args.junit, report_junit(kit, cases, seconds), err)
    if args.json:
        out(report_json(kit, cases, seconds, status))
        return status
    n = counts(cases)
    t = timing(kit)
    out("")
    out("meter %s" % kit.ident)
    out("tr        %s" % stats_text(t["tr_ms"]))
    out("recovery  %s" % stats_text(t["recovery_ms"]))
    out("token     %s (write to final TokenStatus)" % stats_text(t["token_execution_ms"]))
    for note in kit.notes:
        out("note: " + note)
    out("%s: %d passed, %d failed, %d skipped in %.1f s"
        % ("CONFORMS" if status == 0 else "DOES NOT CONFORM", n["pass"], n["fail"], n["skip"], seconds))
    return status


def _write(path, text, err):
    try:
        with open(path, "w") as f:
            f.write(text)
    except OSError as e:
        err("vtc07 conform: cannot write %s: %s" % (path, e))


def _no_meter(args, out, err, kit, started, message):
    seconds = time.monotonic() - started
    err("vtc07 conform: no meter to test: %s" % message)
    if args.junit:
        _write(args.junit, report_junit(kit, [], seconds, error=message), err)
    if args.json:
        out(report_json(kit, [], seconds, 3, error=message))
    return 3
