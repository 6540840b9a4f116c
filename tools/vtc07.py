"""`vtc07`: the HHU on the host, the token generator, and the line replayer.

    vtc07 [--port URL] [--baud N] [--parity soft|uart] [--address A] [--trace FILE] COMMAND

    id                      sign on and show the meter's identification
    read REG...             registers by ID (8001) or name (CreditElectricity), in words
    dump                    every readable register, as a table
    write REG VALUE         write a register
    token DIGITS            enter a 20-digit token and show its result and the credit change
    break                   send BreakCommand (end a session)
    generate KIND ...       make a token (vending side; no meter needed); `generate -h`
    replay TRACE...         replay recorded traces against the meter, show the first difference
    conform                 run the profile's conformance cases, report per clause (docs/conformance.md)
    watch                   credit, power and the load switch, live (tools/watch.py)

URL is anything pyserial opens: /dev/ttyUSB0, a pty path, socket://127.0.0.1:7001 (the
simulated meter, the default). Exit status: 0 done, 1 the HHU failed (line, timeout,
garbled answers), 2 bad usage, 3 the meter refused (error data message, token rejected,
replay differs).
"""
import argparse
import datetime
import sys

import conform
import hhu
import vending
import watch
from formats import FMT_A, FMT_B, FMT_D, FMT_H
from hhu import HhuError, MeterRefused
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


def cmd_id(meter, args, out):
    ident = meter.sign_on()
    speeds = {chr(char): baud for baud, char in BAUD_CHARS}
    out("%s" % ident)
    out("manufacturer %s, speed %s Bd, identification %s"
        % (ident[1:4], speeds.get(ident[4], "?"), ident[5:]))
    return 0


def cmd_read(meter, args, out):
    regs = [hhu.lookup(name) for name in args.registers]
    meter.sign_on()
    status = 0
    for reg in regs:
        value = meter.read(reg)
        out(_line(reg, value).rstrip())
        if value.startswith("ERR"):
            status = 3
    return status


def cmd_dump(meter, args, out):
    meter.sign_on()
    out("%-4s %-32s %-20s %s" % ("ID", "name", "value", "meaning"))
    for reg in hhu.REGISTERS:
        if not reg.readable:
            continue
        out(_line(reg, meter.read(reg)).rstrip())
    return 0


def cmd_write(meter, args, out):
    reg = hhu.lookup(args.register)
    if not reg.writable:
        raise ValueError("%04X %s is not writable" % (reg.rid, reg.name))
    if not hhu.value_ok(reg, args.value):
        raise ValueError("%04X %s takes %s: %r does not fit"
                       % (reg.rid, reg.name, _format_words(reg), args.value))
    meter.sign_on()
    answer = meter.write(reg, args.value)
    if answer is None:
        out("%04X %s: written" % (reg.rid, reg.name))
        return 0
    out("%04X %s: refused, %s %s" % (reg.rid, reg.name, answer, hhu.describe(reg, answer)))
    return 3


def _format_words(reg):
    kind = {FMT_H: "hex digits", FMT_D: "decimal digits", FMT_B: "binary digits",
            FMT_A: "printable characters"}[reg.fmt]
    return ("1 to %d %s" if reg.fmt == FMT_A else "exactly %d %s") % (reg.width, kind)


KCT_WARNING = ("warning: a key change half (subclass %s) entered earlier is waiting in this meter. If "
               "this token is the other half, the meter pairs the two: go on only if both were "
               "generated together; halves of two different key changes make a key nobody issued "
               "(docs/hhu.md).")


