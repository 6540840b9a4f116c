"""`vtc07`: the HHU on the host, the token generator, and the line replayer.

    vtc07 COMMAND [options]       (options may come before or after the command)

    id                      sign on and show the meter's identification
    read REG...             registers by ID (8001) or name (CreditElectricity), in words
    dump                    every readable register, as a table
    write REG VALUE         write a register
    token DIGITS...         enter one or more 20-digit tokens (a key change set in one go),
                            show each result and what it changed
    break                   send BreakCommand (end a session)
    raw MESSAGE...          send messages as written (trace notation), show the answers
    ports                   list the serial ports
    generate KIND ...       make a token (vending side; no meter needed); `generate -h`
    replay TRACE...         replay recorded traces against the meter, show the first difference
    conform                 run the profile's conformance cases, report per clause (docs/conformance.md)
    watch                   credit, power and the load switch, live (--json: a line per sample)

URL is anything pyserial opens: /dev/ttyUSB0, a pty path, socket://127.0.0.1:7001 (the
simulated meter, the default). Exit status: 0 done, 1 the HHU failed (line, timeout,
garbled answers), 2 bad usage, 3 the meter refused (error data message, token rejected,
replay differs), 130 interrupted (Ctrl-C). `conform` has its own (docs/conformance.md).
"""
import argparse
import datetime
import json
import os
import sys
from decimal import Decimal

from . import __version__
from . import conform
from . import hhu
from . import tracefile
from . import vending
from . import watch
from formats import FMT_A, FMT_B, FMT_D, FMT_H
from .hhu import HhuError, MeterRefused
from tables import BAUD_CHARS, CLASS_MANAGEMENT, TOKEN_CLASS_SHIFT

DEFAULT_PORT = "socket://127.0.0.1:7001"
ACCEPTED = (1, 2, 3)  # Accept, 1stKCT, 2ndKCT


def _credit_change(name, before, after):
    unit = hhu.TENTHS[name]
    delta = int(after) - int(before)
    return "%s: %s -> %s (%s%s)" % (name, hhu.tenths(int(before), unit), hhu.tenths(int(after), unit),
                                    "+" if delta >= 0 else "", hhu.tenths(delta, unit))


def _line(reg, value):
    meaning = hhu.describe(reg, value)
    return "%04X %-32s %-20s %s" % (reg.rid, reg.name, value, meaning)


class Report:
    """What a command reports: text lines as it goes, or one JSON object at the end
    (`--json`). Progress goes to stderr, and only on a terminal."""

    def __init__(self, out, as_json):
        self.out = out
        self.json = as_json
        self.data = {}
        self._progress = sys.stderr.isatty() and not as_json

    def line(self, text):
        if not self.json:
            self.out(text)

    def progress(self, text=""):
        if self._progress:
            sys.stderr.write("\r\x1b[K" + text)
            sys.stderr.flush()

    def finish(self):
        self.progress()
        if self.json:
            self.out(json.dumps(self.data, indent=1))


def sign_on(meter, rep):
    rep.progress("signing on (up to %.0f s) ..." % hhu.FIRST_CHAR_S)
    try:
        return meter.sign_on()
    finally:
        rep.progress()


def _register(reg, value):
    return {"id": "%04X" % reg.rid, "name": reg.name, "value": value, "meaning": hhu.describe(reg, value)}


def cmd_id(meter, args, rep):
    ident = sign_on(meter, rep)
    speeds = {chr(char): baud for baud, char in BAUD_CHARS}
    rep.line("%s" % ident)
    rep.line("manufacturer %s, speed %s Bd, identification %s"
             % (ident[1:4], speeds.get(ident[4], "?"), ident[5:]))
    rep.data.update(id_response=ident, manufacturer=ident[1:4], baud=speeds.get(ident[4]), identification=ident[5:])
    return 0


def cmd_read(meter, args, rep):
    regs = [hhu.lookup(name) for name in args.registers]
    sign_on(meter, rep)
    status = 0
    rep.data["registers"] = []
    for reg in regs:
        value = meter.read(reg)
        rep.line(_line(reg, value).rstrip())
        rep.data["registers"].append(_register(reg, value))
        if value.startswith("ERR"):
            status = 3
    return status


