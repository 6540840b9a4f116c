"""`vtc07 generate`: tokens as a vending system makes them (no meter needed), from what an
operator types: the command's options turned into vending.py's fields and keys.

    vtc07 generate [key options] KIND [KIND's options]      (options before or after KIND)
"""

from __future__ import annotations

import argparse
import datetime
import sys
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Optional, Sequence

from . import vending
from .options import meter_number, ranged

if TYPE_CHECKING:
    from .cli import Report

DEFAULT_VENDING_KEYS = {"02": "ABABABABABABABAB", "04": "ABABABABABABABAB949494949494949401234567"}
VENDING_KEY_DIGITS = {"02": 16, "04": 40}


def _hex(text: str, what: str, digits: Optional[int] = None) -> int:
    """A key or bit field given in hex: its value; `digits`: the exact length it must have."""
    try:
        value = int(text, 16)
    except ValueError:
        raise ValueError("%s %r is not hex" % (what, text))
    if digits is not None and len(text) != digits:
        raise ValueError("%s %s is %d hex digits: it must be %d" % (what, text, len(text), digits))
    return value


def _dkga(args: argparse.Namespace) -> str:
    return args.dkga or ("04" if args.algorithm == "misty1" else "02")


def _derive(args: argparse.Namespace, vending_key: int, key_type: int, sgc: int, ti: int, krn: int) -> int:
    """A decoder key by DKGA02 or DKGA04 (sts-edition3.md section 2) from the arguments."""
    if _dkga(args) == "02":
        if args.algorithm == "misty1":
            raise ValueError("DKGA02 makes 64-bit keys: an EA11 key needs --dkga 04 or --dk")
        return vending.dkga02(vending_key, args.meter_number, key_type, sgc, ti, krn)
    return vending.dkga04(vending_key, args.meter_number, key_type, sgc, ti, krn, args.base_date, args.algorithm)


def _vending_key(args: argparse.Namespace, text: Optional[str] = None, option: str = "--vending-key") -> int:
    dkga = _dkga(args)
    if not text:
        return _hex(DEFAULT_VENDING_KEYS[dkga], option)
    return _hex(text, "%s (DKGA%s)" % (option, dkga), VENDING_KEY_DIGITS[dkga])


