"""Vending side (host only): decoder keys (DKGA02, DKGA04), EA07/EA09/EA11 encryption,
token building.

For tests and demos: it makes the tokens a vending system would issue, and reproduces the
vectors of ../shared/spec/sts-tokens.md and sts-edition3.md. Plain Python integers; DES
from pycryptodome, MISTY1 from tools/misty1ref.py, HMAC-SHA256 from the standard library.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import os
from typing import Callable, Optional

from crc import crc16
from Crypto.Cipher import DES
from tables import (
    CRC_C_BYTE,
    CREDIT_SUBCLASSES,
    SC_CLEAR_CREDIT,
    SC_CLEAR_TAMPER,
    SC_KCT1,
    SC_KCT2,
    SC_KCT3,
    SC_KCT4,
    SC_MPL,
    SC_MPPUL,
    SC_TARIFF_RATE,
    SC_WATER_FACTOR,
    SGC_MAX,
)
from tables import STA_P as P
from tables import STA_S1 as S1
from tables import STA_S2 as S2

from . import keydata, misty1ref

M64 = (1 << 64) - 1
BASE_DATES = {
    1993: datetime.datetime(1993, 1, 1),
    2014: datetime.datetime(2014, 1, 1),
    2035: datetime.datetime(2035, 1, 1),
}


def _rotl(k: int, n: int) -> int:
    return ((k << n) | (k >> (64 - n))) & M64


def sta_encrypt(block: int, dk: int) -> int:
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


def des_encrypt(block: int, dk: int) -> int:
    return int.from_bytes(DES.new(dk.to_bytes(8, "big"), DES.MODE_ECB).encrypt(block.to_bytes(8, "big")), "big")


def des_decrypt(block: int, dk: int) -> int:
    return int.from_bytes(DES.new(dk.to_bytes(8, "big"), DES.MODE_ECB).decrypt(block.to_bytes(8, "big")), "big")


def check_key_data(meter_number: str, key_type: int, sgc: int, ti: int, krn: int) -> None:
    """The key data's fields within their digits (ValueError), so that no derivation
    quietly makes the key of another meter."""
    if not (meter_number.isdigit() and len(meter_number) in (17, 18)):
        raise ValueError("a meter number is 17 or 18 digits, not %r" % meter_number)
    check_field("key type", key_type, 0, 15)  # one hex digit each, 6 and 2 decimal ones
    check_field("SGC", sgc, 0, 999999)
    check_field("TI", ti, 0, 99)
    check_field("KRN", krn, 0, 15)


def dkga02(vending_key: int, meter_number: str, key_type: int, sgc: int, ti: int, krn: int) -> int:
    """Decoder key for an 18-digit meter number (6-digit IIN) or 4-digit IIN number (17)."""
    check_key_data(meter_number, key_type, sgc, ti, krn)
    x = keydata.dkga02_block(meter_number, key_type, sgc, ti, krn)
    return des_encrypt(x, vending_key) ^ x ^ vending_key


def dkga04(
    vending_key: int, meter_number: str, key_type: int, sgc: int, ti: int, krn: int, base_date: int, algorithm: str
) -> int:
    """Decoder key from a 160-bit vending key (sts-edition3.md section 2): HMAC-SHA256 over
    the key data, its first 8 bytes for EA07, 16 for EA11, read big-endian."""
    check_key_data(meter_number, key_type, sgc, ti, krn)
    if algorithm not in ("sta", "misty1"):
        raise ValueError("DKGA04 makes EA07 and EA11 keys, not %s ones" % algorithm)
    if not 0 <= vending_key < 1 << 160:
        raise ValueError("a DKGA04 vending key is 160 bits (40 hex digits)")
    bits = 128 if algorithm == "misty1" else 64
    data = keydata.dkga04_data(meter_number, key_type, sgc, ti, krn, base_date, bits)
    mac = hmac.new(vending_key.to_bytes(20, "big"), data, hashlib.sha256).digest()
    return int.from_bytes(mac[: bits // 8], "big")


def misty1_encrypt(block: int, dk: int) -> int:
    return misty1ref.Misty1(dk.to_bytes(16, "big")).encrypt(block)


def misty1_decrypt(block: int, dk: int) -> int:
    return misty1ref.Misty1(dk.to_bytes(16, "big")).decrypt(block)


def with_crc(token_class: int, first48: int, currency: bool = False) -> int:
    """The block with its CRC; `currency`: CRC_C (one more byte, 01, under the CRC)."""
    data = ((token_class << 48) | first48).to_bytes(7, "big")
    crc = crc16(data + bytes((CRC_C_BYTE,)) if currency else data)
    return (first48 << 16) | ((crc & 0xFF) << 8) | (crc >> 8)


def tid_minutes(issued: datetime.datetime, base_year: int = 1993) -> int:
    return int((issued - BASE_DATES[base_year]).total_seconds() // 60)


def check_field(name: str, value: int, lo: int, hi: int) -> int:
    """A token field out of its range would spill into its neighbours and make another
    token than asked: refuse it (ValueError)."""
    if not lo <= value <= hi:
        raise ValueError("%s %d is out of range (%d..%d)" % (name, value, lo, hi))
    return value


def amount_value(field: int) -> int:
    """What an Amount field (exponent:2 | mantissa:14) carries, in the unit's tenths."""
    e, m = field >> 14, field & 0x3FFF
    return sum(2**14 * 10 ** (i - 1) for i in range(1, e + 1)) + m * 10**e