def cmd_dump(meter, args, rep):
    sign_on(meter, rep)
    rep.line("%-4s %-32s %-20s %s" % ("ID", "name", "value", "meaning"))
    rep.data["registers"] = []
    for reg in hhu.REGISTERS:
        if not reg.readable:
            continue
        value = meter.read(reg)
        rep.line(_line(reg, value).rstrip())
        rep.data["registers"].append(_register(reg, value))
    return 0


def cmd_write(meter, args, rep):
    reg = hhu.lookup(args.register)
    if not reg.writable:
        raise ValueError("%04X %s is not writable" % (reg.rid, reg.name))
    if not hhu.value_ok(reg, args.value):
        raise ValueError("%04X %s takes %s: %r does not fit"
                       % (reg.rid, reg.name, _format_words(reg), args.value))
    sign_on(meter, rep)
    answer = meter.write(reg, args.value)
    rep.data.update(id="%04X" % reg.rid, name=reg.name, value=args.value, written=answer is None,
                    error=answer, meaning=hhu.describe(reg, answer) if answer else "")
    if answer is None:
        rep.line("%04X %s: written" % (reg.rid, reg.name))
        return 0
    rep.line("%04X %s: refused, %s %s" % (reg.rid, reg.name, answer, hhu.describe(reg, answer)))
    return 3


def _format_words(reg):
    kind = {FMT_H: "hex digits", FMT_D: "decimal digits", FMT_B: "binary digits",
            FMT_A: "printable characters"}[reg.fmt]
    return ("1 to %d %s" if reg.fmt == FMT_A else "exactly %d %s") % (reg.width, kind)


KCT_WARNING = ("warning: a key change half (subclass %s) entered earlier is waiting in this meter. If "
               "this token is the other half, the meter pairs the two: go on only if both were "
               "generated together; halves of two different key changes make a key nobody issued "
               "(docs/hhu.md).")


# what a token of each class may change, read before and after it (a class 2 token's
# subclass is encrypted: the HHU cannot tell which management register it sets)
CHANGES = {
    0: hhu.CREDITS + ("CreditCurrency",),
    2: hhu.CREDITS + ("CreditCurrency", "MaximumPowerLimit", "TariffRate", "MaximumPhasePowerUnbalanceLimit",
                      "WaterMeterFactor", "TamperStatus", "KeyRevisionNumber", "KeyType", "SupplyGroupCode",
                      "TariffIndex", "KeyExpiryNumber", "BaseDate", "EncryptionAlgorithm"),
}


def _change(name, before, after):
    if name in hhu.TENTHS:
        return _credit_change(name, before, after)
    reg = hhu.BY_NAME[name.lower()]
    words = lambda v: (v + " " + hhu.describe(reg, v)).strip()  # noqa: E731
    return "%s: %s -> %s" % (name, words(before), words(after))


def split_tokens(words):
    """One token, or several in a row (a key change set): 20 digits each."""
    text = " ".join(words)
    digits = "".join(c for c in text if c not in " -")
    if len(digits) > 20 and len(digits) % 20 == 0 and digits.isdigit():
        return [hhu.token_number(digits[i:i + 20]) for i in range(0, len(digits), 20)]
    return [hhu.token_number(text)]


