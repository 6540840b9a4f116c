"""IEC 62055-41 TokenData on the meter side (sts-tokens.md sections 1 and 3).

A token travels as a 66-bit number: 20 decimal digits, or 17 hex digits in
BinaryTokenEntry. `Token.load` spreads it into a bit array, reads the class from bits
28..27 and puts back the two encrypted bits that the class displaced (bits 65, 64). After
decryption `field()` reads the 64-bit data block, most significant bit first.
"""

from crc import crc16
from tables import CRC_C_BYTE, TOKEN_BITS, TOKEN_DIGITS


def bits_from_bytes(data, bits):
    """Big-endian bytes -> bit array, bits[0] the least significant bit."""
    n = len(data)
    for i in range(8 * n):
        bits[i] = (data[n - 1 - (i >> 3)] >> (i & 7)) & 1


def digits_to_number(text):
    """20 digits (dashes and spaces allowed) -> int, or -1 if not exactly 20 digits."""
    value = 0
    count = 0
    for c in text:
        if 0x30 <= c <= 0x39:
            value = value * 10 + c - 0x30
            count += 1
        elif c not in b"- ":
            return -1
    return value if count == TOKEN_DIGITS else -1


def amount_value(field):
    """Amount / MaximumPowerLimit field (exponent:2 | mantissa:14) -> value."""
    e = field >> 14
    value = field & 0x3FFF
    for _ in range(e):
        value = value * 10 + 16384  # m * 10**e + sum(2**14 * 10**(i-1)), by Horner
    return value


class Token:
    """Buffers for one token at a time, reused for every token."""

    def __init__(self):
        self.bits = bytearray(72)  # 9 bytes of TokenData; bits 0..63 become the block
        self.token_class = 0

    def load(self, number):
        """Take the 66-bit TokenData: an int, or its 17 hex digits' values, most significant
        first (BinaryTokenEntry as the server takes it: no long int); False when it does not
        fit 66 bits (format)."""
        bits = self.bits
        if type(number) is not int:
            if number[0] >> (TOKEN_BITS - 64):
                return False
            for i in range(0, 68, 4):  # 68 bits of digits, then 4 zeros
                d = number[16 - (i >> 2)]
                bits[i] = d & 1
                bits[i + 1] = (d >> 1) & 1
                bits[i + 2] = (d >> 2) & 1
                bits[i + 3] = d >> 3
            for i in range(68, 72):
                bits[i] = 0
        elif number < 0 or number >> TOKEN_BITS:
            return False
        else:
            bits_from_bytes(number.to_bytes(9, "big"), bits)  # 72 bits, the top 6 are zero
        self.token_class = bits[28] << 1 | bits[27]
        bits[28] = bits[65]
        bits[27] = bits[64]
        return True

    def field(self, top, width):
        """The `width`-bit field whose most significant bit is block bit `top`."""
        bits = self.bits
        v = 0
        for i in range(top, top - width, -1):
            v = v << 1 | bits[i]
        return v

    def crc_ok(self, currency=False):
        """CRC over class:2 | block bits 63..16, as 7 big-endian bytes, bytes swapped;
        `currency`: CRC_C, the same with one more byte under it (sts-edition3.md 4)."""
        data = self.bits  # its bits 64..71 are free once loaded: the CRC's 8 bytes go there
        data[64] = self.token_class
        for k in range(6):
            data[65 + k] = self.field(63 - 8 * k, 8)
        data[71] = CRC_C_BYTE
        crc = crc16(data, 64, 72 if currency else 71)
        return ((crc & 0xFF) << 8 | crc >> 8) == self.field(15, 16)
