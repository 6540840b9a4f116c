"""`vtc07 conform`: its options (tools/vtc07/cli.py only registers them) and its run.

Exit status: 0 every case passed (or was skipped or inapplicable), 1 a case failed or could
not be decided, 2 bad usage, 3 setup: nothing was counted (a report path is not writable,
the port does not open, no meter answers at this speed, parity and address, the --token is
not accepted); the message says what to change. 130: interrupted (cli.py).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
from typing import Any, Callable, Optional, Union, cast

from . import profile as P
from . import reports, tokenlist
from .clauses import Kit
from .line import Line, LineError, RealClock, StampedSocket
from .runner import CLAUSES, SECTIONS, Case, NoMeter, run_all

TOKEN_TIME_S = 60.0  # default --token-time: the profile sets no limit on token execution
LOCKOUT_WAIT_S = 60  # default --lockout-wait: the kit waits a lock out only up to this long


def add_parser(sub: Any) -> argparse.ArgumentParser:
    keep = argparse.SUPPRESS
    c = sub.add_parser(
        "conform",
        help="run the VTC07 profile's conformance cases against a meter",
        description="Run the VTC07 profile's cases against the meter on the port and report "
        "PASS/FAIL/INCONCLUSIVE/INAPPLICABLE per case with the timing and its uncertainty. "
        "Exit status: 0 all passed, 1 a case failed or was not decided, 2 bad usage, 3 setup "
        "(nothing counted). See docs/conformance.md.",
    )
    c.add_argument("--port", default=keep, help="pyserial URL or device")
    c.add_argument("--baud", type=int, default=keep)
    c.add_argument("--parity", choices=("soft", "uart"), default=keep)
    c.add_argument("--address", default=keep, help="the meter's address (also checks address sign-on)")
    c.add_argument("--trace", default=keep, help="record the whole line traffic in the trace format to FILE")
    c.add_argument("--json", action="store_true", help="print the report as JSON instead of text")
    c.add_argument("--junit", metavar="FILE", help="also write the report as JUnit XML to FILE")
    c.add_argument("--report", metavar="DIR", help="write the evidence package into DIR (docs/conformance.md)")
    c.add_argument(
        "--certify",
        action="store_true",
        help="every clause including the slow ones; refuses --only, --no-tokens, --leave-locked",
    )
    c.add_argument(
        "--no-tokens",
        action="store_true",
        help="enter no token: skip TokenLockout and token execution (the meter is not locked)",
    )
    c.add_argument(
        "--tokens",
        metavar="FILE",
        action="append",
        default=[],
        help="a token list to enter (docs/conformance.md), or a shipped list's name: " + ", ".join(tokenlist.shipped()),
    )
    c.add_argument("--token", metavar="DIGITS", help="a token the meter accepts (20 digits), entered during setup")
    c.add_argument("--leave-locked", action="store_true", help="do not wait for the lockout to run out")
    c.add_argument("--slow", action="store_true", help="also the 120 s session timeout (about 4 minutes)")
    c.add_argument("--only", metavar="CLAUSES", help="comma-separated clauses: " + ",".join(k for k, _, _ in CLAUSES))
    c.add_argument(
        "--token-time",
        type=float,
        default=TOKEN_TIME_S,
        metavar="S",
        help="longest a token's execution may take (the profile sets none; default %(default)g s)",
    )
    c.add_argument(
        "--lockout-wait",
        type=int,
        default=LOCKOUT_WAIT_S,
        metavar="S",
        help="longest the kit waits for a lockout to run out (default %(default)s s)",
    )
    c.add_argument(
        "--line-timing",
        choices=("auto", "uart", "none"),
        default="auto",
        help="characters take 10 bits at the baud rate (uart) or no time (none: TCP, pty); "
        "auto: none for socket:// and /dev/pts, uart otherwise",
    )
    c.add_argument(
        "--slack",
        type=int,
        default=300,
        metavar="MS",
        help="how long past tr max (or the recovery wait) silence is awaited (default %(default)s)",
    )
    return c


def _open(url: str, baud: int, soft: bool) -> Any:
    """A pyserial-like port; socket:// gets kernel arrival time stamps."""
    if url.startswith("socket://"):
        hostport = url[len("socket://") :].split("?")[0].rstrip("/")
        host, _, port = hostport.rpartition(":")
        try:
            return StampedSocket(host or "127.0.0.1", int(port))
        except ValueError:
            raise NoMeter("cannot open %s: not host:port" % url)
        except OSError as e:
            reason = "connection refused (is the meter running on that port?)" if "refused" in str(e) else str(e)
            raise NoMeter("cannot open %s: %s" % (url, reason))
    import serial

    try:
        return serial.serial_for_url(
            url,
            baudrate=baud,
            timeout=0,
            bytesize=serial.EIGHTBITS if soft else serial.SEVENBITS,
            parity=serial.PARITY_NONE if soft else serial.PARITY_EVEN,
        )
    except (serial.SerialException, OSError, ValueError) as e:
        text = str(e)
        raise NoMeter("cannot open %s: %s" % (url, "no such port" if "No such file" in text else text))
    except Exception as e:  # termios.error: a pty cannot be set to 7E1
        if type(e).__name__ != "error":
            raise
        raise NoMeter(
            "cannot set %s to %s: %s (a pty or the simulated meter needs --parity soft)"
            % (url, "7E1" if not soft else "8N1", e.args[-1])
        )