def _decoder_key(args: argparse.Namespace, text: str, option: str) -> int:
    return _hex(text, "%s (%s)" % (option, args.algorithm), vending.KEY_BITS[args.algorithm] // 4)


def _key(args: argparse.Namespace) -> int:
    if args.dk:
        return _decoder_key(args, args.dk, "--dk")
    return _derive(args, _vending_key(args, args.vending_key), args.key_type, args.sgc, args.ti, args.krn)


def _tid(args: argparse.Namespace) -> int:
    if args.tid is not None:
        return args.tid
    if args.issued == "now":
        issued = datetime.datetime.now()
    else:
        try:
            issued = datetime.datetime.strptime(args.issued, "%Y-%m-%d %H:%M")
        except ValueError:
            raise ValueError('--issued %r: give "YYYY-MM-DD HH:MM" (e.g. "2024-04-21 10:01") or now' % args.issued)
    tid = vending.tid_minutes(issued, args.base_date)
    if not 0 <= tid < 1 << 24:
        last = vending.BASE_DATES[args.base_date] + datetime.timedelta(minutes=(1 << 24) - 1)
        raise ValueError(
            "%s is outside the TIDs of base date %d (they end %s): give --base-date "
            "of the meter's key (after a rollover key change), or --issued / --tid"
            % (issued.strftime("%Y-%m-%d %H:%M"), args.base_date, last.strftime("%Y-%m-%d %H:%M"))
        )
    return tid


def _tenths_text(n: int, unit: str) -> str:
    return "%s%d.%d %s" % ("-" if n < 0 else "", abs(n) // 10, abs(n) % 10, unit)


def credit_field(amount: str, subclass: int) -> int:
    """The Amount field for --amount, one rule for every amount (docs/hhu.md): an amount the
    field cannot carry exactly (1.25, 1700.5) is carried as the largest one below it (a
    vending system gives no more than was paid for) and stderr says so. Currency (subclass 4-7)
    may be negative and is rounded to the nearest 20-bit amount."""
    if subclass >= len(vending.SERVICES):
        return vending.credit_field(subclass, amount)
    unit = vending.CREDIT_UNITS[subclass]
    most = vending.amount_value(0xFFFF)
    try:
        value = Decimal(amount)
    except InvalidOperation:
        raise ValueError("--amount %r is not a number" % amount)
    if not value.is_finite():
        raise ValueError("--amount %s is not a number" % amount)
    if value < 0:
        raise ValueError(
            "--amount %s is negative: a credit token for %s carries 0 to %s"
            % (amount, vending.SERVICES[subclass], _tenths_text(most, unit))
        )
    tenths = int((value * 10).to_integral_value(ROUND_FLOOR))
    if tenths > most:
        raise ValueError(
            "--amount %s %s is more than one token carries (%s)" % (amount, unit, _tenths_text(most, unit))
        )
    if tenths == 0 and value > 0:
        raise ValueError("--amount %s is less than the least a token carries (0.1 %s)" % (amount, unit))
    field = vending.amount_field_at_most(tenths)
    if vending.amount_value(field) != value * 10:
        print(
            "vtc07: %s %s is not an amount a token carries exactly: this token carries %s (the nearest "
            "below)" % (amount, unit, _tenths_text(vending.amount_value(field), unit)),
            file=sys.stderr,
        )
    return field


def run(args: argparse.Namespace, rep: Report) -> int:
    rnd = vending.random_rnd() if args.rnd is None else args.rnd
    kind = args.kind
    if kind == "test":
        control = _hex(args.control, "--control")
        if control >> (36 if args.subclass == 0 else 28):
            raise ValueError(
                "--control %s is more than %d bits (subclass %d)"
                % (args.control, 36 if args.subclass == 0 else 28, args.subclass)
            )
        return _print_tokens(rep, [vending.class1_token(args.subclass, control, args.mfr_code)])
    dk = _key(args)
    if kind == "key-change":
        wide = args.algorithm == "misty1"
        sgc = args.new_sgc if args.new_sgc is not None else args.sgc
        if args.new_dk:
            new = _decoder_key(args, args.new_dk, "--new-dk")
        else:
            new = _derive(
                args,
                _vending_key(
                    args,
                    args.new_vending_key or args.vending_key,
                    "--new-vending-key" if args.new_vending_key else "--vending-key",
                ),
                args.new_key_type,
                sgc,
                args.new_ti,
                args.new_krn,
            )
        # an EA11 set always carries the SGC; an EA07/EA09 set only when --new-sgc asks (3 tokens)
        tokens = vending.key_change_tokens(
            new,
            args.ken,
            args.new_krn,
            int(args.rollover),
            args.new_key_type,
            args.new_ti,
            dk,
            args.algorithm,
            sgc if wide or args.new_sgc is not None else None,
        )
        return _print_tokens(rep, tokens)
    tid = _tid(args)
    if kind == "credit":
        subclass = vending.SERVICES.index(args.service) if args.service in vending.SERVICES else 4
        field = credit_field(args.amount, subclass)
        if subclass >= len(vending.SERVICES):
            number = vending.currency_token(subclass, tid, field, dk, args.algorithm)
        else:
            number = vending.token(0, subclass, rnd, tid, field, dk, args.algorithm)
    else:
        subclass = vending.MANAGEMENT[kind]
        value = getattr(args, "value", 0)
        if kind == "clear-credit":
            value = 0xFFFF if args.value == "all" else vending.SERVICES.index(args.value)
        elif kind == "clear-tamper":
            value = 0
        else:
            value = int(value)
        number = vending.token(2, subclass, rnd, tid, vending.management_field(subclass, value), dk, args.algorithm)
    return _print_tokens(rep, [number])


def _print_tokens(rep: Report, numbers: Sequence[int]) -> int:
    rep.data["tokens"] = [vending.group(n) for n in numbers]
    for number in numbers:
        rep.line(vending.group(number))
    return 0


def _options(g: argparse.ArgumentParser, keep: Optional[str]) -> None:
    """generate's options; `keep` (SUPPRESS) on the copies after KIND, so that a value given
    before KIND is not overwritten by the default."""
    d = lambda value: keep if keep else value  # noqa: E731
    g.add_argument(
        "--meter-number",
        type=meter_number,
        default=d("600727000000000009"),
        metavar="DIGITS",
        help="the meter's number, 17 or 18 digits (default 600727000000000009, the unix board's)",
    )
    g.add_argument(
        "--vending-key",
        default=d(None),
        metavar="HEX",
        help="16 hex digits for DKGA02 (default ABAB...AB), 40 for DKGA04 (default the STS 531-1 "
        "test key ABAB...AB9494...9401234567)",
    )
    g.add_argument(
        "--dkga",
        choices=("02", "04"),
        default=d(None),
        help="key derivation: 02 (default for sta/des) or 04 (default for misty1; uses --base-date and the algorithm)",
    )
    g.add_argument(
        "--dk",
        default=d(None),
        metavar="HEX",
        help="the decoder key itself (16 hex digits, 32 for misty1), instead of deriving it",
    )
    g.add_argument("--key-type", type=ranged(0, 3), default=d(2), metavar="0-3", help="key type (default 2, DUTK)")
    g.add_argument(
        "--sgc", type=ranged(0, 999999), default=d(123456), metavar="N", help="supply group code (default 123456)"
    )
    g.add_argument("--ti", type=ranged(0, 99), default=d(1), metavar="N", help="tariff index (default 1)")
    g.add_argument("--krn", type=ranged(1, 9), default=d(1), metavar="1-9", help="key revision number (default 1)")
    g.add_argument(
        "--algorithm", choices=("sta", "des", "misty1"), default=d("sta"), help="EA07, EA09 or EA11 (128-bit keys)"
    )
    g.add_argument(
        "--base-date",
        type=int,
        choices=sorted(vending.BASE_DATES),
        default=d(1993),
        help="the key's base date, the TIDs' origin (default 1993)",
    )
    g.add_argument("--issued", default=d("now"), help='"YYYY-MM-DD HH:MM" or now: the TID')
    g.add_argument(
        "--tid",
        type=ranged(0, (1 << 24) - 1),
        default=d(None),
        metavar="N",
        help="the TID itself (minutes since the base date, 0..16777215)",
    )
    g.add_argument("--rnd", type=ranged(0, 15), metavar="0-15", default=d(None), help="default: random")
    g.add_argument("--json", action="store_true", default=d(False), help="print the tokens as JSON")


def setup(g: argparse.ArgumentParser) -> None:
    """generate's parser `g`: its options and its kinds."""
    _options(g, None)
    common = argparse.ArgumentParser(add_help=False)
    _options(common, argparse.SUPPRESS)
    kinds = g.add_subparsers(dest="kind", required=True, metavar="KIND")
    add = lambda name, **kw: kinds.add_parser(name, parents=[common], **kw)  # noqa: E731
    c = add("credit", help="class 0 TransferCredit")
    c.add_argument(
        "--service",
        choices=vending.SERVICES + ("currency",),
        default="electricity",
        help="what the credit is for (default electricity)",
    )
    c.add_argument(
        "--amount",
        required=True,
        help="in kWh, m3, min or currency units, e.g. 12.5; an amount "
        "the token cannot carry exactly is carried as the nearest below (said on stderr); "
        "currency may be negative and is rounded to the nearest 20-bit amount",
    )
    for name, what in (
        ("mpl", "SetMaximumPowerLimit, watts"),
        ("tariff-rate", "SetTariffRate"),
        ("mppul", "SetMaximumPhasePowerUnbalanceLimit, watts"),
        ("water-factor", "SetWaterMeterFactor"),
    ):
        add(name, help=what).add_argument(
            "--value", required=True, type=ranged(0, 1 << 30), metavar="N", help="the value the token sets"
        )
    cc = add("clear-credit", help="ClearCredit")
    cc.add_argument("--value", choices=vending.SERVICES + ("all",), default="all", help="which credit (default all)")
    add("clear-tamper", help="ClearTamperCondition")
    k = add("key-change", help="a key change set: prints its 2, 3 or 4 tokens (subclass 3, 4, 8, 9)")
    k.add_argument(
        "--new-dk",
        metavar="HEX",
        help="the new decoder key (as long as --dk); default: derived (--dkga) with the new key data",
    )
    k.add_argument(
        "--new-sgc",
        type=ranged(0, 999999),
        metavar="N",
        help="carry this supply group code: a "
        "3-token set on EA07/EA09 (an EA11 set of 4 always carries one: default --sgc)",
    )
    k.add_argument("--new-vending-key", metavar="HEX", help="default: --vending-key")
    k.add_argument("--new-key-type", type=ranged(0, 3), default=2, metavar="0-3", help="default 2")
    k.add_argument("--new-krn", type=ranged(1, 9), default=2, metavar="1-9", help="default 2")
    k.add_argument("--new-ti", type=ranged(0, 99), default=1, metavar="N", help="default 1")
    k.add_argument("--ken", type=ranged(0, 255), default=255, metavar="N", help="key expiry number (255: never)")
    k.add_argument("--rollover", action="store_true", help="move the meter to the next base date")
    t = add("test", help="class 1 test/display token (not encrypted)")
    t.add_argument("--subclass", type=int, choices=(0, 1), default=0, help="0 or 1 (default 0)")
    t.add_argument(
        "--control", default="FFFFFFFFF", metavar="HEX", help="hex control bits (36 for subclass 0, 28 for 1)"
    )
    t.add_argument("--mfr-code", type=ranged(0, 0xFFFF), default=0, metavar="N", help="0..255 for subclass 0")
