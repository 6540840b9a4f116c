"""Vending side (host only): decoder keys (DKGA02), EA07 encryption, token building.

For tests and demos: it makes the tokens a vending system would issue, and reproduces the
vectors of ../shared/spec/sts-tokens.md. Plain Python integers; DES from pycryptodome.
"""
import datetime
import os

from Crypto.Cipher import DES

import hostpath  # noqa: F401  (firmware/ on sys.path)
from crc import crc16  # noqa: E402  (the one CRC-16 of the project)
from tables import STA_P as P, STA_S1 as S1, STA_S2 as S2  # noqa: E402
from tables import (  # noqa: E402  (class 0 and 2 subclasses)
    CREDIT_SUBCLASSES, SC_CLEAR_CREDIT, SC_CLEAR_TAMPER, SC_KCT1, SC_KCT2, SC_MPL, SC_MPPUL, SC_TARIFF_RATE,
    SC_WATER_FACTOR)

M64 = (1 << 64) - 1
BASE_DATES = {1993: datetime.datetime(1993, 1, 1), 2014: datetime.datetime(2014, 1, 1),
              2035: datetime.datetime(2035, 1, 1)}


def _rotl(k, n):
    return ((k << n) | (k >> (64 - n))) & M64


def sta_encrypt(block, dk):
    k = _rotl(~dk & M64, 64 - 12)  # rotate right by 12
    for _ in range(16):
        out = 0
        for n in range(16):
            v = (block >> (4 * n)) & 15
            out |= (S2[v] if (k >> (4 * n + 3)) & 1 else S1[v]) << (4 * n)
        block = 0
        for i in range(64):
            block |= ((out >> i) & 1) << P[i]
        k = _rotl(k, 1)
    return block


def des_encrypt(block, dk):
    return int.from_bytes(DES.new(dk.to_bytes(8, "big"), DES.MODE_ECB).encrypt(block.to_bytes(8, "big")), "big")


def des_decrypt(block, dk):
    return int.from_bytes(DES.new(dk.to_bytes(8, "big"), DES.MODE_ECB).decrypt(block.to_bytes(8, "big")), "big")


def dkga02(vending_key, meter_number, key_type, sgc, ti, krn):
    """Decoder key for an 18-digit meter number (6-digit IIN) or 4-digit IIN number (17)."""
    if len(meter_number) == 18:
        pan = meter_number[1:6] + meter_number[6:17]
    else:
        pan = meter_number[1:4] + meter_number[4:17]
    x = int(pan, 16) ^ int("%X%06d%02d%XFFFFFF" % (key_type, sgc, ti, krn), 16)
    return des_encrypt(x, vending_key) ^ x ^ vending_key


def with_crc(token_class, first48):
    crc = crc16(((token_class << 48) | first48).to_bytes(7, "big"))
    return (first48 << 16) | ((crc & 0xFF) << 8) | (crc >> 8)


def tid_minutes(issued, base_year=1993):
    return int((issued - BASE_DATES[base_year]).total_seconds() // 60)


def amount_field(value):
    """Smallest-exponent (exponent:2 | mantissa:14) encoding of `value`, exact or ValueError."""
    for e in range(4):
        offset = sum(2**14 * 10 ** (i - 1) for i in range(1, e + 1))
        m, rest = divmod(value - offset, 10**e)
        if value >= offset and rest == 0 and m < 2**14:
            return (e << 14) | m
    raise ValueError("amount %d cannot be encoded" % value)


def transpose(token_class, encrypted):
    """66-bit TokenData from the class and the encrypted block."""
    high = ((encrypted >> 28) & 1) << 65 | ((encrypted >> 27) & 1) << 64
    low = encrypted & ~(3 << 27) & M64 | token_class << 27
    return high | low


def token(token_class, subclass, rnd, tid, value, dk, algorithm="sta"):
    """Token number for the common layout subclass:4 | RND:4 | TID:24 | value:16 | CRC."""
    first48 = (subclass << 44) | (rnd << 40) | (tid << 16) | value
    return encode(token_class, with_crc(token_class, first48), dk, algorithm)


def encode(token_class, block, dk, algorithm="sta"):
    if token_class != 1:
        block = sta_encrypt(block, dk) if algorithm == "sta" else des_encrypt(block, dk)
    return transpose(token_class, block)


def digits(number):
    return "%020d" % number


def class1_token(subclass, control, mfr_code):
    if subclass == 0:
        first48 = (0 << 44) | (control << 8) | mfr_code
    else:
        first48 = (1 << 44) | (control << 16) | mfr_code
    return transpose(1, with_crc(1, first48))


def key_change_tokens(new_key, ken, krn, ro, kt, ti, dk, algorithm="sta"):
    """(Set1stSectionDecoderKey, Set2ndSectionDecoderKey) token numbers that move a meter
    from decoder key `dk` to `new_key` (layout: sts-tokens.md section 3, class 2 subclass
    3 and 4; not yet checked against a published vector)."""
    nkho, nklo = new_key >> 32, new_key & 0xFFFFFFFF
    first = (SC_KCT1 << 44) | ((ken >> 4) << 40) | (krn << 36) | (ro << 35) | (kt << 32) | nkho
    second = (SC_KCT2 << 44) | ((ken & 15) << 40) | (ti << 32) | nklo
    return (encode(2, with_crc(2, first), dk, algorithm),
            encode(2, with_crc(2, second), dk, algorithm))


# --- what a vending operator types, turned into token fields ---------------------------

SERVICES = ("electricity", "water", "gas", "time")  # class 0 subclasses 0-3; 4-7 currency
CREDIT_UNITS = ("kWh", "m3", "m3", "min")
MANAGEMENT = {"mpl": SC_MPL, "clear-credit": SC_CLEAR_CREDIT, "tariff-rate": SC_TARIFF_RATE,
              "clear-tamper": SC_CLEAR_TAMPER, "mppul": SC_MPPUL, "water-factor": SC_WATER_FACTOR}


def credit_field(subclass, amount):
    """Amount field for `amount` (a decimal string) in the subclass's unit: tenths for
    subclasses 0-3, 0.00001 for currency (4-7). ValueError if it is not exact."""
    from decimal import Decimal, InvalidOperation

    scale = 10 if subclass < CREDIT_SUBCLASSES else 100000
    try:
        scaled = Decimal(amount) * scale
    except InvalidOperation:
        raise ValueError("amount %r is not a number" % amount)
    if scaled != scaled.to_integral_value() or scaled < 0:
        raise ValueError("amount %s is not a whole number of %s units" % (amount, "0.1" if scale == 10 else "0.00001"))
    return amount_field(int(scaled))


def management_field(subclass, value):
    """16-bit value field of a class 2 token: watts in the Amount encoding for MPL and
    MPPUL, the raw value otherwise (ClearCredit: register 0-3 or 0xFFFF for all)."""
    if subclass in (SC_MPL, SC_MPPUL):
        return amount_field(value)
    if not 0 <= value <= 0xFFFF:
        raise ValueError("value %d does not fit 16 bits" % value)
    return value


def group(number):
    """20 digits in groups of 4, as printed on a receipt."""
    d = digits(number)
    return "-".join(d[i:i + 4] for i in range(0, 20, 4))


def random_rnd():
    return os.urandom(1)[0] & 15
