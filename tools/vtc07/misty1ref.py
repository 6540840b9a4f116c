"""MISTY1 on the host (RFC 2994), written plainly for the vending side and as the
independent check of firmware/misty1.py.

No well-kept MISTY1 exists on PyPI (pycryptodome and cryptography have none), so this is
the RFC's description in Python integers: 32-bit FO/FL on whole words, encryption and
decryption each as the RFC writes it. The S-box tables are the firmware's (firmware/misty1.py) (one copy of the
numbers, checked by host_tests/test_misty1.py); the code shares nothing else with it.
"""

from __future__ import annotations

from misty1 import S7 as MISTY1_S7
from misty1 import S9 as MISTY1_S9

S7 = list(MISTY1_S7)
S9 = [MISTY1_S9[2 * i] << 8 | MISTY1_S9[2 * i + 1] for i in range(512)]


def fi(fi_in: int, fi_key: int) -> int:
    d9 = fi_in >> 7
    d7 = fi_in & 0x7F
    d9 = S9[d9] ^ d7
    d7 = S7[d7] ^ (d9 & 0x7F)
    d7 ^= fi_key >> 9
    d9 ^= fi_key & 0x1FF
    d9 = S9[d9] ^ d7
    return (d7 << 9) | d9


class Misty1:
    def __init__(self, key: bytes) -> None:
        """`key`: 16 bytes, in the order they are printed."""
        if len(key) != 16:
            raise ValueError("a MISTY1 key is 16 bytes")
        k = [int.from_bytes(key[2 * i : 2 * i + 2], "big") for i in range(8)]
        self.ek = k + [fi(k[i], k[(i + 1) % 8]) for i in range(8)]

    def fo(self, fo_in: int, k: int) -> int:
        ek = self.ek
        t0, t1 = fo_in >> 16, fo_in & 0xFFFF
        t0 ^= ek[k]
        t0 = fi(t0, ek[(k + 5) % 8 + 8])
        t0 ^= t1
        t1 ^= ek[(k + 2) % 8]
        t1 = fi(t1, ek[(k + 1) % 8 + 8])
        t1 ^= t0
        t0 ^= ek[(k + 7) % 8]
        t0 = fi(t0, ek[(k + 3) % 8 + 8])
        t0 ^= t1
        t1 ^= ek[(k + 4) % 8]
        return (t1 << 16) | t0

    def fl(self, fl_in: int, k: int) -> int:
        ek = self.ek
        d0, d1 = fl_in >> 16, fl_in & 0xFFFF
        if k % 2 == 0:
            d1 ^= d0 & ek[k // 2]
            d0 ^= d1 | ek[(k // 2 + 6) % 8 + 8]
        else:
            d1 ^= d0 & ek[((k - 1) // 2 + 2) % 8 + 8]
            d0 ^= d1 | ek[((k - 1) // 2 + 4) % 8]
        return (d0 << 16) | d1

    def flinv(self, fl_in: int, k: int) -> int:
        ek = self.ek
        d0, d1 = fl_in >> 16, fl_in & 0xFFFF
        if k % 2 == 0:
            d0 ^= d1 | ek[(k // 2 + 6) % 8 + 8]
            d1 ^= d0 & ek[k // 2]
        else:
            d0 ^= d1 | ek[((k - 1) // 2 + 4) % 8]
            d1 ^= d0 & ek[((k - 1) // 2 + 2) % 8 + 8]
        return (d0 << 16) | d1

    def encrypt(self, block: int) -> int:
        """64-bit integer -> 64-bit integer."""
        d0, d1 = block >> 32, block & 0xFFFFFFFF
        for r in range(0, 8, 2):
            d0 = self.fl(d0, r)
            d1 = self.fl(d1, r + 1)
            d1 ^= self.fo(d0, r)
            d0 ^= self.fo(d1, r + 1)
        d0 = self.fl(d0, 8)
        d1 = self.fl(d1, 9)
        return (d1 << 32) | d0

    def decrypt(self, block: int) -> int:
        d1, d0 = block >> 32, block & 0xFFFFFFFF
        d0 = self.flinv(d0, 8)
        d1 = self.flinv(d1, 9)
        for r in range(6, -1, -2):
            d0 ^= self.fo(d1, r + 1)
            d1 ^= self.fo(d0, r)
            d1 = self.flinv(d1, r + 1)
            d0 = self.flinv(d0, r)
        return (d0 << 32) | d1
