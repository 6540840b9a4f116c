"""EA09: DES decryption of the token block (IEC 62055-41 names FIPS 46-3; sts-tokens.md 2).

Same shape as `sta`: the block is a 64-entry bit array (index = bit number, 0 the least
significant), decrypted in place, so that no 32- or 64-bit integer is made (they would be
heap objects on a 32-bit MicroPython port). The key schedule is done once per key: 16
round keys of eight 6-bit values. Each S-box output bit is XORed straight into L at the
place P sends it, so a round copies nothing.
"""

from tables import DES_E, DES_IP, DES_P, DES_PC1, DES_PC2, DES_ROUNDS, DES_S, DES_SHIFTS


def _six(bits, base, order):
    """Six bits in S-box address order: outer two (the row) first, then the middle four."""
    return (
        bits[order[base]] << 5
        | bits[order[base + 5]] << 4
        | bits[order[base + 1]] << 3
        | bits[order[base + 2]] << 2
        | bits[order[base + 3]] << 1
        | bits[order[base + 4]]
    )


def _zero_based(table):
    out = bytearray(len(table))
    for i in range(len(table)):
        out[i] = table[i] - 1
    return out


_E0 = _zero_based(DES_E)
# where S-box output bit q (0..31, before P) lands in L: the i with P[i] = q + 1
_PDEST = bytearray(32)
for _i in range(32):
    _PDEST[DES_P[_i] - 1] = _i


class Des:
    def __init__(self, key_bits):
        """`key_bits`: the 64-bit key as a 64-entry bit array (parity bits are ignored)."""
        cd = bytearray(56)
        for i in range(56):  # FIPS bit k is our bit 64 - k
            cd[i] = key_bits[64 - DES_PC1[i]]
        pc2 = _zero_based(DES_PC2)
        keys = bytearray(8 * DES_ROUNDS)
        for r in range(DES_ROUNDS):
            for _ in range(DES_SHIFTS[r]):
                c0 = cd[0]
                d0 = cd[28]
                cd[0:27] = cd[1:28]
                cd[28:55] = cd[29:56]
                cd[27] = c0
                cd[55] = d0
            base = 8 * (DES_ROUNDS - 1 - r)  # stored in the order decryption uses them
            for j in range(8):
                keys[base + j] = _six(cd, 6 * j, pc2)
        self._keys = keys
        self._l = bytearray(32)
        self._r = bytearray(32)

    def decrypt(self, bits):
        """Decrypt the 64-entry bit array `bits` in place. Its steps are functions of few
        locals, so that no call's frame comes from the heap (py/objfun.c keeps up to 11
        words on the C stack)."""
        l = self._l
        r = self._r
        _initial(bits, l, r)
        k = 0
        while k < 8 * DES_ROUNDS:  # k: this round's first key in _keys
            _round(l, r, self._keys, k)
            l, r = r, l
            k += 8
        _final(bits, l, r)


def _initial(bits, l, r):
    """L0 R0: the initial permutation (FIPS bit k is our bit 64 - k)."""
    for i in range(32):
        l[i] = bits[64 - DES_IP[i]]
        r[i] = bits[64 - DES_IP[32 + i]]


def _final(bits, l, r):
    """The pre-output is R16 L16; the final permutation (IP inverse) puts its bit q at IP[q]."""
    for i in range(32):
        bits[64 - DES_IP[i]] = r[i]
        bits[64 - DES_IP[32 + i]] = l[i]


def _round(l, r, keys, k):
    """L ^= P(S(E(R) ^ K)): each S-box's output XORed straight into L."""
    j = 0
    while j < 8:
        _sbox(l, r, keys[k + j], j)
        j += 1


def _sbox(l, r, key, j):
    """S-box j on its six bits of E(R) ^ `key`; its 4 output bits into L where P sends them."""
    a = 64 * j + (_six(r, 6 * j, _E0) ^ key)
    s = DES_S[a >> 1]
    s = s & 15 if a & 1 else s >> 4
    j *= 4  # its output bits' places in _PDEST
    l[_PDEST[j]] ^= s >> 3
    l[_PDEST[j + 1]] ^= (s >> 2) & 1
    l[_PDEST[j + 2]] ^= (s >> 1) & 1
    l[_PDEST[j + 3]] ^= s & 1
