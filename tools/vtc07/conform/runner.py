"""Running the clauses: setup checked first, each case's verdict with its reason, and one
fault, one finding.

A fault the kit meets in a case is reported once, in its clause:
- an answer that is no proper message, is for another register, or does not come where the
  meter must answer is a finding of the `answers` clause; the case that met it is
  INCONCLUSIVE "after the finding in answers.X";
- a token that outlasts --token-time is a finding of execution.timing;
- after a finding in a clause every other case relies on (signon, session, answers), a later
  failure in another clause is INCONCLUSIVE "after the finding in X": the meter may be in
  another state than the case assumed.
"""

from __future__ import annotations

import contextlib
import random
from typing import Any, Callable, Collection, Iterator, Optional, Sequence

from .. import tracefile
from . import clauses as C
from . import profile as P
from . import tokenlist
from .checks import (
    FAIL,
    INAPPLICABLE,
    INCONCLUSIVE,
    PASS,
    SKIP,
    Finding,
    Inapplicable,
    Inconclusive,
    LineFault,
    Skipped,
    TokenTimeout,
    check_id_response,
    escape,
    first_parity_error,
)
from .line import LineError

# (key, profile section, title), in the order they run; --only takes the keys
CLAUSES = (
    ("signon", "4", "Sign-on: IDRequest and IDResponse"),
    ("session", "4", "Session timeout: kept over silence; 120 s -> Idle (--slow)"),
    ("read", "6", "Predefined registers (Table 15): ReadCommand -> Data message"),
    ("errors", "3", "Error data messages ERR01-ERR05"),
    ("nak", "4-5", "NAK after a transmission or syntax error, and the recovery wait"),
    ("repeat", "4", "Repeats on the client's NAK; 3 NAKs in a row -> Idle"),
    ("break", "4", "BreakCommand -> Idle"),
    ("ta", "5", "ta: the gap inside a message"),
    ("tokens", "STS", "STS tokens through the port (--tokens): tokenStatus and register effects per vector"),
    ("execution", "5", "Token execution (6.7.3): ACK within tr, TokenStatus 16 while busy"),
    ("lockout", "8", "TokenLockout (6.6.7)"),
    ("answers", "3-4", "Every answer a whole message, for the register asked, and only those asked"),
    ("tr", "5", "tr measured on every answer"),
)
SECTIONS = {key: (section, title) for key, section, title in CLAUSES}
STATE_CLAUSES = ("signon", "session", "answers")  # every other case relies on these


class NoMeter(Exception):
    """Setup failed: exit status 3, nothing counted. The text says what to change."""


class Case:
    def __init__(self, clause: Optional[str], cid: str, title: str) -> None:
        self.clause = clause
        self.cid = cid
        self.title = title
        self.status = PASS
        self.finding = ""  # FAIL: what is wrong; otherwise why, or what was seen
        self.seconds = 0.0


