"""EA07 Standard Transfer Algorithm, decrypt side (IEC 62055-41; sts-tokens.md section 2).

The block is a 64-entry bit array (index = bit number) so that no 64-bit integer, which
MicroPython would allocate, is touched while decrypting. Each key bit chooses the S-box of
one nibble in a round: round r's nibble n takes key bit (4n + r) & 63, so the 16 bits a
round takes are one of four 16-bit words (r & 3) turned by r >> 2 nibbles. The key is kept
as those four words, 8 bytes behind the rounds' second bit array, not as a second 64-entry
array: 80 bytes less of a built meter's heap on a 32-bit port, and a round takes its bit
with a shift, not an index.
"""

from tables import STA_P, STA_ROUNDS, STA_S1, STA_S2


def _inverse(table):
    inv = bytearray(len(table))
    for i in range(len(table)):
        inv[table[i]] = i
    return bytes(inv)


_DS1 = _inverse(STA_S2)  # decrypt S1 = inverse of encrypt S2
_DS2 = _inverse(STA_S1)  # decrypt S2 = inverse of encrypt S1


def _round(src, dst, m):
    """One decryption round from bit array `src` into `dst`: the inverse permutation (dst
    nibble bit k = src bit P[j + k]) read straight into each nibble's S-box, chosen by the
    low bit of `m` (_chooser), one bit a nibble. Few locals: the call's frame stays off the
    heap (py/objfun.c keeps up to 11 words on the stack)."""
    p = STA_P  # a local: a global is looked up by name each time (4 per nibble)
    j = 0
    while j < 64:
        v = src[p[j]] | src[p[j + 1]] << 1
        v |= src[p[j + 2]] << 2  # one term a line: a shallow stack, a small frame
        v |= src[p[j + 3]] << 3
        v = _DS2[v] if m & 1 else _DS1[v]
        m >>= 1
        dst[j] = v & 1
        dst[j + 1] = (v >> 1) & 1
        dst[j + 2] = (v >> 2) & 1
        dst[j + 3] = v >> 3
        j += 4


def _chooser(key, r):
    """Round r's 16 S-box choices, nibble 0 in bit 0: word r & 3 of the key (in `key` from
    byte 64: Sta's one array), turned right by r >> 2 (a 16-bit rotation; no value over 16
    bits, which past 30 would be a long int on a 32-bit port)."""
    m = key[64 + 2 * (r & 3)] | key[65 + 2 * (r & 3)] << 8
    r >>= 2
    return m >> r | (m & ((1 << r) - 1)) << (16 - r)


class Sta:
    def __init__(self, key_bits):
        """`key_bits`: the 64-bit decoder key as a 64-entry bit array (bits_from_bytes)."""
        # one array: 0..63 the rounds' second bit array, then the key's four words (word s
        # in bytes 64 + 2s, 65 + 2s; bit n: key bit (4n + s) & 63): one object, not two
        work = bytearray(72)
        for k in range(64):
            work[64 + 2 * (k & 3) + (k >> 5)] |= key_bits[k] << ((k >> 2) & 7)
        self._work = work

    def decrypt(self, bits):
        """Decrypt the 64-entry bit array `bits` in place: rounds alternate between it and
        a second array (STA_ROUNDS is even, so the last one lands in `bits`). A round's
        choices are taken into a local first: one call inside another's arguments made
        the frame a heap object per token."""
        tmp = self._work
        r = 0
        while r < STA_ROUNDS:
            m = _chooser(tmp, r)
            _round(bits, tmp, m)
            m = _chooser(tmp, r + 1)
            _round(tmp, bits, m)
            r += 2
