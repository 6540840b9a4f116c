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
    ports                   list the serial ports (USB VID:PID; warns of adapters bad at 7E1)
    generate KIND ...       make a token (vending side; no meter needed); `generate -h`
    replay TRACE...         replay recorded traces against the meter, show the first difference
    conform                 run the profile's conformance cases, report per clause (docs/conformance.md)
    watch                   credit, power and the load switch, live (--json: a line per sample)
    completion [bash|zsh]   print a shell completion script (eval "$(vtc07 completion bash)")

URL is anything pyserial opens: /dev/ttyUSB0, a pty path, socket://127.0.0.1:7001 (the
simulated meter, the default). Defaults for the line options come from vtc07.toml (the
working directory, else ~/.config/vtc07/) and $VTC07_PORT. Exit status: 0 done, 1 the
HHU failed (line, timeout, garbled answers), 2 bad usage, 3 the meter refused (error data
message, token rejected, replay differs), 130 interrupted (Ctrl-C). `conform` has its own
(docs/conformance.md).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING, Any, Callable, NoReturn, Optional, Sequence, TypeVar

from . import __version__, options
from .hhu import HhuError, MeterRefused

if TYPE_CHECKING:  # hhu is imported when a command needs it: `import vtc07.cli` stays light
    from .hhu import Hhu, Register

Out = Callable[[str], object]  # where a report's text goes (print)
RunT = TypeVar("RunT", bound=Callable[..., int])

DEFAULT_PORT = "socket://127.0.0.1:7001"
ACCEPTED = (1, 2, 3)  # Accept, 1stKCT, 2ndKCT


class Report:
    """What a command reports: text lines as it goes, or one JSON object at the end
    (`--json`). Progress goes to stderr, and only on a terminal; so does colour (stdout)."""

    def __init__(self, out: Out, as_json: bool) -> None:
        self.out = out
        self.json = as_json
        self.data: dict[str, Any] = {}
        self._progress = sys.stderr.isatty() and not as_json
        self._colour = (
            out is print
            and not as_json
            and sys.stdout.isatty()
            and "NO_COLOR" not in os.environ
            and os.environ.get("TERM") != "dumb"
        )
        self.done = False  # finish() prints nothing more but an error (watch prints as it goes)

    def line(self, text: str) -> None:
        if not self.json:
            self.out(text)

    def good(self, text: str, ok: bool = True) -> str:
        """`text` in green (ok) or red, on a terminal only."""
        return "\x1b[%dm%s\x1b[0m" % (32 if ok else 31, text) if self._colour else text

    def progress(self, text: str = "") -> None:
        if self._progress:
            sys.stderr.write("\r\x1b[K" + text)
            sys.stderr.flush()

    def note(self, text: str) -> None:
        """A remark about the line (stderr, and the JSON report's "notes")."""
        self.data.setdefault("notes", []).append(text)
        print("vtc07: note: " + text, file=sys.stderr)

    def finish(self) -> None:
        self.progress()
        if self.json and not self.done:
            self.out(json.dumps(self.data, indent=1))
        elif self.json and "error" in self.data:  # after JSON Lines: one line more
            self.out(json.dumps({"error": self.data["error"]}))


# --- the registry of commands ------------------------------------------------------------


class Command:
    """One `vtc07` command. `run(meter, args, rep)` for a command on the line (the HHU
    opens the port, runs it, and sends Break after it if `leave_idle`), `run(args, rep)`
    for one without (`line` False); `setup(parser)` adds its arguments; `check(args)`
    checks them before the port is opened (ValueError: exit 2)."""

    def __init__(
        self,
        name: str,
        help: str,
        run: Callable[..., int],
        setup: Optional[Callable[[argparse.ArgumentParser], None]] = None,
        line: bool = True,
        leave_idle: bool = True,
        check: Optional[Callable[[argparse.Namespace], object]] = None,
        description: Optional[str] = None,
        parser: Optional[Callable[[Any], argparse.ArgumentParser]] = None,
        own: bool = False,
    ) -> None:
        self.name, self.help, self.run, self.setup = name, help, run, setup
        self.line, self.leave_idle, self.check, self.description = line, leave_idle, check, description
        self.own = own  # its own report and exit statuses: run(args, out) -> status (conform)
        self._parser = parser

    def parser(self, sub: Any, common: argparse.ArgumentParser) -> argparse.ArgumentParser:
        if self._parser:
            return self._parser(sub)
        p = sub.add_parser(
            self.name, parents=[common] if self.line else [], help=self.help, description=self.description or self.help
        )
        if self.setup:
            self.setup(p)
        if "--json" not in p._option_string_actions:
            p.add_argument("--json", action="store_true", help="report as JSON on stdout")
        return p