def amount_field_at_most(value: int) -> int:  # type: ignore[return]  # e = 0 always returns
    """The encoding of the largest amount the field carries that is not over `value` (a
    vending system gives no more than was paid for); ValueError above the largest."""
    if value < 0 or value > amount_value(0xFFFF):
        raise ValueError("amount %d is outside 0..%d" % (value, amount_value(0xFFFF)))
    for e in range(3, -1, -1):
        offset = amount_value(e << 14)
        if value >= offset:
            return (e << 14) | min((value - offset) // 10**e, 0x3FFF)


def amount_field(value: int) -> int:
    """Smallest-exponent (exponent:2 | mantissa:14) encoding of `value`, exact or ValueError."""
    for e in range(4):
        offset = sum(2**14 * 10 ** (i - 1) for i in range(1, e + 1))
        m, rest = divmod(value - offset, 10**e)
        if value >= offset and rest == 0 and m < 2**14:
            return (e << 14) | m
    raise ValueError("amount %d cannot be encoded" % value)


def transpose(token_class: int, encrypted: int) -> int:
    """66-bit TokenData from the class and the encrypted block."""
    high = ((encrypted >> 28) & 1) << 65 | ((encrypted >> 27) & 1) << 64
    low = encrypted & ~(3 << 27) & M64 | token_class << 27
    return high | low


def token(token_class: int, subclass: int, rnd: int, tid: int, value: int, dk: int, algorithm: str = "sta") -> int:
    """Token number for the common layout subclass:4 | RND:4 | TID:24 | value:16 | CRC."""
    check_field("subclass", subclass, 0, 15)
    check_field("RND", rnd, 0, 15)
    check_field("TID", tid, 0, (1 << 24) - 1)
    check_field("value", value, 0, 0xFFFF)
    first48 = (subclass << 44) | (rnd << 40) | (tid << 16) | value
    return encode(token_class, with_crc(token_class, first48), dk, algorithm)


def encode(token_class: int, block: int, dk: int, algorithm: str = "sta") -> int:
    if token_class != 1:
        block = ENCRYPT[algorithm](block, dk)
    return transpose(token_class, block)


ENCRYPT: dict[str, Callable[[int, int], int]] = {"sta": sta_encrypt, "des": des_encrypt, "misty1": misty1_encrypt}
KEY_BITS = {"sta": 64, "des": 64, "misty1": 128}


def currency_token(subclass: int, tid: int, amount20: int, dk: int, algorithm: str = "sta") -> int:
    """Class 0 currency token (subclass 4-7): the 20-bit amount's top 4 bits where RND is,
    its low 16 the Amount field, and CRC_C (sts-edition3.md section 4)."""
    if not 4 <= subclass <= 7 or not 0 <= amount20 < 1 << 20:
        raise ValueError("currency subclass 4-7 and a 20-bit amount")
    first48 = (subclass << 44) | ((amount20 >> 16) << 40) | (tid << 16) | (amount20 & 0xFFFF)
    return encode(0, with_crc(0, first48, currency=True), dk, algorithm)


def currency_value(amount20: int) -> int:
    """Signed value of a 20-bit currency amount, in 0.00001 units."""
    e = (amount20 >> 14) & 31
    value = (amount20 & 0x3FFF) * 10**e + sum(2**14 * 10 ** (i - 1) for i in range(1, e + 1))
    return -value if amount20 >> 19 else value


def currency_field(value: int) -> int:
    """20-bit amount for `value` (0.00001 units, signed): exact with the smallest exponent
    where it can be, else the nearest value the encoding carries (1.00000 travels as
    1.00004 in STS 531-1's vector: 100000 lies between two codes)."""
    sign = 1 if value < 0 else 0
    value = abs(value)
    best: Optional[tuple[int, int]] = None
    for e in range(32):
        offset = sum(2**14 * 10 ** (i - 1) for i in range(1, e + 1))
        m = (value - offset + 10**e // 2) // 10**e  # nearest mantissa at this exponent
        m = min(max(m, 0), 2**14 - 1)
        error = abs(m * 10**e + offset - value)
        if best is None or error < best[0]:
            best = (error, (sign << 19) | (e << 14) | m)
        if error == 0:
            break
    return best[1]  # type: ignore[index]  # range(32) is never empty: best is set


def digits(number: int) -> str:
    return "%020d" % number


def class1_token(subclass: int, control: int, mfr_code: int) -> int:
    check_field("subclass", subclass, 0, 1)
    check_field("control", control, 0, (1 << (36 if subclass == 0 else 28)) - 1)
    check_field("manufacturer code", mfr_code, 0, 0xFF if subclass == 0 else 0xFFFF)
    if subclass == 0:
        first48 = (0 << 44) | (control << 8) | mfr_code
    else:
        first48 = (1 << 44) | (control << 16) | mfr_code
    return transpose(1, with_crc(1, first48))


def key_change_tokens(
    new_key: int,
    ken: int,
    krn: int,
    ro: int,
    kt: int,
    ti: int,
    dk: int,
    algorithm: str = "sta",
    sgc: Optional[int] = None,
) -> tuple[int, ...]:
    """The key change set, in subclass order, that moves a meter from decoder key `dk` to
    `new_key` (sts-edition3.md section 3): for a 64-bit key Set1st and Set2ndSectionDecoderKey,
    and with `sgc` the 3rd section carrying it (3KCT set in the 1st); for a 128-bit key (an
    EA11 meter) the four sections 3, 4, 8, 9, the SGC in 8 and 9 (`sgc` is then required)."""
    wide = KEY_BITS[algorithm] == 128
    check_field("KEN", ken, 0, 255)  # the fields' widths (a meter's own limits are its to check)
    check_field("KRN", krn, 0, 15)
    check_field("rollover", ro, 0, 1)
    check_field("key type", kt, 0, 3)
    check_field("TI", ti, 0, 255)
    if wide and sgc is None:
        raise ValueError("a 128-bit key change set carries the supply group code: give it")
    if sgc is not None and not 0 <= sgc <= SGC_MAX:
        raise ValueError("supply group code %d is not 6 digits" % sgc)
    if not 0 <= new_key < 1 << KEY_BITS[algorithm]:
        raise ValueError("the new key is not a %d-bit key" % KEY_BITS[algorithm])
    three = 1 if sgc is not None and not wide else 0
    if wide:
        nk = [(new_key >> (96 - 32 * i)) & 0xFFFFFFFF for i in range(4)]  # key bytes 0-3, 4-7, ...
        first_half, second_half = nk[0], nk[3]
    else:
        first_half, second_half = new_key >> 32, new_key & 0xFFFFFFFF
    blocks = [
        (SC_KCT1 << 44) | ((ken >> 4) << 40) | (krn << 36) | (ro << 35) | (three << 34) | (kt << 32) | first_half,
        (SC_KCT2 << 44) | ((ken & 15) << 40) | (ti << 32) | second_half,
    ]
    if wide:
        blocks.append((SC_KCT3 << 44) | ((sgc & 0xFFF) << 32) | nk[1])  # type: ignore[operator]  # wide: sgc given
        blocks.append((SC_KCT4 << 44) | ((sgc >> 12) << 32) | nk[2])  # type: ignore[operator]
    elif three:
        blocks.append((SC_KCT3 << 44) | (sgc << 20))  # type: ignore[operator]  # three: sgc given
    return tuple(encode(2, with_crc(2, b), dk, algorithm) for b in blocks)


# --- what a vending operator types, turned into token fields ---------------------------

SERVICES = ("electricity", "water", "gas", "time")  # class 0 subclasses 0-3; 4-7 currency
CREDIT_UNITS = ("kWh", "m3", "m3", "min")
MANAGEMENT = {
    "mpl": SC_MPL,
    "clear-credit": SC_CLEAR_CREDIT,
    "tariff-rate": SC_TARIFF_RATE,
    "clear-tamper": SC_CLEAR_TAMPER,
    "mppul": SC_MPPUL,
    "water-factor": SC_WATER_FACTOR,
}


def credit_field(subclass: int, amount: str) -> int:
    """Amount field for `amount` (a decimal string) in the subclass's unit: tenths for
    subclasses 0-3, 0.00001 for currency (4-7: the 20-bit signed amount, see currency_field).
    ValueError if it is not a whole number of units (or negative outside currency)."""
    from decimal import Decimal, InvalidOperation

    currency = subclass >= CREDIT_SUBCLASSES
    scale = 100000 if currency else 10
    try:
        scaled = Decimal(amount) * scale
    except InvalidOperation:
        raise ValueError("amount %r is not a number" % amount)
    if not scaled.is_finite() or scaled != scaled.to_integral_value() or (scaled < 0 and not currency):
        raise ValueError("amount %s is not a whole number of %s units" % (amount, "0.00001" if currency else "0.1"))
    return currency_field(int(scaled)) if currency else amount_field(int(scaled))


def management_field(subclass: int, value: int) -> int:
    """16-bit value field of a class 2 token: watts in the Amount encoding for MPL and
    MPPUL, the raw value otherwise (ClearCredit: register 0-3 or 0xFFFF for all)."""
    if subclass in (SC_MPL, SC_MPPUL):
        return amount_field(value)
    if not 0 <= value <= 0xFFFF:
        raise ValueError("value %d does not fit 16 bits" % value)
    return value


def group(number: int) -> str:
    """20 digits in groups of 4, as printed on a receipt."""
    d = digits(number)
    return "-".join(d[i : i + 4] for i in range(0, 20, 4))


def random_rnd() -> int:
    return os.urandom(1)[0] & 15