def _char_s(args: argparse.Namespace) -> float:
    timing = args.line_timing
    if timing == "auto":
        timing = "none" if args.port.startswith(("socket://", "/dev/pts/", "loop://", "sim://")) else "uart"
    return P.BITS_PER_CHAR / args.baud if timing == "uart" else 0.0


def _usage(args: argparse.Namespace, err: Callable[[str], None]) -> Optional[str]:
    """The first bad option as a one-line message, or None."""
    if args.only:
        only = tuple(k.strip() for k in args.only.split(",") if k.strip())
        unknown = [k for k in only if k not in SECTIONS]
        if unknown:
            return "no clause %s (one of %s)" % (", ".join(unknown), ",".join(SECTIONS))
    if args.token:
        from .. import hhu

        try:
            hhu.token_number(args.token)
        except ValueError as e:
            return "--token: %s" % e
    for path in args.tokens:
        try:
            tokenlist.load(tokenlist.shipped().get(path, path))
        except OSError as e:
            return "--tokens %s: %s" % (path, e.strerror)
        except ValueError as e:
            return "--tokens: %s" % e
    if not 0 <= args.slack <= 1000:
        return "--slack is 0..1000 ms"
    if args.baud not in P.BAUDS + (600,):
        return "--baud is one of %s" % ", ".join(str(r) for r, _ in P.BAUD_CHARS)
    if not 0 < args.token_time <= 3600:
        return "--token-time is 0..3600 s"
    if not 0 <= args.lockout_wait <= 3600:
        return "--lockout-wait is 0..3600 s"
    if args.certify:
        partial = [
            name
            for name, on in (
                ("--only", args.only),
                ("--no-tokens", args.no_tokens),
                ("--leave-locked", args.leave_locked),
            )
            if on
        ]
        if partial:
            return "--certify runs every clause: leave out %s" % ", ".join(partial)
        if not args.address:  # else signon.address is skipped: a certification has no skips
            return "--certify runs every clause: give --address (the meter's own number)"
    return None


def _token_lists(args: argparse.Namespace) -> list[tuple[str, str, list[Union[tokenlist.Vector, tuple[str, int]]]]]:
    out = []
    for path in args.tokens:
        path = tokenlist.shipped().get(path, path)
        flags, items = tokenlist.load(path)
        out.append((os.path.basename(path).rsplit(".", 1)[0], flags, items))
    return out