COMMANDS: dict[str, Command] = {}


def register(command: Command) -> Command:
    COMMANDS[command.name] = command
    return command


def command(name: str, help: str, **kw: Any) -> Callable[[RunT], RunT]:
    """Decorator: `run` registered as the command `name`."""

    def add(run: RunT) -> RunT:
        register(Command(name, help, run, **kw))
        return run

    return add


def _import_commands() -> None:
    """The commands kept in modules of their own: their modules are loaded here, so that
    `import vtc07.cli` stays light (hhu builds its register table when first asked)."""
    from . import conform, generate, watch

    register(
        Command(
            "generate",
            "make a token (vending side)",
            generate.run,
            generate.setup,
            line=False,
            description="Make STS tokens as a vending system would. The defaults are the unix "
            "board's meter and key (sts-tokens.md section 5). Options may come before or after KIND.",
        )
    )
    register(Command("watch", "credit, power and the load switch, live", watch.run, watch.setup, leave_idle=True))
    register(
        Command(
            "conform",
            "run the VTC07 profile's conformance cases against a meter",
            lambda args, out: conform.main(args, out),
            parser=conform.add_parser,
            own=True,
        )
    )


# --- line commands ------------------------------------------------------------------------


def sign_on(meter: Hhu, rep: Report) -> str:

    rep.progress("signing on (up to %.0f s) ..." % meter.first_s)
    try:
        return meter.sign_on()
    finally:
        rep.progress()
        for note in meter.take_notes():
            rep.note(note)


def _register(reg: Register, value: str, meaning: str) -> dict[str, str]:
    return {"id": "%04X" % reg.rid, "name": reg.name, "value": value, "meaning": meaning}


def _line(reg: Register, value: str, meaning: str) -> str:
    return "%04X %-32s %-20s %s" % (reg.rid, reg.name, value, meaning)


@command("id", "sign on, show the identification")
def cmd_id(meter: Hhu, args: argparse.Namespace, rep: Report) -> int:
    from tables import BAUD_CHARS

    ident = sign_on(meter, rep)
    speeds = {chr(char): baud for baud, char in BAUD_CHARS}
    rep.line("%s" % ident)
    rep.line("manufacturer %s, speed %s Bd, identification %s" % (ident[1:4], speeds.get(ident[4], "?"), ident[5:]))
    rep.data.update(id_response=ident, manufacturer=ident[1:4], baud=speeds.get(ident[4]), identification=ident[5:])
    return 0


def _read_all(meter: Hhu, regs: Sequence[Register], rep: Report) -> int:
    """Read `regs` and report each; the status: 3 for an ERRnn, 1 for a value the HHU cannot
    read (the rest is read and shown all the same)."""
    from . import hhu

    status = 0
    rep.data["registers"] = []
    values: dict[str, str] = {}
    bad: list[str] = []
    for reg in regs:
        value = meter.read(reg)
        values[reg.name] = value
        if value.startswith("ERR"):
            status = max(status, 3)
        elif not hhu.value_ok(reg, value):
            status = 1  # garbled in a way the BCC did not catch, or a meter built wrong
            bad.append(reg.name)
        meaning = hhu.describe(reg, value)
        if reg.name == "SwitchState" and hhu.no_switch(values):
            meaning = hhu.NO_SWITCH
        rep.line(_line(reg, value, meaning).rstrip())
        rep.data["registers"].append(_register(reg, value, meaning))
    if bad:  # the rest was read and shown all the same
        print("vtc07: the meter's value of %s does not fit the register's format" % ", ".join(bad), file=sys.stderr)
    return status


