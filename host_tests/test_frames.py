import frames
from frames import EV_ACK, EV_COMMAND, EV_ERROR, EV_ID, EV_NAK, EV_NONE, EV_SYNTAX, Receiver
from hypothesis import given
from hypothesis import strategies as st
from iec62056_21 import utils as ref
from tables import RX_MAX

from vtc07.tracefile import command


def test_parity_is_even_over_8_bits():
    for c in range(128):
        b = frames.with_parity(c)
        assert bin(b).count("1") % 2 == 0 and b & 0x7F == c
        assert frames.parity_ok(b)
        assert not frames.parity_ok(b ^ 0x80)


def test_the_even_parity_table_is_every_8_bit_character_with_an_even_count_of_ones():
    even = {b for b in range(256) if frames.EVEN[b >> 3] >> (b & 7) & 1}
    assert even == {b for b in range(256) if bin(b).count("1") % 2 == 0}


@given(st.binary(min_size=1, max_size=60))
def test_bcc_matches_iec62056_21_package(body):
    assert bytes([frames.bcc(body, 0, len(body))]) == ref.calculate_bcc(body)


def feed(text):
    rx = Receiver()
    events = [rx.feed(c) for c in text]
    return rx, events


def test_id_request_with_and_without_address():
    rx, ev = feed(b"/?!\r\n")
    assert ev[-1] == EV_ID and ev[:-1] == [EV_NONE] * 4
    rx, ev = feed(b"/?" + b"A1" * 16 + b"!\r\n")
    assert ev[-1] == EV_ID
    assert feed(b"/?" + b"A" * 33 + b"!\r\n")[1][-1] == EV_SYNTAX
    assert feed(b"/?a_b!\r\n")[1][-1] == EV_SYNTAX
    assert feed(b"/!\r\n")[1][-1] == EV_SYNTAX


def test_command_good_and_bad_bcc():
    good = command(b"R1\x020000()")
    assert feed(good)[1][-1] == EV_COMMAND
    bad = good[:-1] + bytes([good[-1] ^ 1])
    assert feed(bad)[1][-1] == EV_ERROR


def test_single_characters_and_garbage():
    assert feed(b"\x06")[1] == [EV_ACK]
    assert feed(b"\x15")[1] == [EV_NAK]
    assert feed(b"x")[1] == [EV_ERROR]


def test_control_character_inside_command_is_an_error():
    assert EV_ERROR in feed(b"\x01R1\x0200\x0500()\x03")[1]


def test_overflow_is_an_error_and_buffer_never_grows():
    rx, ev = feed(b"\x01W1\x020003(" + b"A" * (RX_MAX + 5))
    assert EV_ERROR in ev
    assert len(rx.buf) == RX_MAX and rx.n <= RX_MAX


def test_harness_command_bcc_matches_the_core():
    msg = command(b"W1\x020004(1492083C0A67CE455)")
    assert msg[-1] == frames.bcc(msg, 1, len(msg) - 1)
