"""The key data a decoder key is derived from, laid out once for both derivations that use
it: the vending side (vending.py: pycryptodome's DES, the standard library's HMAC) and the
unix board's `--vending-key` (boards/unix/dkga.py: the firmware's DES, the port's hashlib).

Runs on CPython and MicroPython: bytes and integers only, no imports. Its type hints are
plain builtins, ignored by MicroPython.
"""


def dkga02_block(meter_number: str, key_type: int, sgc: int, ti: int, krn: int) -> int:
    """DKGA02's X (sts-tokens.md 3): the PAN block (the meter number without its first and
    its check digit: the 6-digit IIN's last 5 and the 11-digit IAIN, or a 4-digit IIN's last
    3 and 13) XOR the control block (key type, SGC, TI, KRN as hex digits, then FFFFFF)."""
    return int(meter_number[1:17], 16) ^ int("%X%06d%02d%XFFFFFF" % (key_type, sgc, ti, krn), 16)


def _field(text: str) -> bytes:
    return bytes((len(text),)) + text.encode()


def dkga04_data(meter_number: str, key_type: int, sgc: int, ti: int, krn: int, base_date: int, bits: int) -> bytes:
    """DKGA04's key data (sts-edition3.md 2), which HMAC-SHA256 under the 160-bit vending
    key turns into a `bits` (64 for EA07, 128 for EA11) decoder key: each field its length
    then its digits."""
    return (
        b"\x04"
        + _field("04")
        + _field("%02d" % (base_date % 100))
        + _field("11" if bits == 128 else "07")
        + _field("%02d" % ti)
        + b"\x00\x04"
        + _field("%06d" % sgc)
        + _field("%X" % key_type)
        + _field("%X" % krn)
        + _field(meter_number)
        + bits.to_bytes(4, "big")
    )