def _setup_read(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "registers",
        nargs="+",
        metavar="REG",
        help="a register's 4-digit ID (8001) or name (CreditElectricity, any case)",
    )


def _check_registers(args: argparse.Namespace) -> None:
    from . import hhu

    for name in args.registers:
        hhu.lookup(name)


@command("read", "read registers", setup=_setup_read, check=_check_registers)
def cmd_read(meter: Hhu, args: argparse.Namespace, rep: Report) -> int:
    from . import hhu

    regs = [hhu.lookup(name) for name in args.registers]
    sign_on(meter, rep)
    return _read_all(meter, regs, rep)


@command("dump", "every readable register")
def cmd_dump(meter: Hhu, args: argparse.Namespace, rep: Report) -> int:
    from . import hhu

    sign_on(meter, rep)
    rep.line("%-4s %-32s %-20s %s" % ("ID", "name", "value", "meaning"))
    return _read_all(meter, [reg for reg in hhu.registers() if reg.readable], rep)


def _setup_write(p: argparse.ArgumentParser) -> None:
    p.add_argument("register", metavar="REG", help="the register's 4-digit ID or name")
    p.add_argument("value", metavar="VALUE", help="its new value, as the register's format writes it")


def _check_write(args: argparse.Namespace) -> None:
    from . import hhu

    reg = hhu.lookup(args.register)
    if not reg.writable:
        raise ValueError("%04X %s is not writable" % (reg.rid, reg.name))
    if not hhu.value_ok(reg, args.value):
        raise ValueError("%04X %s takes %s: %r does not fit" % (reg.rid, reg.name, hhu.format_words(reg), args.value))


@command("write", "write a register", setup=_setup_write, check=_check_write)
def cmd_write(meter: Hhu, args: argparse.Namespace, rep: Report) -> int:
    from . import hhu

    reg = hhu.lookup(args.register)
    sign_on(meter, rep)
    answer = meter.write(reg, args.value)
    rep.data.update(
        id="%04X" % reg.rid,
        name=reg.name,
        value=args.value,
        written=answer is None,
        error=answer,
        meaning=hhu.describe(reg, answer) if answer else "",
    )
    if answer is None:
        rep.line("%04X %s: written" % (reg.rid, reg.name))
        return 0
    rep.line("%04X %s: refused, %s %s" % (reg.rid, reg.name, answer, hhu.describe(reg, answer)))
    return 3


KCT_REFUSED = (
    "a key change half (subclass %s) entered earlier is waiting in this meter: a class 2 token "
    "entered now may be the other half of another set, and two halves of different sets make a key "
    "nobody issued. Enter a key change set whole in one command; if this token is that half's own "
    "other half, give --force (docs/hhu.md)"
)


def split_tokens(words: Sequence[str]) -> list[int]:
    """One token, or several in a row (a key change set): 20 digits each."""
    from . import hhu

    text = " ".join(words)
    digits = "".join(c for c in text if c not in " -")
    if len(digits) > 20 and len(digits) % 20 == 0 and digits.isdigit():
        return [hhu.token_number(digits[i : i + 20]) for i in range(0, len(digits), 20)]
    return [hhu.token_number(text)]


def _setup_token(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "digits",
        nargs="+",
        metavar="DIGITS",
        help="a 20-digit token (dashes and spaces allowed), or a key change set's tokens in a row",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="enter a class 2 token although a key change half entered earlier is waiting",
    )


