"""The unix board's decoder key from a vending key (`--vending-key`), as a manufactured
meter gets its key: DKGA02 (a 64-bit vending key, DES) or DKGA04 (a 160-bit one,
HMAC-SHA256) over the meter's own number and key data (sts-tokens.md 3, sts-edition3.md 2).
So a lab runs many different meters from one vending key, each taking only its own tokens.

Used once, at start (boards/unix/options.py), and dropped again: no board carries it.
DES is the firmware's own (firmware/des.py, the EA09 decryption) run with its key schedule
reversed, which makes it encrypt; SHA-256 is the port's hashlib. The key data's layout is
the vending side's own (tools/vtc07/keydata.py, imported from the checkout).
"""

import hashlib
import sys

from des import Des

_VTC07 = __file__[: __file__.rfind("/") + 1] + "../../tools/vtc07"
sys.path.append(_VTC07)
import keydata  # noqa: E402  (only while it is imported: the board has no other use for tools/)

sys.path.remove(_VTC07)


class _DesEncrypt(Des):
    """firmware/des.py's DES with its round keys in encryption order: decrypt() encrypts."""

    def __init__(self, key_bits):
        Des.__init__(self, key_bits)
        keys = self._keys
        rounds = len(keys) // 8
        forward = bytearray(len(keys))
        for r in range(rounds):
            forward[8 * r : 8 * r + 8] = keys[8 * (rounds - 1 - r) : 8 * (rounds - r)]
        self._keys = forward


def _bits(value):
    bits = bytearray(64)
    for i in range(64):
        bits[i] = (value >> i) & 1
    return bits


def des_encrypt(block, key):
    bits = _bits(block)
    _DesEncrypt(_bits(key)).decrypt(bits)
    out = 0
    for i in range(64):
        out |= bits[i] << i
    return out


def dkga02(vending_key, meter_number, key_type, sgc, ti, krn):
    """A 64-bit decoder key: DES of the PAN block under the vending key, XORed with both."""
    x = keydata.dkga02_block(meter_number, key_type, sgc, ti, krn)
    return des_encrypt(x, vending_key) ^ x ^ vending_key


def dkga04(vending_key, meter_number, key_type, sgc, ti, krn, base_date, bits):
    """A `bits` (64 for EA07, 128 for EA11) decoder key: HMAC-SHA256 of the key data under
    the 160-bit vending key, its first bits read big-endian."""
    data = keydata.dkga04_data(meter_number, key_type, sgc, ti, krn, base_date, bits)
    key = vending_key.to_bytes(20, "big") + bytes(44)  # HMAC: the key padded to SHA-256's 64-byte block
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in key) + data).digest()
    mac = hashlib.sha256(bytes(b ^ 0x5C for b in key) + inner).digest()
    return int.from_bytes(mac[: bits // 8], "big")


def derive(options):
    """options["dk"], the decoder key, from options["vending_key"]: 16 hex digits take DKGA02
    (EA07, EA09), 40 take DKGA04 (EA07, EA11). ValueError naming the key; nothing set when
    the key data is not numbers (the configuration's check then names the key). This module,
    the key data's layout and DES leave the heap again (the meter imports its cipher anew if
    it is DES)."""
    try:
        key = _derive(options)
    finally:
        sys.modules.pop("dkga", None)
        sys.modules.pop("keydata", None)
        sys.modules.pop("des", None)
    if key:
        options["dk"] = key


def _derive(options):
    text = options["vending_key"]
    algorithm = options.get("algorithm", "sta")
    try:
        vending_key = int(text, 16)
    except ValueError:
        vending_key = -1
    if vending_key < 0 or len(text) not in (16, 40):
        raise ValueError("config key 'vending_key' must be 16 hex digits (DKGA02) or 40 (DKGA04), not %r" % text)
    if "dk" in options:
        raise ValueError(
            "config keys 'dk' and 'vending_key': give one (the key, or the vending key it is derived from)"
        )
    number = options.get("meter_number", "600727000000000009")
    data = [number]
    for key, default in (("key_type", "2"), ("sgc", "123456"), ("ti", "1"), ("krn", "1"), ("base_date", "1993")):
        value = options.get(key, default)
        if not value.isdigit() or len(value) > 6:
            return None  # config.check names the key
        data.append(int(value))
    if not (number.isdigit() and len(number) == 18):
        return None
    base_date = data.pop()
    if len(text) == 16:
        if algorithm == "misty1":
            raise ValueError(
                "config key 'vending_key': DKGA02 (16 hex digits) makes 64-bit keys; an EA11 "
                "(misty1) meter needs a 40-digit DKGA04 vending key"
            )
        return "%016X" % dkga02(vending_key, *data)
    if algorithm == "des":
        raise ValueError(
            "config key 'vending_key': DKGA04 (40 hex digits) makes EA07 and EA11 keys, not EA09 "
            "(des) ones: give a 16-digit DKGA02 vending key"
        )
    bits = 128 if algorithm == "misty1" else 64
    return "%0*X" % (bits // 4, dkga04(vending_key, *data, base_date, bits))
