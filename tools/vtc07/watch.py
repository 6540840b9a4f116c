"""`vtc07 watch`: credit, consumption, power and the load switch, live.

    vtc07 watch [--interval S] [--count N] [--resume S]

Reads CreditElectricity, TotalEnergyConsumed, Power, SwitchState and SwitchReason every
S seconds (default 1) in one session; each sample has the time it was taken. On a terminal
the line is rewritten in place; into a pipe or file each sample is a line of its own; with
--json each sample is one JSON object on a line of its own (and nothing else). Ctrl-C ends
it (exit status 0); `--count N` stops after N samples.

It outlives what a line does to a long session: when the meter ends the session (its
session timeout) watch signs on again; when the line is lost (another HHU took the
simulated meter's line to enter a token) it says so on stderr, waits --resume seconds
(default 10) for the other HHU to finish, and takes the line back.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import time
from typing import TYPE_CHECKING, Optional

from . import hhu
from .options import ranged, seconds

if TYPE_CHECKING:
    from .cli import Report

FIELDS = ("CreditElectricity", "TotalEnergyConsumed", "Power", "SwitchState", "SwitchReason")


def setup(w: argparse.ArgumentParser) -> None:
    w.add_argument(
        "--interval", type=seconds(0.01, 86400), default=1.0, metavar="S", help="seconds between samples (default 1)"
    )
    w.add_argument(
        "--count", type=ranged(0, 10**9), default=0, metavar="N", help="stop after N samples (default: until Ctrl-C)"
    )
    w.add_argument(
        "--resume",
        type=seconds(0, 3600),
        default=10.0,
        metavar="S",
        help="when the line is lost (another HHU took it), wait S seconds before taking it back (default 10)",
    )


def sample_line(values: dict[str, str]) -> str:
    """One sample as words: the registers' values by name -> a line."""

    def number(name: str) -> Optional[int]:
        v = values[name]
        return int(v) if v.isdigit() else None

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


def _say(text: str) -> None:
    print("\nvtc07 watch: " + text if sys.stdout.isatty() else "vtc07 watch: " + text, file=sys.stderr)


def _take_line_back(meter: hhu.Hhu, args: argparse.Namespace, error: BaseException) -> None:
    """After a failed read: sign on again, on the same line or (lost) a reopened one. Tries
    until it works (Ctrl-C ends it)."""
    lost = "the line failed" in str(error)
    while True:
        if lost:
            _say("the line was lost (%s): another HHU has it? Taking it back in %g s" % (error, args.resume))
            time.sleep(args.resume)
            try:
                meter.port.close()
                meter.port.open()
            except Exception as e:  # serial.SerialException, OSError: still gone
                error = e
                continue
        else:
            _say("the meter ended the session (%s): signing on again" % error)
        try:
            meter.sign_on()
            _say("resumed")
            return
        except hhu.MeterRefused:
            raise
        except hhu.HhuError as e:
            error, lost = e, True


def run(meter: hhu.Hhu, args: argparse.Namespace, rep: Report) -> int:
    missing = [name for name in FIELDS if name.lower() not in hhu.by_name()]
    if missing:
        raise ValueError("this firmware has no %s register" % ", ".join(missing))
    regs = [hhu.by_name()[name.lower()] for name in FIELDS]
    tty = rep.out is print and sys.stdout.isatty() and not rep.json
    meter.sign_on()
    n = 0
    try:
        while True:
            try:
                values = {reg.name: meter.read(reg) for reg in regs}
            except hhu.MeterRefused:
                raise
            except hhu.HhuError as e:
                _take_line_back(meter, args, e)
                continue
            now = datetime.datetime.now()
            line = now.strftime("%H:%M:%S  ") + sample_line(values)
            if rep.json:  # one JSON object per sample, a line each (JSON Lines)
                rep.out(json.dumps(dict(values, time=now.isoformat(timespec="seconds"))))
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