@command(
    "token",
    "enter tokens (a key change set may be given whole)",
    setup=_setup_token,
    check=lambda args: split_tokens(args.digits),
)
def cmd_token(meter: Hhu, args: argparse.Namespace, rep: Report) -> int:
    from tables import CLASS_MANAGEMENT, TOKEN_CLASS_SHIFT

    from . import hhu, vending

    numbers = split_tokens(args.digits)
    sign_on(meter, rep)
    waiting_reg = hhu.by_name().get("keychangehalfwaiting")
    if (numbers[0] >> TOKEN_CLASS_SHIFT) & 3 == CLASS_MANAGEMENT and waiting_reg is not None:
        # The halves cannot show whether they belong together (both are encrypted under the
        # meter's key): the HHU can only say that this one will pair with a half it did not enter.
        waiting = meter.read(waiting_reg)
        if waiting not in ("0", "") and not waiting.startswith("ERR"):
            rep.data["key_change_half_waiting"] = waiting
            if not args.force:
                raise ValueError(KCT_REFUSED % waiting)
            print(
                "vtc07: warning: " + (KCT_REFUSED % waiting).split(". Enter")[0] + "; entered (--force)",
                file=sys.stderr,
            )
    rep.data["tokens"] = []
    for number in numbers:
        token_class = (number >> TOKEN_CLASS_SHIFT) & 3
        status, before, after = meter.enter_token(
            number,
            hhu.CHANGES.get(token_class, ()),
            lambda s: rep.progress("the meter is working on the token: %.0f s ..." % s),
        )
        rep.progress()
        meaning = hhu.TOKEN_STATUS.get(status, "unknown")
        rep.line("token %s: %s" % (vending.group(number), rep.good("%02d %s" % (status, meaning), status in ACCEPTED)))
        changes = [name for name in before if before[name] != after[name]]
        for name in changes:
            rep.line("  " + hhu.change_words(name, before[name], after[name]))
        rep.data["tokens"].append(
            {
                "token": vending.group(number),
                "status": status,
                "meaning": meaning,
                "accepted": status in ACCEPTED,
                "changes": [{"name": n, "before": before[n], "after": after[n]} for n in changes],
            }
        )
        if status not in ACCEPTED:
            return 3
    return 0


@command("break", "send BreakCommand", leave_idle=False)
def cmd_break(meter: Hhu, args: argparse.Namespace, rep: Report) -> int:
    meter.brk()
    rep.data["sent"] = "BreakCommand"
    return 0


def _setup_replay(p: argparse.ArgumentParser) -> None:
    p.add_argument("traces", nargs="+", metavar="TRACE", help="a trace file (docs/traces.md)")
    p.add_argument(
        "--tolerance",
        type=options.ranged(0, 10**6),
        default=50,
        metavar="MS",
        help="ms a response may be off (default %(default)s)",
    )


def _check_replay(args: argparse.Namespace) -> None:
    from . import tracefile

    for path in args.traces:
        try:
            tracefile.load(path)
        except OSError as e:
            raise ValueError("trace %s: %s" % (path, e.strerror))
        except ValueError as e:
            raise ValueError("trace %s: %s" % (path, e))


@command("replay", "replay traces against the meter", setup=_setup_replay, check=_check_replay, leave_idle=False)
def cmd_replay(meter: Hhu, args: argparse.Namespace, rep: Report) -> int:
    from . import replay_line

    worst = 0
    rep.data["traces"] = []
    for path in args.traces:
        differences = replay_line.replay_file(meter, path, args.tolerance)
        rep.data["traces"].append({"path": path, "same": not differences, "differences": differences})
        if differences:
            rep.line("%s: %s" % (path, rep.good("differs", False)))
            for line in differences:
                rep.line(line)
            worst = 3
        else:
            rep.line("%s: %s" % (path, rep.good("same")))
    return worst


def raw_message(text: str) -> list[int]:
    """Characters for a message in trace notation: sent as written if it starts as a
    message does (<SOH>, /, <ACK>, <NAK>, a raw {hh}), else made a command: SOH, the
    text, ETX and its BCC (`R1<STX>7FFF()`)."""
    import re

    from . import tracefile

    names = [m.group(1) or m.group(2) for m in re.finditer(r"<([^>]*)>|\{([^}]*)\}", text)]
    try:
        chars = tracefile.unescape(text)
    except ValueError:
        chars = None
    if chars is None or not all(n in tracefile.NAMES.values() or re.fullmatch("[0-9A-Fa-f]{2}", n) for n in names):
        raise ValueError(
            "%r: write characters as themselves or as <SOH> <STX> <ETX> <ACK> <NAK> <CR> <LF>, "
            '<hh> (two hex digits) or {hh} (a raw line byte); "<" itself is <3C>' % text
        )
    if not chars:
        raise ValueError("an empty message")
    if chars[0] in (0x01, ord("/"), 0x06, 0x15) or chars[0] & tracefile.RAW:
        return chars
    if any(c & tracefile.RAW for c in chars):
        raise ValueError("%r: a raw byte {hh} only in a message written out from its <SOH>" % text)
    if any(c > 0x7F for c in chars):
        raise ValueError("%r: characters are 7-bit (<00> to <7F>)" % text)
    return list(tracefile.command(bytes(chars)))