class Run:
    def __init__(
        self, kit: C.Kit, only: Collection[str], progress: Callable[[Case], None], address_given: str = ""
    ) -> None:
        self.kit = kit
        self.only = only
        self.progress = progress
        self.address_given = address_given
        self.cases: list[Case] = []
        self.line_faults: dict[str, list[tuple[str, str]]] = {}  # kind -> [(case id, text)]
        self.token_faults: list[tuple[str, str]] = []  # (case id, text)
        self.state_finding: Optional[str] = None  # the first finding in a clause the others rely on
        self._clause: Optional[str] = None

    def clause(self, key: str) -> bool:
        self._clause = key
        return not self.only or key in self.only

    def _after(self, cid: str, text: str) -> str:
        return "after the finding in %s: %s" % (cid, text)

    @contextlib.contextmanager
    def __call__(self, cid: str, title: str) -> Iterator[Case]:
        case = Case(self._clause, cid, title)
        clock = self.kit.clock
        start = clock.now()
        settled = False  # the meter answered whole: no need to start over
        try:
            yield case
        except LineFault as e:
            if e.kind == "missing" and self.state_finding and not self.state_finding.startswith("answers."):
                # the meter may have left the session after that finding: not a lost answer
                case.status, case.finding = INCONCLUSIVE, self._after(self.state_finding, str(e))
            else:
                settled = e.kind in ("form", "register")
                self.line_faults.setdefault(e.kind, []).append((cid, str(e)))
                case.status, case.finding = INCONCLUSIVE, self._after("answers.%s" % e.kind, str(e))
                self.state_finding = self.state_finding or "answers.%s" % e.kind
        except TokenTimeout as e:
            self.token_faults.append((cid, str(e)))
            case.status, case.finding = INCONCLUSIVE, self._after("execution.timing", str(e))
        except Finding as e:
            if self.state_finding and self._clause not in self.state_finding.split(".")[0:1]:
                case.status, case.finding = INCONCLUSIVE, self._after(self.state_finding, str(e))
            else:
                case.status, case.finding = FAIL, str(e)
                if self._clause in STATE_CLAUSES and not self.state_finding:
                    self.state_finding = cid
        except Skipped as e:
            case.status, case.finding = SKIP, str(e)
        except Inconclusive as e:
            case.status, case.finding = INCONCLUSIVE, str(e)
        except Inapplicable as e:
            case.status, case.finding = INAPPLICABLE, str(e)
        except (ValueError, IndexError) as e:  # an answer the checks above did not foresee
            case.status, case.finding = INCONCLUSIVE, "an answer the kit cannot read: %s" % e
        case.seconds = clock.now() - start
        if case.status in (FAIL, INCONCLUSIVE) and not settled:
            self.kit.resync()
        self.cases.append(case)
        self.progress(case)


def contact(kit: C.Kit, address_given: str) -> str:
    """The first sign-on, part of the setup: is there a VTC07 meter at this speed and
    parity, and at this address? Its IDResponse, else NoMeter with what to change."""
    kit.send(tracefile.command(b"B0"), "BreakCommand", "silence")
    kit.line.collect(C.TURNAROUND_S)
    answer = None
    for address in [address_given, ""] if address_given else [""]:
        for _ in range(2):
            what = "IDRequest /?%s! (setup)" % address
            answer = kit.ask(("/?%s!\r\n" % address).encode(), what)
            if answer is None:
                break
            if first_parity_error(answer) < 0 and answer[:1] == [ord("/")] and answer[-2:] == [P.CR, P.LF]:
                try:
                    text = check_id_response(answer, what, kit.baud)
                except Finding as e:
                    speed = bytes(answer[4:5]).decode("ascii", "replace")
                    rates = {chr(c): r for r, c in P.BAUD_CHARS}
                    if speed in rates and rates[speed] != kit.baud:
                        raise NoMeter(
                            "the meter says it runs %d Bd (baud character %s), the kit runs %d Bd: "
                            "give --baud %d" % (rates[speed], speed, kit.baud, rates[speed])
                        )
                    raise NoMeter("the sign-on's answer is no IDResponse of the profile: %s" % e)
                kit.address = address
                kit.in_session = True
                if address != address_given:
                    kit.notes.append(
                        "The meter does not answer /?%s! but answers /?!: the run signs on "
                        "without an address (see signon.address)." % address_given
                    )
                return text
            kit.pause(kit.silence_s)  # garbled: let the line settle, try once more
        if answer is not None:
            break
    if answer is None:
        raise NoMeter(
            "no answer to the sign-on /?%s! within %.1f s: wrong port, speed (--baud), parity "
            "(--parity soft|uart) or address (--address), or not connected" % (address_given, kit.answer_s)
        )
    if first_parity_error(answer) >= 0:
        hint = "characters with wrong parity: give --parity %s, or the right --baud" % ("uart" if kit.soft else "soft")
    else:
        hint = "a damaged line, the wrong --baud, or not a VTC07 meter"
    raise NoMeter("the sign-on's answer is not an IDResponse: %s (%s)" % (escape(answer), hint))