def cmd_token(meter, args, out):
    number = hhu.token_number(" ".join(args.digits))
    meter.sign_on()
    if (number >> TOKEN_CLASS_SHIFT) & 3 == CLASS_MANAGEMENT and "keychangehalfwaiting" in hhu.BY_NAME:
        # The halves cannot show whether they belong together (both are encrypted under the
        # meter's key): the HHU can only say that this one will pair with a half it did not enter.
        waiting = meter.read(hhu.BY_NAME["keychangehalfwaiting"])
        if waiting not in ("0", "") and not waiting.startswith("ERR"):
            print(KCT_WARNING % waiting, file=sys.stderr)
    status, before, after = meter.enter_token(number)
    out("token %s: %02d %s" % (vending.group(number), status, hhu.TOKEN_STATUS.get(status, "unknown")))
    for name in before:
        if before[name] != after[name]:
            out("  " + _credit_change(name, before[name], after[name]))
    return 0 if status in ACCEPTED else 3


def cmd_break(meter, args, out):
    meter.brk()
    return 0


def cmd_replay(meter, args, out):
    import replay_line

    worst = 0
    for path in args.traces:
        differences = replay_line.replay_file(meter, path, args.tolerance)
        if differences:
            out("%s: differs" % path)
            for line in differences:
                out(line)
            worst = 3
        else:
            out("%s: same" % path)
    return worst


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


def cmd_generate(args, out):
    rnd = vending.random_rnd() if args.rnd is None else args.rnd
    kind = args.kind
    if kind == "test":
        control = int(args.control, 16)
        out(vending.group(vending.class1_token(args.subclass, control, args.mfr_code)))
        return 0
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
        for number in tokens:
            out(vending.group(number))
        return 0
    tid = _tid(args)
    if kind == "credit":
        subclass = vending.SERVICES.index(args.service) if args.service in vending.SERVICES else 4
        field = vending.credit_field(subclass, args.amount)
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
    out(vending.group(number))
    return 0


def _generate_parser(sub):
    g = sub.add_parser("generate", help="make a token (vending side)",
                       description="Make STS tokens as a vending system would. The defaults are "
                       "the unix board's meter and key (sts-tokens.md section 5).")
    g.add_argument("--meter-number", default="600727000000000009")
    g.add_argument("--vending-key", help="hex: 16 digits for DKGA02 (default ABAB...AB), 40 for DKGA04 "
                   "(default the STS 531-1 test key ABAB...AB9494...9401234567)")
    g.add_argument("--dkga", choices=("02", "04"), help="key derivation: 02 (default for sta/des) or 04 "
                   "(default for misty1; uses --base-date and the algorithm)")
    g.add_argument("--dk", help="hex decoder key (16 digits, 32 for misty1), instead of deriving it")
    g.add_argument("--key-type", type=int, default=2)
    g.add_argument("--sgc", type=int, default=123456)
    g.add_argument("--ti", type=int, default=1)
    g.add_argument("--krn", type=int, default=1)
    g.add_argument("--algorithm", choices=("sta", "des", "misty1"), default="sta",
                   help="EA07, EA09 or EA11 (128-bit keys)")
    g.add_argument("--base-date", type=int, choices=sorted(vending.BASE_DATES), default=1993)
    g.add_argument("--issued", default="now", help='"YYYY-MM-DD HH:MM" or now: the TID')
    g.add_argument("--tid", type=int, help="the TID itself (minutes since the base date)")
    g.add_argument("--rnd", type=int, choices=range(16), metavar="0-15", help="default: random")
    kinds = g.add_subparsers(dest="kind", required=True)
    c = kinds.add_parser("credit", help="class 0 TransferCredit")
    c.add_argument("--service", choices=vending.SERVICES + ("currency",), default="electricity")
    c.add_argument("--amount", required=True, help="in kWh, m3, min or currency units, e.g. 12.5; currency "
                   "may be negative and is rounded to the nearest 20-bit amount")
    for name, what in (("mpl", "SetMaximumPowerLimit, watts"), ("tariff-rate", "SetTariffRate"),
                       ("mppul", "SetMaximumPhasePowerUnbalanceLimit, watts"),
                       ("water-factor", "SetWaterMeterFactor")):
        kinds.add_parser(name, help=what).add_argument("--value", required=True)
    cc = kinds.add_parser("clear-credit", help="ClearCredit")
    cc.add_argument("--value", choices=vending.SERVICES + ("all",), default="all")
    kinds.add_parser("clear-tamper", help="ClearTamperCondition")
    k = kinds.add_parser("key-change", help="a key change set: prints its 2, 3 or 4 tokens (subclass 3, 4, 8, 9)")
    k.add_argument("--new-dk", help="hex; default: derived (--dkga) with the new key data")
    k.add_argument("--new-sgc", type=int, help="carry this supply group code: a 3-token set on EA07/EA09 "
                   "(an EA11 set of 4 always carries one: default --sgc)")
    k.add_argument("--new-vending-key", help="hex; default: --vending-key")
    k.add_argument("--new-key-type", type=int, default=2)
    k.add_argument("--new-krn", type=int, default=2)
    k.add_argument("--new-ti", type=int, default=1)
    k.add_argument("--ken", type=int, default=255, help="key expiry number (255: never)")
    k.add_argument("--rollover", action="store_true", help="move the meter to the next base date")
    t = kinds.add_parser("test", help="class 1 test/display token (not encrypted)")
    t.add_argument("--subclass", type=int, choices=(0, 1), default=0)
    t.add_argument("--control", default="FFFFFFFFF", help="hex control bits (36 or 28)")
    t.add_argument("--mfr-code", type=int, default=0)


