"""`vtc07 watch`: credit, consumption, power and the load switch, live.

    vtc07 watch [--interval S] [--count N]

Reads CreditElectricity, TotalEnergyConsumed, Power, SwitchState and SwitchReason every
S seconds (default 1) in one session. On a terminal the line is rewritten in place; into
a pipe or file each sample is a line of its own; with --json each sample is one JSON
object on a line of its own. Ctrl-C ends it (exit status 0);
`--count N` stops after N samples.
"""
import json
import sys
import time

from . import hhu

FIELDS = ("CreditElectricity", "TotalEnergyConsumed", "Power", "SwitchState", "SwitchReason")


def add_parser(add):
    """`add(name, **kw)` makes a subcommand parser with the line options (cli.parser)."""
    w = add("watch", help="credit, power and the load switch, live")
    w.add_argument("--interval", type=float, default=1.0, help="seconds between samples (default 1)")
    w.add_argument("--count", type=int, default=0, help="stop after N samples (default: until Ctrl-C)")


def sample_line(values):
    """One sample as words: the registers' values by name -> a line."""
    def number(name):
        v = values[name]
        return None if v.startswith("ERR") else int(v)

    credit, used, power, state, reason = (number(name) for name in FIELDS)
    parts = [
        "credit " + (hhu.tenths(credit, "kWh") if credit is not None else values["CreditElectricity"]),
        "consumed " + (hhu.tenths(used, "kWh") if used is not None else values["TotalEnergyConsumed"]),
        "power %s W" % (power if power is not None else "?"),
    ]
    switch = hhu.SWITCH[state] if state is not None and state < len(hhu.SWITCH) else "?"
    why = hhu.SWITCH_REASONS[reason] if reason is not None and reason < len(hhu.SWITCH_REASONS) else "?"
    parts.append("switch " + switch + (" (%s)" % why if why and switch != "closed, low credit" else ""))
    return "  ".join(parts)


def cmd_watch(meter, args, rep):
    if args.interval <= 0 or args.count < 0:
        raise ValueError("--interval must be > 0 and --count >= 0")
    missing = [name for name in FIELDS if name.lower() not in hhu.BY_NAME]
    if missing:
        raise ValueError("this firmware has no %s register" % ", ".join(missing))
    regs = [hhu.BY_NAME[name.lower()] for name in FIELDS]
    tty = rep.out is print and sys.stdout.isatty() and not rep.json
    meter.sign_on()
    n = 0
    try:
        while True:
            values = {reg.name: meter.read(reg) for reg in regs}
            line = sample_line(values)
            if rep.json:  # one JSON object per sample, a line each (JSON Lines)
                rep.out(json.dumps(values))
            elif tty:
                sys.stdout.write("\r\x1b[2K" + line)
                sys.stdout.flush()
            else:
                rep.out(line)
            n += 1
            if args.count and n >= args.count:
                break
            time.sleep(args.interval)
    except KeyboardInterrupt:
        pass
    if tty:
        sys.stdout.write("\n")
    return 0