def _writable(args: argparse.Namespace) -> None:
    """Report paths checked before the port is opened: NoMeter naming the path."""
    for what, path in (("--junit", args.junit), ("--trace", getattr(args, "trace", None))):
        if path:
            try:
                open(path, "a").close()
            except OSError as e:
                raise NoMeter("%s %s is not writable: %s" % (what, path, e.strerror))
    if args.report:
        try:
            os.makedirs(args.report, exist_ok=True)
            probe = os.path.join(args.report, ".write-test")
            open(probe, "w").close()
            os.remove(probe)
        except OSError as e:
            raise NoMeter("--report %s is not a writable directory: %s" % (args.report, e.strerror))


def main(
    args: argparse.Namespace,
    out: Callable[[str], None] = print,
    err: Optional[Callable[[str], None]] = None,
    clock: Any = None,
    port: Any = None,
) -> int:
    """Run from vtc07's parsed arguments; the exit status. `clock` and `port` replace the
    real ones (a virtual-time simulator)."""
    err = err or (lambda text: print(text, file=sys.stderr))
    wrong = _usage(args, err)
    if wrong:
        err("vtc07 conform: %s" % wrong)
        return 2
    from .. import __version__

    only = tuple(k.strip() for k in (args.only or "").split(",") if k.strip())
    token = None
    if args.token:
        from .. import hhu

        token = hhu.token_number(args.token)
    clock = clock or RealClock()
    started_at = datetime.datetime.now(datetime.timezone.utc)
    started = clock.now()
    text = not args.json
    log_lines: list[str] = []

    def log(line: str) -> None:
        log_lines.append("%s %s" % (datetime.datetime.now(datetime.timezone.utc).strftime("%H:%M:%S.%f")[:-3], line))

    tty = sys.stderr.isatty()

    def progress_wait(line: str) -> None:
        if tty:
            sys.stderr.write("\r  ... %s\033[K" % line)
            sys.stderr.flush()

    shown: dict[str, Optional[str]] = {"clause": None}  # the clause whose heading was printed last

    def progress(case: Case) -> None:
        log("%s %s %s" % (case.status, case.cid, case.finding))
        if tty:
            sys.stderr.write("\r\033[K")
        if text:
            if case.clause != shown["clause"]:
                shown["clause"] = case.clause
                out("section %s  %s" % SECTIONS[cast(str, case.clause)])
            out(reports.case_line(case))

    priority = _raise_priority()
    try:
        return _run(
            args,
            out,
            err,
            clock,
            port,
            only,
            token,
            started_at,
            started,
            text,
            log,
            log_lines,
            progress,
            progress_wait,
            __version__,
            priority,
        )
    finally:
        _restore_priority(priority)


def _raise_priority() -> Optional[int]:
    """Ask for the CPU when it is needed: the kit's own process at the highest priority it is
    allowed (nice -20 needs CAP_SYS_NICE), so a loaded host delays its looks at the line less.
    Without the right nothing changes but the uncertainty the report gives. The old value,
    or None."""
    try:
        old = os.getpriority(os.PRIO_PROCESS, 0)
        os.setpriority(os.PRIO_PROCESS, 0, -20)
        return old
    except (OSError, AttributeError):
        return None


def _restore_priority(old: Optional[int]) -> None:
    if old is not None:
        try:
            os.setpriority(os.PRIO_PROCESS, 0, old)
        except OSError:
            pass


