from formats import FMT_B, FMT_D, FMT_H, ascii_ok, parse_number, put_number, valid_ascii
from hypothesis import given
from hypothesis import strategies as st


@given(st.integers(0, 2**68 - 1), st.sampled_from([(FMT_H, 16), (FMT_D, 10), (FMT_B, 2)]))
def test_put_parse_round_trip(value, fmt_radix):
    fmt, radix = fmt_radix
    width = 1
    while radix**width <= value:
        width += 1
    buf = bytearray(80)
    end = put_number(buf, 3, fmt, width, value)
    assert end == 3 + width
    assert parse_number(buf, 3, end, fmt) == value
    assert put_number(buf, 0, fmt, width - 1, value) == (-1 if value >= radix ** (width - 1) else width - 1)


def test_fixed_widths_and_digit_sets():
    buf = bytearray(20)
    assert bytes(buf[: put_number(buf, 0, FMT_B, 8, 5)]) == b"00000101"  # bit 0 last
    assert bytes(buf[: put_number(buf, 0, FMT_H, 4, 0x8001)]) == b"8001"
    assert bytes(buf[: put_number(buf, 0, FMT_D, 5, 42)]) == b"00042"
    assert put_number(buf, 0, FMT_D, 2, -1) == -1
    assert parse_number(b"1F", 0, 2, FMT_H) == 31
    assert parse_number(b"1f", 0, 2, FMT_H) == -1  # upper-case hex only
    assert parse_number(b"19", 0, 2, FMT_D) == 19 and parse_number(b"1A", 0, 2, FMT_D) == -1
    assert parse_number(b"12", 0, 2, FMT_B) == -1


def test_ascii_format_excludes_delimiters():
    for c in b"()/!*":
        assert not ascii_ok(c)
    assert not ascii_ok(0x1F) and not ascii_ok(0x7F)
    assert valid_ascii(b"v0.1.0 beta", 0, 11)
