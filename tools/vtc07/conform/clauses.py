"""The profile's clauses as cases, and the Kit they use: the profile's messages on the line.

Each clause function takes the Kit and the Run and opens one `with run(id, title):` per case;
inside, a case raises Finding (FAIL), Inconclusive, Inapplicable or Skipped, or ends (PASS).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Optional, Sequence

from .. import tracefile, vending
from . import profile as P
from .checks import (
    FAIL,
    INCONCLUSIVE,
    Finding,
    Inapplicable,
    Inconclusive,
    Skipped,
    TokenTimeout,
    check_data,
    check_format,
    check_id_response,
    check_value,
    escape,
    figure,
    judge,
)

if TYPE_CHECKING:
    import random

    from .runner import Run  # runner imports this module

UNKNOWN_REGISTER = 0x7FFF  # no table of the profile assigns it (Table 15: 0000-0006, 6.9: 8000-80FF)
OTHER_ADDRESS = "VTC07CONFORMANCEKIT0"  # an IDRequest address no real meter has
LATE_GRACE_MS = 2000  # the kit waits this long past tr max for an answer, to time a late one
SILENCE_MARGIN_MS = 300  # "silence": nothing within tr max (or the recovery wait) + this
TURNAROUND_S = P.TR_MIN / 1000  # the kit waits tr min after an answer before it sends
SESSION_KEPT_S = 10  # the default run's session case: this much silence must not end a session


def random_class0_token(rng: random.Random) -> int:
    """A random meter-specific (class 0) token: its CRC fails under the meter's key (but
    for a 1 in 65536 chance, and then it is still refused by its other checks)."""
    return rng.getrandbits(P.TOKEN_BITS) & ~(3 << P.TOKEN_CLASS_SHIFT)


def bad_class1_token() -> int:
    """A class 1 test token with its CRC's lowest bit flipped: processed even while
    locked, and refused (13) without acting on any test it names."""
    return vending.class1_token(0, 0, 0) ^ 1


class Kit:
    """The profile's messages over the Line, and what the cases measured on it."""

    url: str  # set by the command that opened the port
    identity: dict[str, str]  # set by the setup (runner.identity)

    def __init__(
        self,
        line: Any,
        baud: int,
        address: str = "",
        soft: bool = True,
        token_time_s: float = 60.0,
        clock: Any = None,
    ) -> None:
        self.line = line
        self.clock = line.clock
        self.baud = baud
        self.address = address
        self.soft = soft
        self.token_time_s = token_time_s
        self.answer_s = (P.TR_MAX + LATE_GRACE_MS) / 1000
        self.silence_s = (max(P.TR_MAX, P.RECOVERY_WAIT) + SILENCE_MARGIN_MS) / 1000
        self.nak_s = (P.RECOVERY_WAIT + P.TR_MAX + LATE_GRACE_MS) / 1000
        self.recovery: list[tuple[Any, str]] = []  # (Answer, what): NAKs after a damaged message
        self.execution: list[float] = []  # ms from a token's write to its final TokenStatus
        self.statuses: list[int] = []  # every final tokenStatus seen
        self.not_ready_seen = 0
        self.busy_answer: Optional[str] = None
        self.ident: Optional[str] = None
        self.in_session = False
        self.notes: list[str] = []
        self.progress: Callable[[str], None] = lambda text: None  # a line for the terminal during long waits

    # --- the line ------------------------------------------------------------------------

    def send(self, chars: Sequence[int], what: str, wants: str = "answer") -> Any:
        return self.line.send(chars, what, wants)

    def answer(self, wait_s: Optional[float] = None) -> Any:
        """The answer to the last request (None: nothing within wait_s); then the kit
        waits tr min, as a client does, taking anything else that comes."""
        got = self.line.receive(self.answer_s if wait_s is None else wait_s)
        if got is not None:
            self.line.collect(TURNAROUND_S)
        return got

    def ask(
        self, chars: Sequence[int], what: str, wants: str = "answer", wait_s: Optional[float] = None
    ) -> Optional[list[int]]:
        """Send a request; its answer's characters (None: none)."""
        self.send(chars, what, wants)
        got = self.answer(wait_s)
        return got.chars if got is not None else None

    def silence(self, what: str, wait_s: Optional[float] = None) -> None:
        got = self.line.receive(self.silence_s if wait_s is None else wait_s)
        if got is not None:
            lo, hi = got.interval(self.line.char_s)
            self.line.collect(TURNAROUND_S)
            raise Finding(
                "%s: answered %s after %.0f ms, where the profile wants silence" % (what, escape(got.chars), hi * 1000)
            )

    def pause(self, seconds: float, why: str = "") -> None:
        """Line silence for `seconds`, anything the meter says taken and classified."""
        if why and seconds >= 5:
            self.progress("waiting %.0f s: %s" % (seconds, why))
        self.line.collect(seconds)

    def resync(self) -> None:
        """After a failed case: let whatever is still coming arrive, then Break and sign on."""
        self.in_session = False
        self.line.collect(self.silence_s)
        self.send(tracefile.command(b"B0"), "BreakCommand (the kit starts over)", "silence")
        self.line.collect(self.silence_s)

    # --- messages ------------------------------------------------------------------------

    def sign_on(self, address: Optional[str] = None, what: str = "IDRequest") -> str:
        address = self.address if address is None else address
        answer = self.ask(("/?%s!\r\n" % address).encode(), what)
        text = check_id_response(answer, what, self.baud)
        self.in_session = True
        return text

    def fresh(self) -> None:
        self.idle()
        self.sign_on()

    def session(self) -> None:
        if not self.in_session:
            self.fresh()

    def idle(self) -> None:
        self.send(tracefile.command(b"B0"), "BreakCommand", "silence")
        self.in_session = False
        self.line.collect(TURNAROUND_S)

    def read(self, rid: int, what: Optional[str] = None) -> str:
        what = what or "ReadCommand %04X" % rid
        return check_data(self.ask(tracefile.read_request(rid), what), rid, what)

    def write(self, rid: int, value: str, what: Optional[str] = None) -> Optional[str]:
        what = what or "WriteCommand %04X(%s)" % (rid, value)
        answer = self.ask(tracefile.write_request(rid, value), what)
        if answer == [P.ACK]:
            return None
        value = check_data(answer, rid, what)
        if not value.startswith("ERR"):
            raise Finding("%s: answered a Data message %s, not ACK or an error" % (what, escape(answer)))
        return value

    def expect_error(self, answer_value: Optional[str], code: int, what: str) -> None:
        if answer_value != "ERR%02d" % code:
            raise Finding("%s: answered %s, expected ERR%02d" % (what, answer_value or "ACK", code))

    def read_number(self, rid: int, name: str) -> int:
        value = self.read(rid, "ReadCommand %04X (%s)" % (rid, name))
        if not value.isdigit():
            raise Finding("%s reads %r, not decimal digits" % (name, value))
        return int(value)

    def token_status(self) -> int:
        return self.read_number(P.REG_TOKEN_STATUS, "TokenStatus")

    def lockout_left(self) -> int:
        return self.read_number(P.REG_LOCKOUT_REMAINING, "TokenLockoutTimeRemaining")

    def enter_token(self, number: int, what: str) -> tuple[Any, Optional[str]]:
        """Write BinaryTokenEntry: (final tokenStatus, None) or (None, "ERRnn")."""
        # the status is Any: an int whenever no "ERRnn" came, which mypy cannot follow
        digits = "%0*X" % (P.TOKEN_DIGITS_HEX, number)
        answer = self.write(P.REG_BINARY_TOKEN_ENTRY, digits, what)
        if answer is not None:
            return None, answer
        written = self.line.requests[-1].end_lo
        deadline = self.clock.now() + self.token_time_s
        while True:
            status = self.token_status()
            if status != P.TS_NOT_READY:
                self.execution.append((self.line.answers[-1].seen - written) * 1000)
                self.statuses.append(status)
                return status, None
            self.not_ready_seen += 1
            if self.busy_answer is None:  # once: a write while busy must get ERR06
                self.busy_answer = (
                    self.write(P.REG_BINARY_TOKEN_ENTRY, digits, "BinaryTokenEntry again while TokenStatus reads 16")
                    or "ACK"
                )
            if self.clock.now() > deadline:
                raise TokenTimeout(
                    "%s: TokenStatus still reads 16 (not ready) %.0f s after the write "
                    "(--token-time %g)" % (what, self.clock.now() - written, self.token_time_s)
                )
            self.progress("the meter is processing a token (%.0f s)" % (self.clock.now() - written))


