"""EA11: MISTY1 decryption of the token block (RFC 2994; sts-edition3.md section 1).

Same shape as `sta` and `des`: the block is a 64-entry bit array (index = bit number, 0 the
least significant), decrypted in place. MISTY1 works on 16-bit halves of its 32-bit words,
and so does this code: it never makes a 32-bit integer, which would be a heap object on a
32-bit MicroPython port. The key schedule (EK of the RFC: the eight key words and their
eight FI images) is made once per key; a token then allocates nothing.

Words: the block's four 16-bit words, most significant first, are w0 w1 w2 w3. Encryption
leaves C = D1 || D0, so decryption starts with D0 = w2 w3 and D1 = w0 w1, undoes the rounds
from the last and ends with P = D0 || D1. `_d` holds D0 high, D0 low, D1 high, D1 low.
"""
from tables import MISTY1_S7, MISTY1_S9


def _s9(x):
    return MISTY1_S9[2 * x] << 8 | MISTY1_S9[2 * x + 1]


def _fi(x, k):
    """The FI function of RFC 2994 on 16-bit `x` with 16-bit key `k`."""
    d9 = _s9(x >> 7) ^ (x & 0x7F)
    d7 = (MISTY1_S7[x & 0x7F] ^ d9 ^ (k >> 9)) & 0x7F
    d9 = _s9(d9 ^ (k & 0x1FF)) ^ d7
    return d7 << 9 | d9


class Misty1:
    def __init__(self, key_bits):
        """`key_bits`: the 128-bit decoder key as a 128-entry bit array (bits_from_bytes)."""
        ek = [0] * 16
        for j in range(8):  # key word j is key bytes 2j, 2j+1: bits 127-16j down to 112-16j
            v = 0
            for i in range(127 - 16 * j, 111 - 16 * j, -1):
                v = v << 1 | key_bits[i]
            ek[j] = v
        for j in range(8):
            ek[8 + j] = _fi(ek[j], ek[(j + 1) & 7])
        self._ek = ek
        self._d = [0, 0, 0, 0]

    def _fo(self, src, dst, k):
        """D[dst] ^= FO(D[src], k), on the halves at _d[src], _d[dst]."""
        ek = self._ek
        d = self._d
        t0 = d[src]
        t1 = d[src + 1]
        t0 = _fi(t0 ^ ek[k], ek[8 + ((k + 5) & 7)]) ^ t1
        t1 = _fi(t1 ^ ek[(k + 2) & 7], ek[8 + ((k + 1) & 7)]) ^ t0
        t0 = _fi(t0 ^ ek[(k + 7) & 7], ek[8 + ((k + 3) & 7)]) ^ t1
        d[dst] ^= t1 ^ ek[(k + 4) & 7]
        d[dst + 1] ^= t0

    def _flinv(self, at, k):
        """The inverse of FL(., k) on the word at _d[at]."""
        ek = self._ek
        d = self._d
        h = k >> 1
        if k & 1:
            d[at] ^= d[at + 1] | ek[(h + 4) & 7]
            d[at + 1] ^= d[at] & ek[8 + ((h + 2) & 7)]
        else:
            d[at] ^= d[at + 1] | ek[8 + ((h + 6) & 7)]
            d[at + 1] ^= d[at] & ek[h]

    def decrypt(self, bits):
        """Decrypt the 64-entry bit array `bits` in place."""
        d = self._d
        for j in range(4):  # w0 w1 -> D1 (d[2], d[3]); w2 w3 -> D0 (d[0], d[1])
            v = 0
            for i in range(63 - 16 * j, 47 - 16 * j, -1):
                v = v << 1 | bits[i]
            d[(j + 2) & 3] = v
        self._flinv(0, 8)
        self._flinv(2, 9)
        for r in range(6, -1, -2):
            self._fo(2, 0, r + 1)
            self._fo(0, 2, r)
            self._flinv(2, r + 1)
            self._flinv(0, r)
        for j in range(4):  # P = D0 || D1
            v = d[j]
            for i in range(48 - 16 * j, 64 - 16 * j):
                bits[i] = v & 1
                v >>= 1
