"""EA09: the firmware's DES decryption against pycryptodome, on CPython and MicroPython."""

import os

from conftest import run_decoder_on_micropython
from Crypto.Cipher import DES
from des import Des
from hypothesis import given, settings
from hypothesis import strategies as st
from tokens import bits_from_bytes


def firmware_decrypt(key, block):
    key_bits = bytearray(64)
    bits_from_bytes(key, key_bits)
    bits = bytearray(64)
    bits_from_bytes(block, bits)
    Des(key_bits).decrypt(bits)
    return sum(bits[i] << i for i in range(64)).to_bytes(8, "big")


def test_fips_81_example():
    # "Now is t" under 0123456789ABCDEF (FIPS 81 appendix B, ECB)
    assert firmware_decrypt(bytes.fromhex("0123456789ABCDEF"), bytes.fromhex("3FA40E8A984D4815")) == b"Now is t"


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=8, max_size=8), st.binary(min_size=8, max_size=8))
def test_matches_pycryptodome(key, plain):
    cipher = DES.new(key, DES.MODE_ECB).encrypt(plain)
    assert firmware_decrypt(key, cipher) == plain


def test_on_micropython(micropython):
    lines = []
    for _ in range(100):
        key, plain = os.urandom(8), os.urandom(8)
        cipher = DES.new(key, DES.MODE_ECB).encrypt(plain)
        lines.append("des %s %s %s" % (key.hex(), cipher.hex(), plain.hex()))
    assert run_decoder_on_micropython(micropython, "\n".join(lines)) == "100 cases ok"