# --- the cases ---------------------------------------------------------------------------


def clause_signon(kit: Kit, run: Run) -> None:
    with run("signon.any", "IDRequest without address -> IDResponse (section 3)") as case:
        kit.idle()
        case.finding = kit.sign_on(address="", what="IDRequest /?!")
    with run("signon.again", "IDRequest in Session -> IDResponse again"):
        kit.session()
        first = kit.sign_on(address="", what="second IDRequest")
        if kit.ident and first != kit.ident:
            raise Finding("the second IDResponse %r differs from the first %r" % (first, kit.ident))
    with run("signon.address", "IDRequest with the meter's address -> IDResponse"):
        if not run.address_given:
            raise Skipped("give --address to check the meter's own address")
        kit.idle()
        what = "IDRequest /?%s!" % run.address_given
        answer = kit.ask(("/?%s!\r\n" % run.address_given).encode(), what)
        if answer is None:
            raise Finding(
                "%s: no IDResponse; the meter answers /?! (its address is not %s)" % (what, run.address_given)
            )
        check_id_response(answer, what, kit.baud)
        kit.in_session = True
    with run("signon.other", "IDRequest for another meter in Idle -> silence"):
        kit.idle()
        other = OTHER_ADDRESS if kit.address != OTHER_ADDRESS else OTHER_ADDRESS[:-1]
        kit.send(("/?%s!\r\n" % other).encode(), "IDRequest /?%s!" % other, "silence")
        kit.silence("IDRequest /?%s!" % other)


