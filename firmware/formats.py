"""Register value formats H, D, B and A (IEC 62055-52 tables 3-5, "number encodings").

Values are written into and read from caller-owned buffers so that a response is built
without intermediate strings. H, D and B are fixed width; A is 1..width characters.
"""

from micropython import const

FMT_H = const(0x48)  # 'H' hexadecimal digits 0-9 A-F
FMT_D = const(0x44)  # 'D' decimal digits
FMT_B = const(0x42)  # 'B' binary digits, bit 0 last
FMT_A = const(0x41)  # 'A' printable ASCII without ( ) / ! *

_RADIX = {FMT_H: 16, FMT_D: 10, FMT_B: 2}
_DIGITS = b"0123456789ABCDEF"


def ascii_ok(c):
    """True for a character allowed in an A value.

    The profile excludes ( ) / ! * (the 62056-21 delimiters). A '.' stays allowed: it is
    not a delimiter and version strings need it (project choice, see docs/profile-choices.md).
    """
    return 0x20 <= c <= 0x7E and c not in b"()/!*"


def digit_value(c, radix):
    """Value of one digit character in `radix`, or -1. Lower-case hex is not a digit."""
    if 0x30 <= c <= 0x39:
        v = c - 0x30
    elif 0x41 <= c <= 0x46:
        v = c - 0x37
    else:
        return -1
    return v if v < radix else -1


def put_number(buf, pos, fmt, width, value):
    """Write `value` as exactly `width` digits of `fmt` at buf[pos]; return the end.

    Returns -1 when the value is negative or does not fit the width.
    """
    radix = _RADIX[fmt]
    if value < 0:
        return -1
    end = pos + width
    i = end
    while i > pos:
        i -= 1
        buf[i] = _DIGITS[value % radix]
        value //= radix
    return end if value == 0 else -1


def parse_number(buf, start, end, fmt):
    """Value of the digits buf[start:end] in `fmt`, or -1 if any character is no digit."""
    fmt = _RADIX[fmt]  # the radix; few locals keep the call's frame off the heap
    value = 0
    while start < end:
        d = digit_value(buf[start], fmt)
        if d < 0:
            return -1
        value = value * fmt + d
        start += 1
    return value


def valid_ascii(buf, start, end):
    for i in range(start, end):
        if not ascii_ok(buf[i]):
            return False
    return True