def _setup_raw(p: argparse.ArgumentParser) -> None:
    p.add_argument("messages", nargs="+", metavar="MESSAGE", help="a message in the trace notation")
    p.add_argument("--no-sign-on", action="store_true", help="do not sign on first")


def _check_raw(args: argparse.Namespace) -> None:
    for text in args.messages:
        raw_message(text)


@command(
    "raw",
    "send messages as written, show the answers",
    setup=_setup_raw,
    check=_check_raw,
    leave_idle=False,
    description="Send messages as written in the trace notation (docs/traces.md) and show "
    "what comes back, with no checks: a message not starting with <SOH>, /, <ACK> or <NAK> "
    "becomes a command (SOH, it, ETX, BCC). Example: vtc07 raw 'R1<STX>7FFF()' (ERR01).",
)
def cmd_raw(meter: Hhu, args: argparse.Namespace, rep: Report) -> int:
    """Requests the HHU would refuse (an unknown register, a wrong value), to see the meter's
    ERRnn; the answers are shown as they came, garbled ones too."""
    from . import hhu, tracefile

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
    for note in meter.take_notes():
        rep.note(note)
    return status


# --- commands without a line -------------------------------------------------------------


@command("ports", "list the serial ports (USB VID:PID; warns of adapters known bad at 7E1)", line=False)
def cmd_ports(args: argparse.Namespace, rep: Report) -> int:
    from . import ports

    return ports.run(rep)


def _setup_completion(p: argparse.ArgumentParser) -> None:
    p.add_argument("shell", nargs="?", choices=("bash", "zsh"), default="bash", help="the shell (default bash)")


@command(
    "completion",
    "print a shell completion script",
    line=False,
    setup=_setup_completion,
    description='Print a completion script for bash or zsh. Load it with eval "$(vtc07 completion bash)" '
    'in ~/.bashrc (zsh: eval "$(vtc07 completion zsh)" in ~/.zshrc).',
)
def cmd_completion(args: argparse.Namespace, rep: Report) -> int:
    from . import completion

    rep.data["script"] = completion.script(parser(), args.shell)
    rep.line(rep.data["script"])
    return 0


# --- the parser ----------------------------------------------------------------------------


class UsageError(Exception):
    pass


class Parser(argparse.ArgumentParser):
    """A usage error is one line and exit status 2, as every other bad argument."""

    def error(self, message: str) -> NoReturn:
        where = self.prog[len("vtc07") :].strip()
        raise UsageError("%s%s (see %s -h)" % (where + ": " if where else "", message, self.prog))


def _line_options(p: argparse.ArgumentParser, keep: Optional[str], defaults: dict[str, Any]) -> None:
    d = lambda value: keep if keep else value  # noqa: E731
    p.add_argument(
        "-p",
        "--port",
        type=options.port,
        default=d(defaults["port"]),
        metavar="URL",
        help="pyserial URL or device (default: $VTC07_PORT, vtc07.toml, or %s)" % DEFAULT_PORT,
    )
    p.add_argument(
        "-b",
        "--baud",
        type=options.ranged(1, 10**7),
        default=d(defaults["baud"]),
        metavar="N",
        help="the line's speed in Bd (default %d)" % defaults["baud"],
    )
    p.add_argument(
        "--parity",
        choices=("soft", "uart"),
        default=d(defaults["parity"]),
        help="soft: 8N1 port, parity made in bit 7 (default); uart: a 7E1 port (bit 7 of what "
        "comes back is ignored: some adapters leak the parity bit there)",
    )
    p.add_argument(
        "--address",
        type=options.address,
        default=d(defaults["address"]),
        metavar="A",
        help="meter address for the IDRequest (default: any)",
    )
    p.add_argument(
        "--echo",
        action="store_true",
        default=d(defaults["echo"]),
        help="the adapter echoes what is sent (half-duplex current loop, RS-485): take the echo back and check it",
    )
    p.add_argument(
        "--timeout",
        type=options.seconds(0.1, 600),
        default=d(defaults["timeout"]),
        metavar="S",
        help="seconds an answer may take to start (default %g)" % defaults["timeout"],
    )
    p.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=d(0),
        help="log the line on stderr: each message with a time stamp (-vv: each character)",
    )
    p.add_argument(
        "--trace", default=d(None), metavar="FILE", help="record the session in the trace format to this file"
    )
    p.add_argument("--json", action="store_true", default=d(False), help="report as JSON on stdout")