def cmd_token(meter, args, rep):
    numbers = split_tokens(args.digits)
    sign_on(meter, rep)
    if (numbers[0] >> TOKEN_CLASS_SHIFT) & 3 == CLASS_MANAGEMENT and "keychangehalfwaiting" in hhu.BY_NAME:
        # The halves cannot show whether they belong together (both are encrypted under the
        # meter's key): the HHU can only say that this one will pair with a half it did not enter.
        waiting = meter.read(hhu.BY_NAME["keychangehalfwaiting"])
        if waiting not in ("0", "") and not waiting.startswith("ERR"):
            print(KCT_WARNING % waiting, file=sys.stderr)
    rep.data["tokens"] = []
    for number in numbers:
        token_class = (number >> TOKEN_CLASS_SHIFT) & 3
        status, before, after = meter.enter_token(
            number, CHANGES.get(token_class, ()),
            lambda s: rep.progress("the meter is working on the token: %.0f s ..." % s))
        rep.progress()
        rep.line("token %s: %02d %s" % (vending.group(number), status, hhu.TOKEN_STATUS.get(status, "unknown")))
        changes = [name for name in before if before[name] != after[name]]
        for name in changes:
            rep.line("  " + _change(name, before[name], after[name]))
        rep.data["tokens"].append({"token": vending.group(number), "status": status,
                                   "meaning": hhu.TOKEN_STATUS.get(status, "unknown"), "accepted": status in ACCEPTED,
                                   "changes": [{"name": n, "before": before[n], "after": after[n]} for n in changes]})
        if status not in ACCEPTED:
            return 3
    return 0


def cmd_break(meter, args, rep):
    meter.brk()
    return 0


def cmd_replay(meter, args, rep):
    from . import replay_line

    worst = 0
    rep.data["traces"] = []
    for path in args.traces:
        differences = replay_line.replay_file(meter, path, args.tolerance)
        rep.data["traces"].append({"path": path, "same": not differences, "differences": differences})
        if differences:
            rep.line("%s: differs" % path)
            for line in differences:
                rep.line(line)
            worst = 3
        else:
            rep.line("%s: same" % path)
    return worst


def raw_message(text):
    """Characters for a message in trace notation: sent as written if it starts as a
    message does (<SOH>, /, <ACK>, <NAK>, a raw {hh}), else made a command: SOH, the
    text, ETX and its BCC (`R1<STX>7FFF()`)."""
    chars = tracefile.unescape(text)
    if not chars:
        raise ValueError("an empty message")
    if chars[0] in (0x01, ord("/"), 0x06, 0x15) or chars[0] & tracefile.RAW:
        return chars
    if any(c & tracefile.RAW for c in chars):
        raise ValueError("%r: a raw byte {hh} only in a message written out from its <SOH>" % text)
    return list(tracefile.command(bytes(chars)))


def cmd_raw(meter, args, rep):
    """Requests the HHU would refuse (an unknown register, a wrong value), to see the meter's
    ERRnn; the answers are shown as they came, garbled ones too."""
    messages = [raw_message(text) for text in args.messages]
    if not args.no_sign_on:
        sign_on(meter, rep)
    status = 0
    rep.data["exchanges"] = []
    for chars in messages:
        meter.send(chars)
        complete = hhu.id_response_complete if chars[0] == ord("/") else hhu.message_complete
        answer = meter.receive(complete)
        sent, got = tracefile.escape(chars), tracefile.escape(answer) if answer else None
        rep.line("> " + sent)
        rep.line("< " + (got if got else "(silent)"))
        rep.data["exchanges"].append({"sent": sent, "answer": got})
        if answer and (answer == [hhu.NAK] or bytes(c & 0x7F for c in answer[1:-2]).find(b"(ERR") >= 0):
            status = 3
    return status


def cmd_ports(args, rep):
    from serial.tools import list_ports

    ports = sorted(list_ports.comports(), key=lambda p: p.device)
    rep.data["ports"] = [{"device": p.device, "description": p.description, "hwid": p.hwid} for p in ports]
    for p in ports:
        rep.line("%-20s %s  [%s]" % (p.device, p.description, p.hwid))
    if not ports:
        rep.line("no serial ports found (the simulated meter is socket://127.0.0.1:7001)")
    return 0


# --- generate ----------------------------------------------------------------------------

DEFAULT_VENDING_KEYS = {"02": "ABABABABABABABAB", "04": "ABABABABABABABAB949494949494949401234567"}


def _hex(text, what):
    try:
        return int(text, 16)
    except ValueError:
        raise ValueError("%s %r is not hex" % (what, text))