def _run(
    args: argparse.Namespace,
    out: Callable[[str], None],
    err: Callable[[str], None],
    clock: Any,
    port: Any,
    only: tuple[str, ...],
    token: Optional[int],
    started_at: datetime.datetime,
    started: float,
    text: bool,
    log: Callable[[str], None],
    log_lines: list[str],
    progress: Callable[[Case], None],
    progress_wait: Callable[[str], None],
    __version__: str,
    priority: Optional[int],
) -> int:
    options = {k: v for k, v in sorted(vars(args).items()) if k not in ("command",)}
    options["priority_raised"] = priority is not None
    options["kit_version"] = __version__
    kit: Optional[Kit] = None
    cases: list[Case] = []
    try:
        _writable(args)
        soft = args.parity == "soft"
        port = port or _open(args.port, args.baud, soft)
        if getattr(port, "clock", None) is not None:  # a simulated line is timed by its own clock
            started, clock = started - clock.now() + port.clock.now(), port.clock
        line = Line(port, clock, soft, _char_s(args), log)
        line.calibrate()
        kit = Kit(line, args.baud, args.address, soft, args.token_time)
        kit.url = args.port  # the reports name the port
        kit.progress = progress_wait
        kit.silence_s = (max(P.TR_MAX, P.RECOVERY_WAIT) + args.slack) / 1000
        if text:
            out(
                "VTC07 conformance kit %s: %s, %d Bd, %s parity, started %s"
                % (__version__, args.port, args.baud, args.parity, started_at.strftime("%Y-%m-%d %H:%M:%S UTC"))
            )
        try:
            cases = run_all(
                kit,
                only,
                tokens=not args.no_tokens,
                token=token,
                slow=args.slow or args.certify,
                leave_locked=args.leave_locked,
                progress=progress,
                address_given=args.address,
                lockout_wait_s=args.lockout_wait,
                token_lists=_token_lists(args),
            )
        finally:
            line.close()
    except (NoMeter, LineError) as e:
        return _no_meter(args, out, err, kit, clock.now() - started, str(e), options)

    seconds = clock.now() - started
    status, _ = reports.result(cases)
    if args.junit:
        _write(args.junit, reports.report_junit(kit, cases, seconds), err)
    if getattr(args, "trace", None):
        _write(args.trace, reports.trace_text(kit, options), err)
    if args.report:
        _package(args, kit, cases, seconds, status, options, log_lines, started_at, err)
    if args.json:
        out(reports.report_json(kit, cases, seconds, status))
        return status
    for line_text in reports.summary_lines(kit, cases, seconds):
        out(line_text)
    return status


def _package(
    args: argparse.Namespace,
    kit: Kit,
    cases: list[Case],
    seconds: float,
    status: int,
    options: dict[str, Any],
    log_lines: list[str],
    started_at: datetime.datetime,
    err: Callable[[str], None],
) -> None:
    host = reports.host_info(options["kit_version"])
    identity = {"id_response": kit.ident, "registers": getattr(kit, "identity", {})}
    files = {
        "report.txt": reports.report_text(
            kit,
            cases,
            seconds,
            status,
            "VTC07 conformance kit %s, %s, started %s" % (options["kit_version"], args.port, started_at.isoformat()),
        ),
        "report.json": reports.report_json(
            kit,
            cases,
            seconds,
            status,
            extra={"started": started_at.isoformat(), "host": host, "options": options, "meter_identity": identity},
        ),
        "junit.xml": reports.report_junit(kit, cases, seconds),
        "log.txt": "\n".join(log_lines) + "\n",
        "traffic.trace": reports.trace_text(kit, options),
        "meter.json": json.dumps(identity, indent=2) + "\n",
        "host.json": json.dumps(host, indent=2) + "\n",
        "options.json": json.dumps(options, indent=2, default=str) + "\n",
    }
    try:
        reports.write_package(args.report, files)
    except OSError as e:
        err("vtc07 conform: cannot write the report into %s: %s" % (args.report, e))


def _write(path: str, text: str, err: Callable[[str], None]) -> None:
    try:
        with open(path, "w") as f:
            f.write(text)
    except OSError as e:
        err("vtc07 conform: cannot write %s: %s" % (path, e))


def _no_meter(
    args: argparse.Namespace,
    out: Callable[[str], None],
    err: Callable[[str], None],
    kit: Optional[Kit],
    seconds: float,
    message: str,
    options: dict[str, Any],
) -> int:
    err("vtc07 conform: no meter to test: %s" % message)
    if args.junit and "--junit" not in message:
        _write(args.junit, reports.report_junit(kit, [], seconds, error=message), err)
    if args.json:
        out(reports.report_json(kit, [], seconds, 3, error=message))
    return 3