def parser():
    p = argparse.ArgumentParser(prog="vtc07", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", default=DEFAULT_PORT, help="pyserial URL or device (default %(default)s)")
    p.add_argument("--baud", type=int, default=2400)
    p.add_argument("--parity", choices=("soft", "uart"), default="soft",
                   help="soft: 8N1 port, parity made in bit 7 (default); uart: a 7E1 port")
    p.add_argument("--address", default="", help="meter address for the IDRequest (default: any)")
    p.add_argument("--trace", help="record the session in the trace format to this file")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("id", help="sign on, show the identification")
    sub.add_parser("read", help="read registers").add_argument("registers", nargs="+")
    sub.add_parser("dump", help="every readable register")
    w = sub.add_parser("write", help="write a register")
    w.add_argument("register")
    w.add_argument("value")
    sub.add_parser("token", help="enter a token").add_argument("digits", nargs="+")
    sub.add_parser("break", help="send BreakCommand")
    conform.add_parser(sub)
    watch.add_parser(sub)
    r = sub.add_parser("replay", help="replay traces against the meter")
    r.add_argument("traces", nargs="+")
    r.add_argument("--tolerance", type=int, default=50, help="ms a response may be off (default %(default)s)")
    _generate_parser(sub)
    return p


COMMANDS = {"id": cmd_id, "read": cmd_read, "dump": cmd_dump, "write": cmd_write,
            "token": cmd_token, "break": cmd_break, "replay": cmd_replay, "watch": watch.cmd_watch}


def main(argv=None, out=print):
    args = parser().parse_args(argv)
    if args.command == "conform":  # its own report and exit statuses (0 1 2 3, docs/conformance.md)
        return conform.main(args, out)
    try:
        if args.command == "generate":
            return cmd_generate(args, out)
        with hhu.Hhu(args.port, args.baud, args.parity, args.address, args.trace) as meter:
            try:
                return COMMANDS[args.command](meter, args, out)
            finally:
                if args.command not in ("break", "replay") and meter.port.is_open:
                    try:
                        meter.brk()  # leave the meter Idle, as an HHU does when it is done
                    except HhuError:
                        pass
    except MeterRefused as e:
        print("vtc07: %s" % e, file=sys.stderr)
        return 3
    except HhuError as e:
        print("vtc07: %s" % e, file=sys.stderr)
        return 1
    except ValueError as e:
        print("vtc07: %s" % e, file=sys.stderr)
        return 2


def main_exit():
    sys.exit(main())


if __name__ == "__main__":
    main_exit()