def line_defaults() -> dict[str, Any]:
    """The line options' defaults: built in, then vtc07.toml, then $VTC07_PORT."""
    from .hhu import FIRST_CHAR_S

    defaults: dict[str, Any] = {
        "port": DEFAULT_PORT,
        "baud": 2400,
        "parity": "soft",
        "address": "",
        "echo": False,
        "timeout": FIRST_CHAR_S,
    }
    path = options.config_path()
    if path:
        defaults.update(options.load_config(path))
    if os.environ.get("VTC07_PORT"):
        defaults["port"] = os.environ["VTC07_PORT"]
    return defaults


def parser(defaults: Optional[dict[str, Any]] = None) -> Parser:
    if not COMMANDS.get("generate"):
        _import_commands()
    defaults = defaults or line_defaults()
    p = Parser(
        prog="vtc07",
        description=__doc__.split("\n\n")[0],
        epilog="\n\n".join(__doc__.split("\n\n")[1:]),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version="vtc07 %s" % __version__)
    _line_options(p, None, defaults)
    common = argparse.ArgumentParser(add_help=False)
    _line_options(common, argparse.SUPPRESS, defaults)
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for name in ORDER:
        COMMANDS[name].parser(sub, common)
    return p


ORDER = (
    "id",
    "read",
    "dump",
    "write",
    "token",
    "break",
    "raw",
    "ports",
    "conform",
    "watch",
    "replay",
    "generate",
    "completion",
)


def _check_trace(args: argparse.Namespace) -> None:
    if getattr(args, "trace", None):
        try:
            open(args.trace, "a").close()
        except OSError as e:
            raise ValueError("--trace %s: %s" % (args.trace, e.strerror))


def _usage(message: object, argv: list[str], out: Out) -> int:
    message = str(message)
    print("vtc07: %s" % message, file=sys.stderr)
    if "--json" in argv:
        out(json.dumps({"error": message}, indent=1))
    return 2


def main(argv: Optional[Sequence[str]] = None, out: Out = print) -> int:
    from . import hhu

    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        p = parser()
        args = p.parse_args(argv)
    except (UsageError, ValueError) as e:  # ValueError: vtc07.toml
        return _usage(e, argv, out)
    if args.command is None:
        p.print_help(sys.stderr)
        return _usage("give a COMMAND", argv, out) if "--json" in argv else 2
    cmd = COMMANDS[args.command]
    if cmd.own:  # its own report and exit statuses (conform: 0 1 2 3, docs/conformance.md)
        return cmd.run(args, out)
    rep = Report(out, args.json)
    if cmd.name == "watch":
        rep.done = args.json  # a JSON object per sample, printed as it comes
    try:
        if not cmd.line:
            return cmd.run(args, rep)
        if cmd.check:
            cmd.check(args)
        _check_trace(args)
        log = (lambda text: print(text, file=sys.stderr)) if args.verbose else None
        with hhu.Hhu(
            args.port,
            args.baud,
            args.parity,
            args.address,
            args.trace,
            echo=args.echo,
            first_s=args.timeout,
            verbose=args.verbose,
            log=log,
        ) as meter:
            try:
                return cmd.run(meter, args, rep)
            finally:
                rep.progress()
                for note in meter.take_notes():  # what the line showed after the sign-on
                    rep.note(note)
                if cmd.leave_idle and meter.port.is_open:
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
        rep.data["error"] = str(e)
        print("vtc07: %s" % e, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        rep.data["interrupted"] = True  # a --json report says that it is partial
        raise
    finally:
        rep.finish()


def main_exit() -> NoReturn:
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
