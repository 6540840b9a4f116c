"""The core's side of issue 10: the longest value fits the receive buffer, and a replaced
line (a new HHU) inherits nothing of the old conversation."""

import meter
import pytest
import server
from simline import SimLine
from storage import MemoryStore
from tables import RECOVERY_WAIT, RX_MAX, TR_MIN, VALUE_MAX

from vtc07 import tracefile


def line(**config):
    sim = SimLine(meter.build(config, MemoryStore(), 0))
    assert sim.sign_on() is not None
    return sim


def write_value(sim, length):
    """A WriteCommand to BinaryTokenEntry with `length` digits: (answer, ms it took)."""
    sent = sim.now
    answer = sim.command(b"W1\x020004(" + b"0" * length + b")")
    return answer, sim.now - sent


def test_the_longest_command_fits_the_receive_buffer():
    longest = tracefile.command(b"W1\x020004(" + b"0" * VALUE_MAX + b")")
    assert len(longest) - 1 == RX_MAX  # all but the BCC is kept


@pytest.mark.parametrize("length", [VALUE_MAX - 1, VALUE_MAX])
def test_a_value_up_to_value_max_is_handled(length):
    """31 and 32 characters: a data message after tr (17 digits are wanted: ERR04)."""
    sim = line()
    answer, ms = write_value(sim, length)
    assert bytes(answer[:-1]) == b"\x020004(ERR04)\x03" and ms == TR_MIN


def test_a_value_over_value_max_is_a_transmission_error():
    """33 characters overflow the buffer: NAK after the recovery wait; the session goes on."""
    sim = line()
    answer, ms = write_value(sim, VALUE_MAX + 1)
    assert answer == [0x15] and ms == RECOVERY_WAIT
    assert bytes(sim.command(b"R1\x020000()")[:-1]) == b"\x020000(01)\x03"


def test_a_replaced_line_drops_the_partial_message():
    sim = line()
    sim.exchange(tracefile.to_line(list(b"\x01R1\x020000(")))  # half a read, no answer
    sim.server.line_replaced()
    # the new HHU signs on at once (well inside ta): heard, answered after tr
    sent = sim.now
    assert bytes(sim.sign_on()) == b"/STS3MPY-VTC07\r\n" and sim.now - sent == TR_MIN


def test_a_replaced_line_leaves_the_session():
    sim = line()
    sim.server.line_replaced()
    assert sim.server.state == server.IDLE
    assert sim.command(b"R1\x020000()") is None  # Idle: a read without sign-on is not answered


def test_a_replaced_line_cancels_the_pending_response_and_the_recovery_wait():
    sim = line()
    sim.server.receive(tracefile.to_line(list(tracefile.command(b"R1\x020000()"))), sim.now)
    sim.server.line_replaced()
    assert sim.server.poll(sim.now + TR_MIN) is None and sim.server.next_event(sim.now) == -1
    sim = line()
    sim.server.receive(b"\x01R\x00", sim.now)  # a control character: transmission error
    sim.server.line_replaced()
    assert sim.server.poll(sim.now + RECOVERY_WAIT) is None and sim.server.next_event(sim.now) == -1
    # and nothing is left to repeat for a NAK from the new HHU
    assert sim.sign_on() is not None
    sim.server.line_replaced()
    assert sim.exchange(tracefile.to_line([0x15])) is None


def test_a_token_taken_before_the_line_was_replaced_still_completes():
    sim = line(app="stub", exec_ms="1000")
    answer = sim.command(b"W1\x020004(%017X)" % 12345)
    assert answer == [0x06] and sim.server.app.busy
    sim.server.line_replaced()
    sim.run_to(sim.now + 1000)
    assert not sim.server.app.busy and sim.server.app.token_status == 8