def _dkga(args):
    return args.dkga or ("04" if args.algorithm == "misty1" else "02")


def _derive(args, vending_key, key_type, sgc, ti, krn):
    """A decoder key by DKGA02 or DKGA04 (sts-edition3.md section 2) from the arguments."""
    if _dkga(args) == "02":
        if args.algorithm == "misty1":
            raise ValueError("DKGA02 makes 64-bit keys: an EA11 key needs --dkga 04 or --dk")
        return vending.dkga02(vending_key, args.meter_number, key_type, sgc, ti, krn)
    return vending.dkga04(vending_key, args.meter_number, key_type, sgc, ti, krn, args.base_date, args.algorithm)


def _vending_key(args, text=None):
    return _hex(text or args.vending_key or DEFAULT_VENDING_KEYS[_dkga(args)], "vending key")


def _key(args):
    if args.dk:
        dk = _hex(args.dk, "--dk")
        if len(args.dk) != vending.KEY_BITS[args.algorithm] // 4:
            raise ValueError("a decoder key for %s is %d hex digits" % (args.algorithm, vending.KEY_BITS[args.algorithm] // 4))
        return dk
    return _derive(args, _vending_key(args), args.key_type, args.sgc, args.ti, args.krn)


def _tid(args):
    if args.tid is not None:
        return args.tid
    issued = datetime.datetime.now() if args.issued == "now" else datetime.datetime.strptime(args.issued, "%Y-%m-%d %H:%M")
    tid = vending.tid_minutes(issued, args.base_date)
    if not 0 <= tid < 1 << 24:
        last = vending.BASE_DATES[args.base_date] + datetime.timedelta(minutes=(1 << 24) - 1)
        raise ValueError("%s is outside the TIDs of base date %d (they end %s): give --base-date "
                         "of the meter's key (after a rollover key change), or --issued / --tid"
                         % (issued.strftime("%Y-%m-%d %H:%M"), args.base_date, last.strftime("%Y-%m-%d %H:%M")))
    return tid


def _credit_field(args, subclass):
    """The Amount field for --amount: an amount the 16-bit field cannot carry exactly is
    carried as the largest one below it (a vending system gives no more than was paid
    for), and stderr says so."""
    if subclass >= len(vending.SERVICES):
        return vending.credit_field(subclass, args.amount)
    unit = vending.CREDIT_UNITS[subclass]
    try:
        tenths = vending.amount_value(vending.credit_field(subclass, args.amount))
    except ValueError as e:
        if "cannot be encoded" not in str(e):
            raise
        tenths = int(Decimal(args.amount) * 10)
        if tenths > vending.amount_value(0xFFFF):
            raise ValueError("amount %s %s is more than one token carries (%s)"
                             % (args.amount, unit, hhu.tenths(vending.amount_value(0xFFFF), unit)))
    field = vending.amount_field_at_most(tenths)
    if vending.amount_value(field) != tenths:
        print("vtc07: %s %s is not an amount a token carries exactly: this token carries %s (the nearest "
              "below)" % (args.amount, unit, hhu.tenths(vending.amount_value(field), unit)), file=sys.stderr)
    return field


def cmd_generate(args, rep):
    rnd = vending.random_rnd() if args.rnd is None else args.rnd
    kind = args.kind
    if kind == "test":
        control = _hex(args.control, "--control")
        if control >> (36 if args.subclass == 0 else 28):
            raise ValueError("--control %s is more than %d bits (subclass %d)"
                             % (args.control, 36 if args.subclass == 0 else 28, args.subclass))
        return _print_tokens(rep, [vending.class1_token(args.subclass, control, args.mfr_code)])
    dk = _key(args)
    if kind == "key-change":
        wide = args.algorithm == "misty1"
        sgc = args.new_sgc if args.new_sgc is not None else args.sgc
        if args.new_dk:
            new = _hex(args.new_dk, "--new-dk")
        else:
            new = _derive(args, _vending_key(args, args.new_vending_key), args.new_key_type, sgc, args.new_ti,
                          args.new_krn)
        # an EA11 set always carries the SGC; an EA07/EA09 set only when --new-sgc asks (3 tokens)
        tokens = vending.key_change_tokens(new, args.ken, args.new_krn, int(args.rollover), args.new_key_type,
                                           args.new_ti, dk, args.algorithm,
                                           sgc if wide or args.new_sgc is not None else None)
        return _print_tokens(rep, tokens)
    tid = _tid(args)
    if kind == "credit":
        subclass = vending.SERVICES.index(args.service) if args.service in vending.SERVICES else 4
        field = _credit_field(args, subclass)
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


def _print_tokens(rep, numbers):
    rep.data["tokens"] = [vending.group(n) for n in numbers]
    for number in numbers:
        rep.line(vending.group(number))
    return 0


class UsageError(Exception):
    pass


class Parser(argparse.ArgumentParser):
    """A usage error is one line and exit status 2, as every other bad argument."""

    def error(self, message):
        where = self.prog[len("vtc07"):].strip()
        raise UsageError("%s%s (see %s -h)" % (where + ": " if where else "", message, self.prog))


def _ranged(lo, hi, what="a number"):
    """argparse type: a whole number in lo..hi, else a usage error (exit 2)."""
    def check(text):
        try:
            value = int(text, 10)
        except ValueError:
            raise argparse.ArgumentTypeError("%r is not %s" % (text, what))
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError("%d is out of range (%d..%d)" % (value, lo, hi))
        return value
    check.__name__ = what
    return check


def _meter_number(text):
    if not (text.isdigit() and len(text) in (17, 18)):
        raise argparse.ArgumentTypeError("a meter number is 17 or 18 digits, not %r" % text)
    return text


def _generate_options(g, keep):
    """generate's options; `keep` (SUPPRESS) on the copies after KIND, so that a value given
    before KIND is not overwritten by the default."""
    d = lambda value: keep if keep else value  # noqa: E731
    g.add_argument("--meter-number", type=_meter_number, default=d("600727000000000009"))
    g.add_argument("--vending-key", default=d(None), help="hex: 16 digits for DKGA02 (default ABAB...AB), 40 for "
                   "DKGA04 (default the STS 531-1 test key ABAB...AB9494...9401234567)")
    g.add_argument("--dkga", choices=("02", "04"), default=d(None), help="key derivation: 02 (default for "
                   "sta/des) or 04 (default for misty1; uses --base-date and the algorithm)")
    g.add_argument("--dk", default=d(None), help="hex decoder key (16 digits, 32 for misty1), instead of deriving it")
    g.add_argument("--key-type", type=_ranged(0, 3), default=d(2))
    g.add_argument("--sgc", type=_ranged(0, 999999), default=d(123456))
    g.add_argument("--ti", type=_ranged(0, 99), default=d(1))
    g.add_argument("--krn", type=_ranged(1, 9), default=d(1))
    g.add_argument("--algorithm", choices=("sta", "des", "misty1"), default=d("sta"),
                   help="EA07, EA09 or EA11 (128-bit keys)")
    g.add_argument("--base-date", type=int, choices=sorted(vending.BASE_DATES), default=d(1993))
    g.add_argument("--issued", default=d("now"), help='"YYYY-MM-DD HH:MM" or now: the TID')
    g.add_argument("--tid", type=_ranged(0, (1 << 24) - 1), default=d(None),
                   help="the TID itself (minutes since the base date, 0..16777215)")
    g.add_argument("--rnd", type=_ranged(0, 15), metavar="0-15", default=d(None), help="default: random")
    g.add_argument("--json", action="store_true", default=d(False), help="print the tokens as JSON")


def _generate_parser(sub):
    g = sub.add_parser("generate", help="make a token (vending side)",
                       description="Make STS tokens as a vending system would. The defaults are "
                       "the unix board's meter and key (sts-tokens.md section 5). Options may "
                       "come before or after KIND.")
    _generate_options(g, None)
    common = argparse.ArgumentParser(add_help=False)
    _generate_options(common, argparse.SUPPRESS)
    kinds = g.add_subparsers(dest="kind", required=True, metavar="KIND")
    add = lambda name, **kw: kinds.add_parser(name, parents=[common], **kw)  # noqa: E731
    c = add("credit", help="class 0 TransferCredit")
    c.add_argument("--service", choices=vending.SERVICES + ("currency",), default="electricity")
    c.add_argument("--amount", required=True, help="in kWh, m3, min or currency units, e.g. 12.5; an amount "
                   "the token cannot carry exactly is carried as the nearest below (said on stderr); "
                   "currency may be negative and is rounded to the nearest 20-bit amount")
    for name, what in (("mpl", "SetMaximumPowerLimit, watts"), ("tariff-rate", "SetTariffRate"),
                       ("mppul", "SetMaximumPhasePowerUnbalanceLimit, watts"),
                       ("water-factor", "SetWaterMeterFactor")):
        add(name, help=what).add_argument("--value", required=True, type=_ranged(0, 1 << 30))
    cc = add("clear-credit", help="ClearCredit")
    cc.add_argument("--value", choices=vending.SERVICES + ("all",), default="all")
    add("clear-tamper", help="ClearTamperCondition")
    k = add("key-change", help="a key change set: prints its 2, 3 or 4 tokens (subclass 3, 4, 8, 9)")
    k.add_argument("--new-dk", help="hex; default: derived (--dkga) with the new key data")
    k.add_argument("--new-sgc", type=_ranged(0, 999999), help="carry this supply group code: a 3-token set on "
                   "EA07/EA09 (an EA11 set of 4 always carries one: default --sgc)")
    k.add_argument("--new-vending-key", help="hex; default: --vending-key")
    k.add_argument("--new-key-type", type=_ranged(0, 3), default=2)
    k.add_argument("--new-krn", type=_ranged(1, 9), default=2)
    k.add_argument("--new-ti", type=_ranged(0, 99), default=1)
    k.add_argument("--ken", type=_ranged(0, 255), default=255, help="key expiry number (255: never)")
    k.add_argument("--rollover", action="store_true", help="move the meter to the next base date")
    t = add("test", help="class 1 test/display token (not encrypted)")
    t.add_argument("--subclass", type=int, choices=(0, 1), default=0)
    t.add_argument("--control", default="FFFFFFFFF", help="hex control bits (36 for subclass 0, 28 for 1)")
    t.add_argument("--mfr-code", type=_ranged(0, 0xFFFF), default=0, help="0..255 for subclass 0")


def _line_options(p, keep):
    d = lambda value: keep if keep else value  # noqa: E731
    p.add_argument("--port", default=d(os.environ.get("VTC07_PORT", DEFAULT_PORT)),
                   help="pyserial URL or device (default $VTC07_PORT or %s)" % DEFAULT_PORT)
    p.add_argument("--baud", type=_ranged(1, 10**7), default=d(2400))
    p.add_argument("--parity", choices=("soft", "uart"), default=d("soft"),
                   help="soft: 8N1 port, parity made in bit 7 (default); uart: a 7E1 port")
    p.add_argument("--address", default=d(""), help="meter address for the IDRequest (default: any)")
    p.add_argument("--trace", default=d(None), help="record the session in the trace format to this file")
    p.add_argument("--json", action="store_true", default=d(False), help="report as JSON on stdout")


def parser():
    p = Parser(prog="vtc07", description=__doc__.split("\n\n")[0],
                                epilog="\n\n".join(__doc__.split("\n\n")[1:]),
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version="vtc07 %s" % __version__)
    _line_options(p, None)
    common = argparse.ArgumentParser(add_help=False)
    _line_options(common, argparse.SUPPRESS)
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    add = lambda name, **kw: sub.add_parser(name, parents=[common], **kw)  # noqa: E731
    add("id", help="sign on, show the identification")
    add("read", help="read registers").add_argument("registers", nargs="+", metavar="REG")
    add("dump", help="every readable register")
    w = add("write", help="write a register")
    w.add_argument("register")
    w.add_argument("value")
    add("token", help="enter tokens (a key change set may be given whole)").add_argument("digits", nargs="+")
    add("break", help="send BreakCommand")
    r = add("raw", help="send messages as written, show the answers",
            description="Send messages as written in the trace notation (docs/traces.md) and show "
            "what comes back, with no checks: a message not starting with <SOH>, /, <ACK> or <NAK> "
            "becomes a command (SOH, it, ETX, BCC). Example: vtc07 raw 'R1<STX>7FFF()' (ERR01).")
    r.add_argument("messages", nargs="+", metavar="MESSAGE")
    r.add_argument("--no-sign-on", action="store_true", help="do not sign on first")
    sub.add_parser("ports", help="list the serial ports").add_argument(
        "--json", action="store_true", help="report as JSON on stdout")
    conform.add_parser(sub)
    watch.add_parser(add)
    r = add("replay", help="replay traces against the meter")
    r.add_argument("traces", nargs="+")
    r.add_argument("--tolerance", type=_ranged(0, 10**6), default=50,
                   help="ms a response may be off (default %(default)s)")
    _generate_parser(sub)
    return p


COMMANDS = {"id": cmd_id, "read": cmd_read, "dump": cmd_dump, "write": cmd_write,
            "token": cmd_token, "break": cmd_break, "replay": cmd_replay, "raw": cmd_raw,
            "watch": watch.cmd_watch}


def _check_files(args):
    """Arguments and files the command will need, checked before the port is opened (exit 2)."""
    for name in list(getattr(args, "registers", [])) + ([args.register] if args.command == "write" else []):
        hhu.lookup(name)
    if args.command == "token":
        split_tokens(args.digits)
    for text in getattr(args, "messages", ()):
        raw_message(text)
    if getattr(args, "trace", None):
        try:
            open(args.trace, "a").close()
        except OSError as e:
            raise ValueError("--trace %s: %s" % (args.trace, e.strerror))
    if args.command == "replay":
        for path in args.traces:
            try:
                tracefile.load(path)
            except OSError as e:
                raise ValueError("trace %s: %s" % (path, e.strerror))
            except ValueError as e:
                raise ValueError("trace %s: %s" % (path, e))


def main(argv=None, out=print):
    p = parser()
    try:
        args = p.parse_args(argv)
    except UsageError as e:
        print("vtc07: %s" % e, file=sys.stderr)
        return 2
    if args.command is None:
        p.print_help(sys.stderr)
        return 2
    if args.command == "conform":  # its own report and exit statuses (0 1 2 3, docs/conformance.md)
        return conform.main(args, out)
    rep = Report(out, args.json)
    try:
        if args.command == "generate":
            return cmd_generate(args, rep)
        if args.command == "ports":
            return cmd_ports(args, rep)
        _check_files(args)
        with hhu.Hhu(args.port, args.baud, args.parity, args.address, args.trace) as meter:
            try:
                return COMMANDS[args.command](meter, args, rep)
            finally:
                rep.progress()
                if args.command not in ("break", "replay", "raw") and meter.port.is_open:
                    try:
                        meter.brk()  # leave the meter Idle, as an HHU does when it is done
                    except HhuError:
                        pass
    except MeterRefused as e:
        rep.data["error"] = str(e)
        print("vtc07: %s" % e, file=sys.stderr)
        return 3
    except HhuError as e:
        rep.data["error"] = str(e)
        print("vtc07: %s" % e, file=sys.stderr)
        return 1
    except ValueError as e:
        print("vtc07: %s" % e, file=sys.stderr)
        return 2
    finally:
        if args.command != "conform":
            rep.finish()


def main_exit():
    try:
        status = main()
        sys.stdout.flush()
    except KeyboardInterrupt:
        print("\nvtc07: interrupted", file=sys.stderr)
        status = 130
    except BrokenPipeError:
        # the reader went away (`vtc07 dump | head`): what it wanted was written
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        status = 0
    sys.exit(status)


if __name__ == "__main__":
    main_exit()