def clause_session_kept(kit: Kit, run: Run) -> None:
    with run("session.kept", "%d s of silence in Session does not end it (timeout 120 s)" % SESSION_KEPT_S):
        kit.fresh()
        kit.pause(SESSION_KEPT_S, "the session must survive this")
        what = "ReadCommand 0000 after %d s of silence" % SESSION_KEPT_S
        answer = kit.ask(tracefile.read_request(P.REG_PROTOCOL_VERSION), what)
        if answer is None:
            raise Finding("%s: no answer: the meter ended the session sooner than 120 s" % what)
        check_data(answer, P.REG_PROTOCOL_VERSION, what)


def clause_read(kit: Kit, run: Run) -> None:
    for rid, name, fmt, width in P.PREDEFINED:
        with run("read.%04X" % rid, "%04X %s: %s%s%s" % (rid, name, fmt, "1.." if fmt == "A" else "", width)) as case:
            kit.session()
            what = "ReadCommand %04X (%s)" % (rid, name)
            value = kit.read(rid, what)
            if value.startswith("ERR"):
                raise Finding("%s: answered %s" % (what, value))
            wrong = check_format(value, fmt, width) or check_value(rid, value)
            if wrong:
                raise Finding("%s: value %r: %s" % (what, value, wrong))
            case.finding = value


