"""The line machine (Annex A): every row of firmware/server.py's transition table is walked
through the line, as an HHU would cause it, and every (state, event) without a row is
ignored; docs/architecture.md's diagram is the table's."""

import meter
import pytest
import server
import state_diagram
from simline import SimLine
from storage import MemoryStore
from tables import NAK, RECOVERY_WAIT, SESSION_TIMEOUT, TR_MIN

from vtc07 import tracefile

STATES = {server.IDLE: "IDLE", server.SESSION: "SESSION", server.RECOVERING: "RECOVERING"}
EVENTS = {getattr(server, n): n for n in dir(server) if n.startswith("E_")}
ACTIONS = {getattr(server, n): n for n in dir(server) if n.startswith("A_")}
SIGN_ON = b"/?!\r\n"
READ = tracefile.command(b"R1\x020000()")
WRITE = tracefile.command(b"W1\x020004(" + b"0" * 17 + b")")


def _rows():
    t = server.TRANSITIONS
    return [tuple(t[i : i + 4]) for i in range(0, len(t), 4)]


def _chars(data):
    return tracefile.to_line(list(data))


def in_state(state):
    """A line whose core is in `state`, its responses all out, the line quiet."""
    line = SimLine(meter.build({}, MemoryStore(), 0))
    if state != server.IDLE:
        assert line.sign_on() is not None
    if state == server.RECOVERING:
        line.server.receive(bytes([0x01]), line.now)  # SOH without its parity bit: an error
    assert line.server.state == state
    return line


def cause(line, event):
    """Make `event` happen on the line; returns what the core sent for it (bytes or None)."""
    s = line.server
    if event == server.E_SIGN_ON:
        return line.exchange(_chars(SIGN_ON))
    if event == server.E_SIGN_ON_OTHER:
        return line.exchange(_chars(b"/?99!\r\n"))
    if event == server.E_READ:
        return line.exchange(_chars(READ))
    if event == server.E_WRITE:
        return line.exchange(_chars(WRITE))
    if event == server.E_BREAK:
        return line.exchange(_chars(tracefile.command(b"B0")))
    if event == server.E_BAD:
        return line.exchange(_chars(tracefile.command(b"X1\x020000()")))
    if event == server.E_NAK:
        return line.exchange(_chars([NAK]))
    if event == server.E_ACK:
        return line.exchange(_chars([0x06]))
    if event == server.E_ERROR:
        s.receive(bytes([0x01]), line.now)  # SOH without its parity bit
        return None
    if event == server.E_QUIET:
        line.run_to(line.now + RECOVERY_WAIT - 1)
        assert s.state == server.RECOVERING
        return bytes(s.poll(line.now + 1) or b"") or None
    if event == server.E_THIRD_NAK:
        bad = _chars(tracefile.command(b"X1\x020000()"))
        line.exchange(bad)
        line.exchange(bad)
        return line.exchange(bad)
    if event == server.E_TIMEOUT:
        end = line.now + SESSION_TIMEOUT
        while s.state == server.RECOVERING and line.now < end:  # a noisy line: never quiet
            s.receive(bytes([0x01]), line.now)
            line.run_to(line.now + RECOVERY_WAIT - 1)
        line.run_to(end)
        return None
    if event == server.E_REPLACED:
        s.line_replaced()
        return line.exchange(b"")
    raise AssertionError(event)


def check_action(action, sent, before):
    """What each action shows on the line."""
    if action == server.A_IDENT:
        assert sent == _chars(b"/STS3MPY-VTC07\r\n")
    elif action == server.A_READ:
        assert sent[:-1] == _chars(b"\x020000(01)\x03")  # ProtocolVersion's data message
    elif action == server.A_WRITE:
        assert sent == _chars([0x06])  # the token is taken for processing
    elif action == server.A_NAK:
        assert sent == _chars([NAK])
    elif action == server.A_REPEAT:
        assert sent == before  # the last response again
    else:  # A_NONE, A_FORGET: no answer
        assert sent is None


@pytest.mark.parametrize("row", _rows(), ids=lambda r: "%s-%s" % (STATES[r[0]], EVENTS[r[1]]))
def test_every_row(row):
    state, event, nxt, action = row
    line = in_state(state)
    before = line.exchange(_chars(SIGN_ON)) if event == server.E_NAK else None  # a response to repeat
    if event == server.E_THIRD_NAK:
        action = server.A_NAK  # the third NAK's row is (Session, bad); it still goes out
    sent = cause(line, event)
    assert line.server.state == nxt
    check_action(action, sent, before)


def test_forget_drops_a_response_not_yet_sent():
    """Break, timeout and a replaced line forget the conversation: a response waiting for
    tr is not sent, and a NAK then has nothing to repeat."""
    line = in_state(server.SESSION)
    line.server.receive(_chars(READ), line.now)
    line.server.line_replaced()
    assert line.exchange(b"") is None
    assert line.sign_on() is not None and line.exchange(_chars([NAK])) is not None


MESSAGES = (
    server.E_SIGN_ON,
    server.E_SIGN_ON_OTHER,
    server.E_READ,
    server.E_WRITE,
    server.E_BREAK,
    server.E_BAD,
    server.E_NAK,
    server.E_ACK,
    server.E_ERROR,
)


@pytest.mark.parametrize(
    "event", [e for e in MESSAGES if (server.IDLE, e) not in {r[:2] for r in _rows()}], ids=EVENTS.get
)
def test_idle_ignores_what_has_no_row(event):
    """Idle answers only a sign-on for this meter (a 62056-21 server is silent until then)."""
    line = in_state(server.IDLE)
    assert cause(line, event) is None and line.server.state == server.IDLE


def test_recovering_discards_a_request_and_waits_for_quiet():
    """A request inside the recovery wait is not heard; the NAK comes `recovery` ms after
    its last character."""
    line = in_state(server.RECOVERING)
    sent = line.now + 1000
    assert line.exchange(_chars(READ), 1000) == _chars([NAK])
    assert line.now - sent == RECOVERY_WAIT and line.server.state == server.SESSION


def test_the_response_waits_tr():
    line = in_state(server.SESSION)
    sent = line.now
    assert line.exchange(_chars(READ)) is not None and line.now - sent == TR_MIN


def test_the_docs_diagram_is_the_tables():
    with open(state_diagram.DOC) as f:
        doc = f.read()
    assert state_diagram.current(doc) == doc, "run python3 tools/harness/build/state_diagram.py --write"
