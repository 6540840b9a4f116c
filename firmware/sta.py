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


class Sta:
    def __init__(self, key_bits):
        """`key_bits`: the 64-bit decoder key as a 64-entry bit array (bits_from_bytes)."""
        self._key = key_bits  # kept as given: the caller makes it for this cipher
        self._tmp = bytearray(64)

    def decrypt(self, bits):
        """Decrypt the 64-entry bit array `bits` in place."""
        tmp = self._tmp
        key = self._key
        p = STA_P
        for r in range(STA_ROUNDS):
            for i in range(64):  # inverse permutation: output bit i = input bit P[i]
                tmp[i] = bits[p[i]]
            for n in range(16):
                j = 4 * n
                v = tmp[j] | tmp[j + 1] << 1 | tmp[j + 2] << 2 | tmp[j + 3] << 3
                v = _DS2[v] if key[(j + r) & 63] else _DS1[v]
                bits[j] = v & 1
                bits[j + 1] = (v >> 1) & 1
                bits[j + 2] = (v >> 2) & 1
                bits[j + 3] = v >> 3