def identity(kit: C.Kit) -> dict[str, str]:
    """What the meter says it is (for the evidence package): Table 15's identity registers."""
    found: dict[str, str] = {}
    for rid, name, _, _ in P.PREDEFINED[:4]:
        try:
            found[name] = kit.read(rid, "ReadCommand %04X (%s, setup)" % (rid, name))
        except (Finding, LineFault) as e:
            found[name] = "unread: %s" % e
    return found


def check_token(kit: C.Kit, token: int) -> int:
    """The operator's --token, entered during setup: accepted, or NoMeter. Its result is
    the case execution.accepted."""
    kit.session()
    what = "BinaryTokenEntry of the --token (setup)"
    try:
        status, refused = kit.enter_token(token, what)
    except TokenTimeout as e:
        raise NoMeter("%s; give a longer --token-time" % e)
    except (Finding, LineFault) as e:
        raise NoMeter("%s" % e)
    if refused:
        raise NoMeter(
            "the meter refused the --token with %s: give a token this meter accepts%s"
            % (refused, " after its lockout runs out" if refused == "ERR07" else "")
        )
    if status not in P.ACCEPTED:
        raise NoMeter(
            "the meter refused the --token: tokenStatus %d (%s): give a token this meter has "
            "not seen, for its key and meter number" % (status, P.TOKEN_STATUS_NAMES.get(status, "reserved"))
        )
    return status


def run_all(
    kit: C.Kit,
    only: Collection[str] = (),
    tokens: bool = True,
    token: Optional[int] = None,
    slow: bool = False,
    leave_locked: bool = False,
    progress: Callable[[Case], None] = lambda case: None,
    address_given: str = "",
    lockout_wait_s: float = 60,
    rng: Optional[random.Random] = None,
    token_lists: Sequence[tuple[str, Any, Any]] = (),
) -> list[Case]:
    """Setup (NoMeter before anything is counted), then every chosen clause."""
    run = Run(kit, only, progress, address_given)
    kit.ident = contact(kit, address_given)
    kit.identity = identity(kit)
    token_status: Any = None  # an int whenever a token was given
    if token is not None and (not only or "execution" in only or "lockout" in only):
        token_status = check_token(kit, token)
    rng = rng or random.Random()
    if run.clause("signon"):
        C.clause_signon(kit, run)
    if run.clause("session"):
        C.clause_session_kept(kit, run)
    for key, fn in (
        ("read", C.clause_read),
        ("errors", C.clause_errors),
        ("nak", C.clause_nak),
        ("repeat", C.clause_repeat),
        ("break", C.clause_break),
        ("ta", C.clause_ta),
    ):
        if run.clause(key):
            fn(kit, run)
    if run.clause("session"):
        C.clause_session(kit, run, slow)
    if token_lists and (run.clause("tokens") or "tokens" not in only):
        run.clause("tokens")
        for name, flags, items in token_lists:
            tokenlist.clause_tokens(kit, run, name, flags, items)
    if run.clause("execution"):
        with run("execution.accepted", "a token the operator gives (--token) is accepted") as case:
            if token is None:
                raise Skipped("needs a token the meter accepts: give --token DIGITS")
            case.finding = "tokenStatus %d after %.0f ms (entered during setup)" % (token_status, kit.execution[0])
    if run.clause("lockout"):
        if tokens:
            C.clause_lockout(kit, run, leave_locked, rng, lockout_wait_s)
        else:
            with run("lockout", "TokenLockout cases (enter rejected tokens, lock the meter)"):
                raise Skipped("--no-tokens")
    if run.clause("execution"):
        C.clause_execution_summary(kit, run, tokens or token is not None)
        if run.token_faults:
            timing = [c for c in run.cases if c.cid == "execution.timing"][0]
            timing.status = FAIL
            timing.finding = "%d token(s) outlasted --token-time %g s, first in %s: %s" % (
                len(run.token_faults),
                kit.token_time_s,
                run.token_faults[0][0],
                run.token_faults[0][1],
            )
    run.clause("answers")  # always: every answer the chosen clauses brought
    C.clause_answers(kit, run)
    run.clause("tr")
    C.clause_tr(kit, run)
    try:
        kit.idle()
    except LineError:
        pass
    return run.cases
