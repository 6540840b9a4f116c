"""Characters and messages of IEC 62055-52 clause 6.4 (the 62056-21 framing).

- 7E1 characters: `with_parity` makes even parity in bit 7 for a UART running 8N1,
  `parity_ok` checks it.
- `bcc`: XOR of the 7-bit characters after SOH/STX up to and including ETX.
- `Receiver`: assembles client messages one character at a time in a fixed buffer and
  says when one is complete, or broken.
- `put_*`: build server messages into a caller-owned buffer.
"""

from micropython import const
from tables import (
    ACK,
    ADDRESS_MAX,
    CLOSE,
    CR,
    END,
    ETX,
    LF,
    NAK,
    REQUEST,
    RX_MAX,
    SOH,
    START,
    STX,
)


def parity_of(c):
    """1 if the 7-bit character has an odd number of ones (so bit 7 must be set)."""
    c &= 0x7F
    c ^= c >> 4
    c ^= c >> 2
    c ^= c >> 1
    return c & 1


def with_parity(c):
    c &= 0x7F
    return c | 0x80 if parity_of(c) else c


# Bit b (byte b >> 3, bit b & 7): the 8-bit character b carries even parity in bit 7, as an
# 8N1 UART receives a 7E1 character. A lookup, where parity_of is four steps and a call:
# the receive path checks every character (host_tests/test_frames.py checks the table).
EVEN = b"i\x96\x96i\x96ii\x96\x96ii\x96i\x96\x96i\x96ii\x96i\x96\x96ii\x96\x96i\x96ii\x96"


def parity_ok(b):
    return EVEN[b >> 3] >> (b & 7) & 1


def bcc(buf, start, end):
    """BCC of buf[start:end] (start just after SOH/STX, end just after ETX)."""
    x = 0
    for i in range(start, end):
        x ^= buf[i]
    return x & 0x7F


# Receiver events
EV_NONE = const(0)  # nothing complete yet (or a character outside any message, ignored)
EV_ID = const(1)  # IDRequest complete: address is buf[2:n-3]
EV_COMMAND = const(2)  # SOH message with a good BCC: buf[0:n] is SOH .. ETX
EV_ACK = const(3)
EV_NAK = const(4)
EV_ERROR = const(5)  # transmission error: parity, BCC, overflow, control character
EV_SYNTAX = const(6)  # complete IDRequest that is malformed

_R_START = const(0)
_R_ID = const(1)
_R_COMMAND = const(2)
_R_BCC = const(3)


def _alnum(c):
    return 0x30 <= c <= 0x39 or 0x41 <= (c & 0xDF) <= 0x5A


class Receiver:
    """Client-message assembler. `feed(c)` takes one 7-bit character, returns an EV_*.

    Characters are kept exactly as received (without parity) in `buf[0:n]`. The buffer
    is fixed: a message longer than it is a transmission error, never a reallocation.
    """

    def __init__(self):
        self.buf = bytearray(RX_MAX)
        self.n = 0
        self.state = _R_START  # 0 between messages: true while one is partly received

    def reset(self):
        self.n = 0
        self.state = _R_START

    def feed(self, c):
        """(Every character comes through here: no call below the first one of a message.)"""
        state = self.state
        if state == _R_START:
            if c == START or c == SOH:
                self.buf[0] = c
                self.n = 1
                self.state = _R_ID if c == START else _R_COMMAND
                return EV_NONE
            if c == ACK:
                return EV_ACK
            if c == NAK:
                return EV_NAK
            return EV_ERROR
        if state == _R_BCC:
            self.state = _R_START
            return EV_COMMAND if c == bcc(self.buf, 1, self.n) else EV_ERROR
        n = self.n
        if n >= RX_MAX:  # too long for the buffer: a transmission error, never a larger one
            self.reset()
            return EV_ERROR
        self.buf[n] = c
        self.n = n + 1
        if state == _R_ID:
            if c == LF:
                self.state = _R_START
                return EV_ID if self._id_ok() else EV_SYNTAX
            if c < 0x20 and c != CR:
                self.reset()
                return EV_ERROR
            return EV_NONE
        # _R_COMMAND: only STX and ETX may appear among printable characters
        if c == ETX:
            self.state = _R_BCC
        elif c < 0x20 and c != STX or c == 0x7F:
            self.reset()
            return EV_ERROR
        return EV_NONE

    def _id_ok(self):
        buf = self.buf
        n = self.n
        if n < 5 or n - 5 > ADDRESS_MAX:
            return False
        if buf[1] != REQUEST or buf[n - 3] != END or buf[n - 2] != CR:
            return False
        for i in range(2, n - 3):
            if not _alnum(buf[i]):
                return False
        return True


def put_bcc(buf, start, end):
    """Append the BCC of buf[start:end] at buf[end]; return the new length."""
    buf[end] = bcc(buf, start, end)
    return end + 1


def put_bytes(buf, pos, data):
    for c in data:
        buf[pos] = c
        pos += 1
    return pos


def put_id_response(buf, manufacturer, baud_char, ident):
    """/ XXX Z ident CR LF"""
    buf[0] = START
    pos = put_bytes(buf, 1, manufacturer)
    buf[pos] = baud_char
    pos = put_bytes(buf, pos + 1, ident)
    buf[pos] = CR
    buf[pos + 1] = LF
    return pos + 2


def put_data_tail(buf, pos):
    """) ETX BCC after a value ending at pos; return the message length."""
    buf[pos] = CLOSE
    buf[pos + 1] = ETX
    return put_bcc(buf, 1, pos + 2)