def clause_errors(kit: Kit, run: Run) -> None:
    token = P.REG_BINARY_TOKEN_ENTRY
    # (id, title, "R"ead or "W"rite, register, value written (Any: None for a read), ERRnn)
    cases: tuple[tuple[str, str, str, int, Any, int], ...] = (
        ("errors.01-read", "ReadCommand of an unknown register -> ERR01", "R", UNKNOWN_REGISTER, None, 1),
        ("errors.01-write", "WriteCommand of an unknown register -> ERR01", "W", UNKNOWN_REGISTER, "0", 1),
        (
            "errors.02",
            "WriteCommand of ProtocolVersion (read-only) -> ERR02",
            "W",
            P.REG_PROTOCOL_VERSION,
            "%02X" % P.PROTOCOL_VERSION,
            2,
        ),
        ("errors.03", "ReadCommand of BinaryTokenEntry (write-only) -> ERR03", "R", token, None, 3),
        ("errors.04-length", "BinaryTokenEntry of 3 digits -> ERR04", "W", token, "123", 4),
        ("errors.04-chars", "BinaryTokenEntry with a non-hex digit -> ERR04", "W", token, "0" * 16 + "G", 4),
        (
            "errors.05",
            "BinaryTokenEntry with the top 2 of 68 bits set -> ERR05",
            "W",
            token,
            "C" + "0" * (P.TOKEN_DIGITS_HEX - 1),
            5,
        ),
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


def _after_nak(kit: Kit) -> None:
    value = kit.read(P.REG_PROTOCOL_VERSION, "ReadCommand 0000 after the NAK (Session must stay)")
    if value.startswith("ERR"):
        raise Finding("ReadCommand 0000 after the NAK answered %s" % value)


def _recovery_nak(kit: Kit, what: str) -> str:
    """The NAK after a damaged message: its time judged against the recovery wait."""
    got = kit.answer(kit.nak_s)
    if got is None:
        raise Finding("%s: no NAK within %.1f s" % (what, kit.nak_s))
    if got.chars != [P.NAK]:
        raise Finding("%s: answered %s, expected NAK" % (what, escape(got.chars)))
    kit.recovery.append((got, what))
    lo, hi = [x * 1000 for x in got.interval(kit.line.char_s)]
    verdict = judge(lo, hi, least=P.RECOVERY_WAIT, most=P.RECOVERY_WAIT + P.TR_MAX)
    if verdict == FAIL:
        raise Finding(
            "%s: NAK after %s, outside %d..%d ms (the %d ms recovery wait of line silence, "
            "then within tr)" % (what, figure(lo, hi), P.RECOVERY_WAIT, P.RECOVERY_WAIT + P.TR_MAX, P.RECOVERY_WAIT)
        )
    _after_nak(kit)
    if verdict == INCONCLUSIVE:
        raise Inconclusive(
            "%s: NAK after %s: the host's uncertainty straddles the %d ms recovery wait"
            % (what, figure(lo, hi), P.RECOVERY_WAIT)
        )
    return "NAK after %s" % figure(lo, hi)


def damage_parity(kit: Kit, chars: Sequence[int], index: int) -> list[int]:
    """`chars` with a parity error in character `index`, as the line will carry it."""
    out = list(chars)
    c = out[index]
    if kit.soft:
        out[index] = (tracefile.to_line([c])[0] ^ 0x80) | tracefile.RAW
    else:  # a 7-bit line (a 7E1 UART's view): a set 8th bit is what a parity error looks like
        out[index] = c | 0x80 | tracefile.RAW
    return out


def send_parity_error(kit: Kit, chars: Sequence[int], index: int, what: str) -> Any:
    """Send `chars` with one character of wrong parity. A 7E1 serial port cannot make
    one: it is switched to odd parity for that character."""
    port = kit.line.port
    if kit.soft or not hasattr(port, "parity"):
        return kit.send(damage_parity(kit, chars, index), what, "nak")
    import serial

    kit.line.send(chars[:index], what + " (part)", "nak")
    port.parity = serial.PARITY_ODD
    kit.line.send(chars[index : index + 1], what + " (the bad character)", "nak")
    port.parity = serial.PARITY_EVEN
    return kit.line.send(chars[index + 1 :], what, "nak")


def clause_nak(kit: Kit, run: Run) -> None:
    request = list(tracefile.read_request(P.REG_PROTOCOL_VERSION))
    with run("nak.syntax", "undefined command letter -> NAK within tr, Session stays") as case:
        kit.session()
        what = "command Q1 (undefined)"
        answer = kit.ask(tracefile.command(b"Q1\x020000()"), what, wait_s=kit.nak_s)
        if answer != [P.NAK]:
            raise Finding("%s: answered %s, expected NAK" % (what, escape(answer)))
        _after_nak(kit)
    with run("nak.bcc", "wrong BCC -> NAK after the recovery wait, Session stays") as case:
        kit.session()
        what = "ReadCommand 0000 with a wrong BCC"
        kit.send(request[:-1] + [request[-1] ^ 0x01], what, "nak")
        case.finding = _recovery_nak(kit, what)
    with run("nak.parity", "parity error -> NAK after the recovery wait, Session stays") as case:
        kit.session()
        what = "ReadCommand 0000 with a parity error"
        send_parity_error(kit, request, 5, what)
        case.finding = _recovery_nak(kit, what)


def clause_repeat(kit: Kit, run: Run) -> None:
    with run("repeat.nak", "client NAK -> the last response again, at most %d times" % P.REPEATS_MAX):
        kit.session()
        what = "ReadCommand 0000"
        first = kit.ask(tracefile.read_request(P.REG_PROTOCOL_VERSION), what)
        check_data(first, P.REG_PROTOCOL_VERSION, what)
        for n in range(1, P.REPEATS_MAX + 1):
            again = kit.ask(bytes([P.NAK]), "NAK %d" % n)
            if again != first:
                raise Finding("NAK %d: answered %s, expected the repeat %s" % (n, escape(again), escape(first)))
        what = "NAK %d (one more than the %d repeats)" % (P.REPEATS_MAX + 1, P.REPEATS_MAX)
        kit.send(bytes([P.NAK]), what, "silence")
        kit.silence(what)
        kit.in_session = False
    with run("repeat.idle", "3 NAKs in a row from the meter -> Idle"):
        kit.session()
        for n in range(1, P.NAKS_TO_IDLE + 1):
            what = "undefined command %d" % n
            answer = kit.ask(tracefile.command(b"Q1\x020000()"), what, wait_s=kit.nak_s)
            if answer != [P.NAK]:
                raise Finding("%s: answered %s, expected NAK" % (what, escape(answer)))
        kit.in_session = False
        what = "ReadCommand 0000 after the meter's 3rd NAK (it should be Idle)"
        kit.send(tracefile.read_request(P.REG_PROTOCOL_VERSION), what, "silence")
        kit.silence(what)


def clause_break(kit: Kit, run: Run) -> None:
    with run("break.idle", "BreakCommand -> no answer, Idle: a ReadCommand gets silence"):
        kit.session()
        kit.send(tracefile.command(b"B0"), "BreakCommand", "silence")
        kit.in_session = False
        kit.silence("BreakCommand")
        what = "ReadCommand 0000 after Break"
        kit.send(tracefile.read_request(P.REG_PROTOCOL_VERSION), what, "silence")
        kit.silence(what)


def clause_ta(kit: Kit, run: Run) -> None:
    request = list(tracefile.read_request(P.REG_PROTOCOL_VERSION))
    gap_in = (P.TA - 500) / 1000
    gap_out = (P.TA + 500) / 1000
    with run("ta.inside", "a %.1f s gap inside a message (under ta) -> answered" % gap_in) as case:
        kit.session()
        what = "ReadCommand 0000 sent with a %.1f s gap" % gap_in
        _, gaps = kit.line.write_parts([(0, request[:6]), (gap_in, request[6:])], what)
        lo, hi = [g * 1000 for g in gaps[0]]
        got = kit.answer()
        if got is None or got.chars == [P.NAK]:
            kit.line.requests[-1].wants = "case"  # its answer is this case's finding, not tr's
            said = "no answer" if got is None else "NAK"
            if hi >= P.TA:  # the gap may have been ta or more: dropping it was right
                raise Inconclusive(
                    "%s: %s, but the gap as the line saw it was %s, not surely under ta" % (what, said, figure(lo, hi))
                )
            raise Finding(
                "%s (the gap %s, under ta %d ms): %s, the meter dropped the message"
                % (what, figure(lo, hi), P.TA, said)
            )
        check_data(got.chars, P.REG_PROTOCOL_VERSION, what)
        case.finding = "gap %s" % figure(lo, hi)
    with run("ta.over", "a %.1f s gap (over ta) drops the partial message silently" % gap_out) as case:
        kit.session()
        what = "first half of ReadCommand 0000, then %.1f s of silence" % gap_out
        kit.send(request[:6], what, "silence")
        kit.silence(what, gap_out)
        gap_lo = kit.clock.now() - kit.line.requests[-1].end_hi
        what = "a whole ReadCommand 0000 after the dropped half"
        answer = kit.ask(request, what)
        if answer is None or answer == [P.NAK]:
            kit.line.requests[-1].wants = "case"
            raise Finding("%s: %s (the half was not dropped after ta?)" % (what, "NAK" if answer else "no answer"))
        check_data(answer, P.REG_PROTOCOL_VERSION, what)
        case.finding = "gap at least %.0f ms" % (gap_lo * 1000)


def clause_session(kit: Kit, run: Run, slow: bool) -> None:
    with run("session.timeout", "no message for %d s -> Idle, but not sooner" % (P.SESSION_TIMEOUT // 1000)):
        if not slow:
            raise Skipped("takes 4 minutes: give --slow")
        kit.fresh()
        early = (P.SESSION_TIMEOUT - 5000) / 1000
        kit.pause(early, "a session must outlast %.0f s of silence" % early)
        what = "ReadCommand 0000 after %.0f s of silence" % early
        answer = kit.ask(tracefile.read_request(P.REG_PROTOCOL_VERSION), what)
        if answer is None:
            raise Finding("%s: no answer: the session ended sooner than 120 s" % what)
        check_data(answer, P.REG_PROTOCOL_VERSION, what)
        late = (P.SESSION_TIMEOUT + 2000) / 1000
        kit.pause(late, "a session must end after 120 s of silence")
        kit.in_session = False
        what = "ReadCommand 0000 after %.0f s of silence" % late
        kit.send(tracefile.read_request(P.REG_PROTOCOL_VERSION), what, "silence")
        kit.silence(what)


def clause_execution(kit: Kit, run: Run, token: Optional[int]) -> None:
    with run("execution.accepted", "a token the operator gives (--token) is accepted") as case:
        if token is None:
            raise Skipped("needs a token the meter accepts: give --token DIGITS")
        kit.session()
        what = "BinaryTokenEntry of the --token"
        status, refused = kit.enter_token(token, what)
        if refused:
            raise Finding("%s: answered %s" % (what, refused))
        if status not in P.ACCEPTED:
            raise Finding("the --token was refused: tokenStatus %d %s" % (status, P.TOKEN_STATUS_NAMES.get(status, "")))
        case.finding = "tokenStatus %d after %.0f ms" % (status, kit.execution[-1])


def clause_execution_summary(kit: Kit, run: Run, tokens: bool) -> None:
    with run("execution.timing", "time from BinaryTokenEntry to its final TokenStatus (within --token-time)") as case:
        if not tokens:
            raise Skipped("no token entered (--no-tokens)")
        if not kit.execution:
            raise Inconclusive("no token reached a final status (see the cases above)")
        case.finding = "n=%d min %.0f max %.0f ms" % (len(kit.execution), min(kit.execution), max(kit.execution))
    with run("execution.not-ready", "TokenStatus 16 (not ready) while a token is processed, writes get ERR06") as case:
        if not tokens:
            raise Skipped("no token entered (--no-tokens)")
        if not kit.not_ready_seen:
            raise Inapplicable("not observable: every token was done before the first TokenStatus read")
        if kit.busy_answer != "ERR%02d" % P.ERR_BUSY:
            raise Finding(
                "a BinaryTokenEntry while TokenStatus read 16 answered %s, expected ERR%02d (busy)"
                % (kit.busy_answer, P.ERR_BUSY)
            )
        case.finding = "16 read %d times; a write meanwhile got ERR%02d" % (kit.not_ready_seen, P.ERR_BUSY)


def clause_lockout(kit: Kit, run: Run, leave_locked: bool, rng: random.Random, wait_max_s: float) -> None:
    """Three rejected tokens, then the lock's answers; each case needs the one before."""
    state: dict[str, Any] = {}

    def need(key: str) -> Any:
        if key not in state:
            if "inapplicable" in state:  # no lock on this meter: nothing for the case to test
                raise Inapplicable("needs the lock, which this meter does not have (lockout.locks)")
            raise Inconclusive("needs the lock, which lockout.locks did not reach")
        return state[key]

    with run("lockout.locks", "%d rejected meter-specific tokens lock token entry" % P.LOCKOUT_AFTER) as case:
        kit.session()
        left = kit.lockout_left()
        if left:
            if left > wait_max_s or leave_locked:
                raise Inconclusive("the meter is already locked for %d s; run again when it is not" % left)
            kit.pause(left + 1, "the meter was locked before the kit started")
            kit.fresh()
        rejected = 0
        statuses = []
        for n in range(1, P.LOCKOUT_AFTER + 1):
            what = "rejected token %d (random class 0)" % n
            status, refused = kit.enter_token(random_class0_token(rng), what)
            if refused == "ERR%02d" % P.ERR_LOCKED:  # locked by an earlier count of the meter's
                state["after"] = rejected
                break
            if refused:
                raise Finding("%s: answered %s, expected ACK" % (what, refused))
            if status in P.ACCEPTED:
                raise Finding("%s: a random token was accepted (tokenStatus %d)" % (what, status))
            statuses.append(status)
            rejected += 1
            if kit.lockout_left():
                state["after"] = rejected
                break
        if "after" not in state:
            if statuses and all(s == P.TS_FUNCTION for s in statuses):
                state["inapplicable"] = True
                raise Inapplicable(
                    "the meter refuses every token with 8 (Function): it processes no "
                    "meter-specific token, so there is no lockout to test"
                )
            raise Finding(
                "%d rejected tokens (tokenStatus %s) did not lock: TokenLockoutTimeRemaining "
                "reads 00000" % (rejected, ", ".join(str(s) for s in statuses))
            )
        kit.notes.append(
            "TokenLockout was triggered (rejected tokens entered: %d). The meter now counts at "
            "least %d rejections in a row until it accepts a meter-specific token: its next "
            "rejection locks it again, for longer." % (rejected, P.LOCKOUT_AFTER)
        )
        if state["after"] < P.LOCKOUT_AFTER:
            raise Inconclusive(
                "locked after %d rejections: the meter had earlier rejections counted (a "
                "previous run?); an accepted token (--token) clears the count" % state["after"]
            )
        case.finding = "locked after %d rejections" % state["after"]
    with run(
        "lockout.remaining", "TokenLockoutTimeRemaining counts the lock (first lock %d s)" % P.LOCKOUT_FIRST_S
    ) as case:
        need("after")
        left = kit.lockout_left()
        state["left"] = left
        state["since"] = kit.clock.now()
        if state["after"] == P.LOCKOUT_AFTER and not P.LOCKOUT_FIRST_S - 3 <= left <= P.LOCKOUT_FIRST_S:
            raise Finding(
                "TokenLockoutTimeRemaining reads %d s just after the first lock, expected %d s"
                % (left, P.LOCKOUT_FIRST_S)
            )
        if not 0 < left <= P.LOCKOUT_MAX_S:
            raise Finding("TokenLockoutTimeRemaining reads %d s while locked" % left)
        case.finding = "%d s" % left
    with run("lockout.server-status", "ServerStatus bit 1 (token lockout active) is set"):
        need("after")
        value = kit.read(P.REG_SERVER_STATUS)
        if check_format(value, "B", 8) or not int(value, 2) & P.STATUS_LOCKOUT:
            raise Finding("ServerStatus reads %s while locked: bit 1 not set" % value)
    with run("lockout.err07", "a meter-specific token while locked -> ERR07"):
        need("after")
        what = "BinaryTokenEntry while locked"
        status, refused = kit.enter_token(random_class0_token(rng), what)
        if refused != "ERR%02d" % P.ERR_LOCKED:
            raise Finding("%s: answered %s, expected ERR07" % (what, refused or "ACK (tokenStatus %d)" % status))
    with run("lockout.status15", "TokenStatus reads 15 after the ERR07"):
        need("after")
        status = kit.token_status()
        if status != P.TS_LOCKED:
            raise Finding("TokenStatus reads %d after ERR07, expected %d" % (status, P.TS_LOCKED))
    with run("lockout.class1", "a class 1 (test) token is still processed while locked") as case:
        need("after")
        what = "class 1 test token with a wrong CRC, while locked"
        status, refused = kit.enter_token(bad_class1_token(), what)
        if refused:
            raise Finding("%s: answered %s; class 1 tokens are processed while locked" % (what, refused))
        if status in (P.TS_LOCKED,) + P.ACCEPTED:
            raise Finding("%s: tokenStatus %d, expected a rejection such as 13 (CRC)" % (what, status))
        case.finding = "tokenStatus %d" % status
    with run("lockout.expires", "the lock runs out: TokenLockoutTimeRemaining 00000, bit 1 clear"):
        left = need("left") - (kit.clock.now() - state["since"])
        if leave_locked:
            kit.notes.append("The meter was left locked for about %.0f s more (--leave-locked)." % max(left, 0))
            raise Skipped("--leave-locked: the meter stays locked for about %.0f s" % max(left, 0))
        if left > wait_max_s:
            kit.notes.append("The meter was left locked for about %.0f s more." % left)
            raise Skipped("locked for %.0f s more; the kit waits at most %d s (--lockout-wait)" % (left, wait_max_s))
        kit.pause(max(left, 0) + 1, "the lock must run out")
        kit.in_session = False
        kit.session()
        remaining = kit.read(P.REG_LOCKOUT_REMAINING)
        status = kit.read(P.REG_SERVER_STATUS)
        if remaining != "00000":
            raise Finding("TokenLockoutTimeRemaining reads %s after the lock ran out" % remaining)
        if check_format(status, "B", 8) or int(status, 2) & P.STATUS_LOCKOUT:
            raise Finding("ServerStatus reads %s after the lock ran out: bit 1 still set" % status)


def tr_figures(kit: Kit) -> list[tuple[float, float, Any]]:
    """Every answer the tr applies to: (lo ms, hi ms, Answer)."""
    out: list[tuple[float, float, Any]] = []
    for a in kit.line.answers:
        if a.request is None or a.request.wants != "answer" or a.kind not in ("answer", "late"):
            continue
        lo, hi = a.interval(kit.line.char_s)
        out.append((lo * 1000, hi * 1000, a))
    return out


def clause_tr(kit: Kit, run: Run) -> None:
    with run(
        "tr.every-answer", "%d ms <= tr <= %d ms on every answer, late ones included" % (P.TR_MIN, P.TR_MAX)
    ) as case:
        figures = tr_figures(kit)
        if not figures:
            raise Inconclusive("no answer was timed")
        verdicts = [(judge(lo, hi, P.TR_MIN, P.TR_MAX), lo, hi, a) for lo, hi, a in figures]
        wrong = [v for v in verdicts if v[0] == FAIL]
        unsure = [v for v in verdicts if v[0] == INCONCLUSIVE]
        his = [hi for _, hi, _ in figures]
        summary = "n=%d min %.1f max %.1f ms, uncertainty max %.1f ms" % (
            len(figures),
            min(his),
            max(his),
            max(hi - lo for lo, hi, _ in figures),
        )
        if wrong:
            _, lo, hi, a = wrong[0]
            raise Finding(
                "%d of %d answers outside %d..%d ms, first: %s answered after %s%s (%s)"
                % (
                    len(wrong),
                    len(figures),
                    P.TR_MIN,
                    P.TR_MAX,
                    a.request.what,
                    figure(lo, hi),
                    " (after the kit stopped waiting)" if a.kind == "late" else "",
                    summary,
                )
            )
        if unsure:
            _, lo, hi, a = unsure[0]
            raise Inconclusive(
                "%d of %d answers too close to a limit for the host's uncertainty, first: %s "
                "after %s (%s)" % (len(unsure), len(figures), a.request.what, figure(lo, hi), summary)
            )
        case.finding = summary


def clause_answers(kit: Kit, run: Run) -> None:
    """Every answer as a message, and only the answers asked for (section 3-4)."""
    for kind, cid, title in (
        ("form", "answers.form", "every answer is a whole message: parity, BCC, STX..ETX"),
        ("register", "answers.register", "every Data message is for the register asked"),
        ("missing", "answers.missing", "every request the meter must answer is answered"),
    ):
        with run(cid, title):
            faults = run.line_faults.get(kind)
            if faults:
                raise Finding("%d time(s), first in %s: %s" % (len(faults), faults[0][0], faults[0][1]))
    with run("answers.extra", "no duplicate, late or unrequested answer") as case:
        extra = [a for a in kit.line.answers if a.kind in ("duplicate", "unrequested")]
        if extra:
            a = extra[0]
            after = (
                "after %s, %.0f ms after its end" % (a.request.what, (a.seen - a.request.end_lo) * 1000)
                if a.request
                else "before any request"
            )
            raise Finding("%d extra answer(s), first a %s answer %s %s" % (len(extra), a.kind, escape(a.chars), after))
        late = [a for a in kit.line.answers if a.kind == "late"]
        if late:
            case.finding = "%d late answer(s): see tr.every-answer" % len(late)
