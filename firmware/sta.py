"""EA07 Standard Transfer Algorithm, decrypt side (IEC 62055-41; sts-tokens.md section 2).

The block is a 64-entry bit array (index = bit number) so that no 64-bit integer, which
MicroPython would allocate, is touched while decrypting. The key is reduced once to the
bit that chooses the S-box of each nibble in each round (16 x 16 bytes).
"""

from tables import STA_P, STA_ROUNDS, STA_S1, STA_S2


def _inverse(table):
    inv = bytearray(len(table))
    for i in range(len(table)):
        inv[table[i]] = i
    return bytes(inv)


_DS1 = _inverse(STA_S2)  # decrypt S1 = inverse of encrypt S2
_DS2 = _inverse(STA_S1)  # decrypt S2 = inverse of encrypt S1


def _round(src, dst, key, r):
    """One decryption round from bit array `src` into `dst`: the inverse permutation (dst
    nibble bit k = src bit P[j + k]) read straight into each nibble's S-box. Few locals:
    the call's frame stays off the heap (py/objfun.c keeps up to 11 words on the stack)."""
    j = 0
    while j < 64:
        v = src[STA_P[j]] | src[STA_P[j + 1]] << 1
        v |= src[STA_P[j + 2]] << 2  # one term a line: a shallow stack, a small frame
        v |= src[STA_P[j + 3]] << 3
        v = _DS2[v] if key[(j + r) & 63] else _DS1[v]
        dst[j] = v & 1
        dst[j + 1] = (v >> 1) & 1
        dst[j + 2] = (v >> 2) & 1
        dst[j + 3] = v >> 3
        j += 4


class Sta:
    def __init__(self, key_bits):
        """`key_bits`: the 64-bit decoder key as a 64-entry bit array (bits_from_bytes)."""
        self._key = key_bits  # kept as given: the caller makes it for this cipher
        self._tmp = bytearray(64)

    def decrypt(self, bits):
        """Decrypt the 64-entry bit array `bits` in place: rounds alternate between it and
        a second array (STA_ROUNDS is even, so the last one lands in `bits`)."""
        tmp = self._tmp
        key = self._key
        r = 0
        while r < STA_ROUNDS:
            _round(bits, tmp, key, r)
            _round(tmp, bits, key, r + 1)
            r += 2
