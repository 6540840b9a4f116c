"""Never open, never dead (issue 18): every fault a meter's store can meet, and what the meter
does with it, as a table of outcomes (docs/storage.md gives the figures).

    python3 tools/harness/reliability/fail_closed.py [--no-board] [--quick]

A meter is prepared holding credit, 50 TIDs, a changed key and a running lockout (the
model, tools/harness/reliability/storage_faults.py), then meets one fault and is restarted or goes on:
  recovered      it holds exactly what was stored and takes the next token
  degraded       the same, and says so (StorageFault 6: one copy cannot be written)
  fail-closed    it refuses tokens (ERR08 / 17, a StorageFault code, lockout held) and
                 keeps answering reads
  fail-open      anything that loses credit, applies a token twice or weakens the lockout,
                 or a meter in use that starts as new
  crashed        an exception got past the board loop's guard, or the meter was left
                 busy or answering 17 to every token ("stuck")
  dead at start  it did not start (exception, exit) or did not listen (hung)
Fail-open, crashed and dead at start must all be 0.

Rows: every stored file replaced by each of {zeroed, truncated, deleted, oversized,
directory, FIFO, device (as root)}, alone and with the seal lost (CPython, firmware from source); MemoryError
injected at every line the token and save path runs (sys.settrace: a superset of its
allocation points), the exception handled as the board loop's guard does; each storage
errno (and MemoryError) at each storage call of a token's save; full and read-only stores;
and on the unix board (MicroPython, --no-board skips it): the reproduced cases of issue 18,
full and read-only file systems with a stale lock (a tmpfs; INCONCLUSIVE where it cannot
be mounted).
"""

import argparse
import contextlib
import errno
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.append(__file__[: __file__.rfind("/") + 1] + "..")  # tools/harness, for hostpath (README.md)
import hostpath
import meter
import recovery
import storage
import storage_faults
from consumption import Consumption
from meterapp import MeterApplication
from storage import FileStore
from storage_faults import DK, NEW_DK, credit, prepare, snapshot
from tables import SAVE_TENTHS
from unixboard import UnixBoard, enter, read

from vtc07 import vending

OUTCOMES = ("recovered", "degraded", "fail-closed", "fail-open", "crashed", "dead at start")
FIRMWARE = os.path.join(hostpath.ROOT, "firmware")
RECORD_FILES = ("meter.a", "meter.b", "meter.made")
KINDS = ("zeroed", "truncated", "deleted", "oversized", "directory", "FIFO", "device")
VECTOR = 23716100501183194197  # sts-tokens.md's vector 2371-6100-5011-8319-4197
FRESH = vending.tid_minutes(__import__("datetime").datetime(2006, 1, 1))


class Table:
    def __init__(self):
        self.rows = []  # (fault, {outcome: count})
        self.notes = []

    def add(self, fault, outcome):
        counts = next((c for name, c in self.rows if name == fault), None)
        if counts is None:
            counts = dict.fromkeys(OUTCOMES, 0)
            self.rows.append((fault, counts))
        counts[outcome] += 1

    def bad(self):
        return sum(c["fail-open"] + c["crashed"] + c["dead at start"] for _, c in self.rows)

    def print(self, out=sys.stdout):
        width = max(len(r[0]) for r in self.rows)
        heads = ("recov", "degr", "closed", "open", "crash", "dead")
        print("%-*s %s" % (width, "fault", " ".join("%6s" % h for h in heads)), file=out)
        total = dict.fromkeys(OUTCOMES, 0)
        for fault, counts in self.rows:
            print("%-*s %s" % (width, fault, " ".join("%6d" % counts[o] for o in OUTCOMES)), file=out)
            for o in OUTCOMES:
                total[o] += counts[o]
        print("%-*s %s" % (width, "total", " ".join("%6d" % total[o] for o in OUTCOMES)), file=out)
        for note in self.notes:
            print(note, file=out)


def classify(app, model):
    """A meter as it came back against the model of what was stored."""
    if app.refusing:
        ok = app.lockout.locked(0) and app.status_bits() & 0x04
        return "fail-closed" if ok else "fail-open"
    if snapshot(app)[:-2] != model[:-2] or app.lockout.count < model[-2]:
        return "fail-open"
    app.lockout.restore(0, 0, 0)  # let a token in (the model's lock is running)
    status = storage_faults.run(app, credit(FRESH, 3))
    if app.busy or status != 1:
        return "crashed"  # stuck: the token that should be taken was not
    return "degraded" if app.fault == 6 else "recovered"


# --- at rest: each file replaced ----------------------------------------------------------


def damage(root, name, kind):
    path = os.path.join(root, name)
    if os.path.isdir(path):
        shutil.rmtree(path)
    elif os.path.exists(path):
        os.remove(path)
    if kind == "deleted":
        return
    if kind == "directory":
        os.mkdir(path)
    elif kind == "FIFO":
        os.mkfifo(path)
    elif kind == "device":  # /dev/zero's numbers: a read to its size would never end
        os.mknod(path, 0o020600, os.makedev(1, 5))  # PermissionError unless root
    else:
        size = {"zeroed": 284, "truncated": 0, "oversized": 2 * 1024 * 1024}[kind]
        with open(path, "wb") as f:
            f.write(os.urandom(size) if kind == "oversized" else bytes(size))


def at_rest(table, work, base, model):
    targets = [(n,) for n in RECORD_FILES] + [RECORD_FILES[:2], RECORD_FILES]
    for kind in KINDS:
        for names in targets:
            for seal_lost in (False, True):
                if seal_lost and "meter.made" in names:
                    continue
                root = os.path.join(work, "rest")
                shutil.rmtree(root, ignore_errors=True)
                shutil.copytree(base, root)
                try:
                    for name in names:
                        damage(root, name, kind)
                except PermissionError:
                    if "device: INCONCLUSIVE" not in " ".join(table.notes):
                        table.notes.append("device: INCONCLUSIVE (making a device node needs root)")
                    continue
                if seal_lost:
                    os.remove(os.path.join(root, "meter.made"))
                try:
                    app = MeterApplication(FileStore(root), {})
                except Exception:
                    table.add(
                        "%s: one file" % kind if len(names) == 1 else "%s: %s" % (kind, "+".join(names)),
                        "dead at start",
                    )
                    continue
                where = "one file" if len(names) == 1 else "both copies" if len(names) == 2 else "all three"
                fault = "%-10s %s%s" % (kind, where, ", seal lost" if seal_lost else "")
                table.add(fault, classify(app, model))
                shutil.rmtree(root, ignore_errors=True)


# --- MemoryError at every line of the token and save path ---------------------------------


class Inject:
    """sys.settrace: MemoryError at the `at`-th line (or call) run in firmware/; `seen`
    collects, for a run with nothing injected, where each line first ran."""

    def __init__(self, at, exc=MemoryError):
        self.at = at
        self.n = 0
        self.exc = exc
        self.fired = False
        self.seen = {}  # (file, line) -> the first event number it ran at

    def trace(self, frame, event, arg):
        if not frame.f_code.co_filename.startswith(FIRMWARE):
            return None
        if event in ("call", "line") and not self.fired:
            self.n += 1
            self.seen.setdefault((frame.f_code.co_filename, frame.f_lineno, event), self.n)
            if self.n == self.at:
                self.fired = True
                raise self.exc("injected")
        return self.trace

    def __enter__(self):
        sys.settrace(self.trace)
        return self

    def __exit__(self, *exc):
        sys.settrace(None)


def _guarded_poll(server, now, token):
    """What the board loop does: the token written (the server's write_register: submit)
    and the core polled, inside the one guard."""
    try:
        server.app.submit(token, now)
        server.poll(now)
        return False
    except Exception as e:
        with contextlib.redirect_stdout(io.StringIO()):
            recovery.loop_fault(server, e, now)
        return True


KCT = vending.key_change_tokens(0x1122334455667788, 255, 2, 0, 3, 8, NEW_DK)
TOKEN_PATHS = (
    ("credit token", lambda app: credit(FRESH, 9)),
    ("rejected token (counted)", lambda app: credit(FRESH + 1, 9, dk=DK)),
    ("key change, first half", lambda app: KCT[0]),
    ("management token", lambda app: vending.token(2, 0, 5, FRESH + 2, 512, NEW_DK)),
)


def memory(table, work, base, model):
    guarded = 0
    for label, make in TOKEN_PATHS + (("consumption save", None),):
        points = None  # each line of the path, injected where it first runs
        for at in iter(lambda: points.pop(0) if points else (0 if points is None else None), None):  # noqa: B023
            root = os.path.join(work, "mem")
            shutil.rmtree(root, ignore_errors=True)
            shutil.copytree(base, root)
            server = meter.build({}, FileStore(root), 0)
            app = server.app
            app.lockout.restore(0, 0, 0)
            if make is None:
                Consumption(app)
            before = snapshot(app)
            token = make(app) if make else None
            with Inject(at) as inj:
                if make is None:
                    try:
                        app.consumption.consume(0, 100 * SAVE_TENTHS, 1000, 0)
                        escaped = False
                    except Exception as e:
                        with contextlib.redirect_stdout(io.StringIO()):
                            recovery.loop_fault(server, e, 0)
                        escaped = True
                else:
                    escaped = _guarded_poll(server, 0, token)
            if points is None:
                points = sorted(inj.seen.values())
                count = len(points)
                continue
            guarded += escaped
            result = _after_fault(server, root, before, make)
            table.add("MemoryError: " + label, result)
            if result in ("fail-open", "crashed"):
                table.notes.append(
                    "MemoryError, %s, at %s: %s" % (label, [k for k, v in inj.seen.items() if v == at], result)
                )
        table.notes.append("MemoryError, %s: %d lines of the path, each injected" % (label, count))
    table.notes.append("MemoryError: %d of them reached the board loop's guard" % guarded)


def _after_fault(server, root, before, make):
    """Defined answer, nothing half-applied (RAM as stored), and the meter goes on."""
    app = server.app
    if app.busy:
        return "crashed"
    if app.refusing:
        return "fail-closed" if app.lockout.locked(0) else "fail-open"
    again = MeterApplication(FileStore(root), {})
    stored, ram = snapshot(again), snapshot(app)
    if make is None:
        # consumption: RAM may bill ahead of storage (consumption.py bills again what a
        # failed save took back), credit + consumed stays what it was
        cs, cr = stored[0], ram[0]
        same = (
            stored[1:-2] == ram[1:-2]
            and cs[1:6] == cr[1:6]
            and cs[7:10] == cr[7:10]
            and cs[0] + cs[6] == cr[0] + cr[6]
            and cr[6] >= cs[6]
        )
    else:
        same = stored[:-2] == ram[:-2]
    if not same:
        return "fail-open"  # RAM is not what a restart would find
    if again.lockout.count < app.lockout.count and not app.lockout.held:
        return "fail-open"
    if make is not None:
        applied = snapshot(app)[:-2] != before[:-2]
        if app.token_status == 17 and applied:
            return "fail-open"  # said "not applied" while it was stored
    app.lockout.restore(0, 0, 0)
    if storage_faults.run(app, credit(FRESH + 50, 1)) != 1:
        return "crashed"  # stuck
    return "degraded" if app.fault == 6 else "recovered"


# --- each storage errno at each storage call ---------------------------------------------


class CallFaults:
    """The `at`-th storage call (stat, open, write, flush, read) raises `exc`."""

    def __init__(self, at, exc):
        self.at, self.exc, self.n, self.fired = at, exc, 0, False

    def tick(self):
        self.n += 1
        if self.n == self.at:
            self.fired = True
            raise self.exc

    def stat(self, path):
        self.tick()
        return os.stat(path)

    def open(self, path, mode="r"):
        self.tick()
        return _File(open(path, mode), self)

    def __getattr__(self, name):
        return getattr(os, name)

    def __enter__(self):
        storage.open = self.open
        storage.os = self
        return self

    def __exit__(self, *exc):
        del storage.open
        storage.os = os


class _File:
    def __init__(self, f, faults):
        self.f, self.faults = f, faults

    def read(self, n=-1):
        self.faults.tick()
        return self.f.read(n)

    def write(self, data):
        self.faults.tick()
        return self.f.write(data)

    def flush(self):
        self.faults.tick()
        return self.f.flush()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.f.close()


ERRNOS = (
    ("EIO", lambda: OSError(errno.EIO, "I/O error")),
    ("ENOSPC", lambda: OSError(errno.ENOSPC, "full")),
    ("EROFS", lambda: OSError(errno.EROFS, "read-only")),
    ("EACCES", lambda: OSError(errno.EACCES, "denied")),
    ("MemoryError", lambda: MemoryError("injected")),
)


def storage_calls(table, work, base, model):
    for name, make_exc in ERRNOS:
        at = 1
        while True:
            root = os.path.join(work, "calls")
            shutil.rmtree(root, ignore_errors=True)
            shutil.copytree(base, root)
            server = meter.build({}, FileStore(root), 0)
            server.app.lockout.restore(0, 0, 0)
            before = snapshot(server.app)
            token = credit(FRESH, 9)
            with CallFaults(at, make_exc()) as faults:
                _guarded_poll(server, 0, token)
            if not faults.fired:
                break
            table.add("%s at each storage call of a save" % name, _after_fault(server, root, before, True))
            at += 1
    for label, where in (
        ("full store (ENOSPC on every write)", "write"),
        ("read-only store (EROFS on every open)", "open"),
    ):
        root = os.path.join(work, "full")
        shutil.rmtree(root, ignore_errors=True)
        shutil.copytree(base, root)
        with storage_faults.Faults() as faults:
            for f in RECORD_FILES:
                faults.write_error[f] = (errno.ENOSPC if where == "write" else errno.EROFS, where)
            app = MeterApplication(FileStore(root), {})
            app.lockout.restore(0, 0, 0)
            status = storage_faults.run(app, credit(FRESH, 9))
        again = MeterApplication(FileStore(root), {})
        ok = status == 17 and snapshot(again)[:-2] == snapshot(app)[:-2] and app.fault == 2
        # a store that takes no save: every token answered 17, nothing applied, reads
        # answered; the stored record stands (counted as failing closed)
        table.add(label, "fail-closed" if ok else "fail-open")


# --- the unix board -----------------------------------------------------------------------


def _stopped(board):
    """Its output once killed."""
    board.stop()
    return board.proc.stdout.read().decode(errors="replace") if board.proc else ""


def _board_outcome(board, credit_before):
    try:
        board.start()
    except RuntimeError as e:  # it exited, or did not listen within 10 s (hung)
        return "dead at start", str(e) + _stopped(board)
    fault = "?"
    try:
        sock = board.session()
        fault = read(sock, 0x8018)
        credit_now = int(read(sock, 0x8001))
        answer, status = enter(sock, VECTOR)
        if "ERR08" in answer and status == "17":
            result = "fail-closed"
        elif status == "10" and credit_now == credit_before:
            # the used vector token is refused as Used: the meter kept its TIDs
            answer, status = enter(sock, credit_token_fresh())
            result = ("degraded" if read(sock, 0x8018) == "6" else "recovered") if status == "01" else "crashed"
        else:
            result = "fail-open"  # a used token taken again, or credit not as stored
        sock.close()
    except (OSError, AssertionError, ValueError):
        result = "crashed"
    return result, _stopped(board) + " [8018 %s]" % fault


def credit_token_fresh():
    return vending.token(0, 0, 5, FRESH + int(time.time()) % 100000, vending.amount_field(1), DK)


def unix_board(table, work):
    binary = os.path.join(os.path.dirname(sys.executable), "micropython")
    if not os.path.exists(binary):
        table.notes.append("unix board: INCONCLUSIVE (no micropython binary)")
        return
    base = os.path.join(work, "board")
    board = UnixBoard(binary, base).start()
    sock = board.session()
    assert enter(sock, VECTOR)[1] == "01"
    assert enter(sock, vending.token(0, 0, 5, FRESH - 10, vending.amount_field(5), DK))[1] == "01"
    credit_before = int(read(sock, 0x8001))
    sock.close()
    board.stop()
    lib = os.path.join(hostpath.ROOT, "build", "firmware")
    small = ("-X", "heapsize=64k") if os.path.isdir(lib) else ()  # as issue 18 found it
    cases = [
        (
            "seal deleted, both copies zeroed",
            lambda s: [
                damage(s, "meter.made", "deleted"),
                damage(s, "meter.a", "zeroed"),
                damage(s, "meter.b", "zeroed"),
            ],
            (),
        ),
        (
            "seal deleted, both copies truncated",
            lambda s: [damage(s, n, "truncated") for n in RECORD_FILES[:2]] + [damage(s, "meter.made", "deleted")],
            (),
        ),
        ("all three files deleted", lambda s: [damage(s, n, "deleted") for n in RECORD_FILES], ()),
        ("one copy 2 MB of random bytes, 64 KB heap", lambda s: damage(s, "meter.a", "oversized"), small),
        ("the seal 2 MB of random bytes, 64 KB heap", lambda s: damage(s, "meter.made", "oversized"), small),
        ("a FIFO in place of meter.a", lambda s: damage(s, "meter.a", "FIFO"), ()),
        ("a FIFO in place of meter.b", lambda s: damage(s, "meter.b", "FIFO"), ()),
        ("a FIFO in place of meter.made", lambda s: damage(s, "meter.made", "FIFO"), ()),
        ("a FIFO in place of faults.a", lambda s: damage(s, "faults.a", "FIFO"), ()),
        ("a directory in place of one copy", lambda s: damage(s, "meter.a", "directory"), ()),
        (
            "a plain file where the lock goes",
            lambda s: [shutil.rmtree(os.path.join(s, "meter.lock")), damage(s, "meter.lock", "zeroed")],
            (),
        ),
    ]
    for label, make, interp in cases:
        state = os.path.join(work, "b")
        shutil.rmtree(state, ignore_errors=True)
        shutil.copytree(base, state, symlinks=True)
        make(state)
        board = UnixBoard(binary, state, *(("--lib", lib) if interp else ()), interpreter_args=interp)
        result, out = _board_outcome(board, credit_before)
        table.add("unix board: " + label, result)
        if result in ("fail-open", "crashed", "dead at start"):
            table.notes.append("unix board, %s: %s" % (label, out.strip()))
    _mounted(table, work, binary, base, credit_before)
    squeezed(table, work, binary)


def squeezed(table, work, binary, step=32, count=120):
    """The MicroPython unix port with its heap squeezed (tools/harness/reliability/squeeze.py): each
    token with 0, step, 2*step, ... bytes left free, as the board loop runs it."""
    lib = os.path.join(hostpath.ROOT, "build", "firmware")
    if not os.path.isdir(lib):
        table.notes.append("squeezed heap: INCONCLUSIVE (no build/firmware: make compile)")
        return
    tokens = [str(vending.token(0, 0, 5, FRESH + i, vending.amount_field(1), DK)) for i in range(count)]
    out = subprocess.run(
        [
            binary,
            "-X",
            "heapsize=128k",
            os.path.join(hostpath.HARNESS, "reliability", "squeeze.py"),
            "--lib",
            lib,
            os.path.join(work, "squeeze"),
            str(step),
            *tokens,
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    lines = [line.split() for line in out.stdout.splitlines() if line.startswith("free ")]
    accepted = 0
    refused_from = None
    for f in lines:
        v = dict(zip(f[::2], (int(x) for x in f[1::2])))
        # the write itself may run out of memory: the guard drops the conversation, the
        # token was never taken (no ACK), TokenStatus keeps what it read
        status_ok = v["status"] in (1, 17) or v["guard"]
        accepted += v["status"] == 1
        if v["busy"] or not status_ok:
            result = "crashed"
        elif v["credit"] > v["stored"] or v["stored"] != accepted:
            result = "fail-open"  # RAM pays out on more than is stored, or a token applied unsaid
        elif v["credit"] < v["stored"] and not v["refusing"]:
            result = "fail-open"  # credit lost (refusing, RAM may hold none until it reads back)
        elif v["refusing"] or v["status"] != 1:
            result = "fail-closed"
            refused_from = v["free"]
        else:
            result = "recovered"
        table.add("MemoryError on the unix port: a token with the heap squeezed", result)
    for _ in range(count - len(lines)):  # the script died: an exception got past the guard
        table.add("MemoryError on the unix port: a token with the heap squeezed", "crashed")
    if refused_from is not None:
        table.notes.append(
            "squeezed heap: tokens not taken (no ACK, 17 or ERR08) with up to %d bytes free "
            "in one piece; taken above" % refused_from
        )


def _mounted(table, work, binary, base, credit_before):
    """Full and read-only file systems with a killed meter's stale lock (a 256 KB tmpfs)."""
    mnt = os.path.join(work, "mnt")
    os.mkdir(mnt)
    if subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k,nr_inodes=400", "tmpfs", mnt], capture_output=True
    ).returncode:
        table.notes.append("unix board, full and read-only stores: INCONCLUSIVE (no tmpfs mount here)")
        return
    try:
        for label in ("full store, stale lock", "read-only store, stale lock", "full store", "read-only store"):
            for name in os.listdir(mnt):
                path = os.path.join(mnt, name)
                shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
            state = os.path.join(mnt, "state")
            shutil.copytree(base, state)
            shutil.rmtree(os.path.join(state, "meter.lock"))
            os.mkdir(os.path.join(state, "meter.lock"))
            if "stale" in label:
                os.mkdir(os.path.join(state, "meter.lock", "999999-1"))
            if "full" in label:
                n = 0
                while True:  # blocks, then inodes
                    try:
                        with open(os.path.join(mnt, "fill%d" % n), "wb") as f:
                            f.write(b"\0" * 4096)
                        n += 1
                    except OSError:
                        break
                while True:
                    try:
                        os.mkdir(os.path.join(mnt, "d%d" % n))
                        n += 1
                    except OSError:
                        break
            else:
                subprocess.run(["mount", "-o", "remount,ro", mnt], check=True)
            board = UnixBoard(binary, state)
            result, out = _board_outcome(board, credit_before)
            table.add("unix board: " + label, result)
            if result in ("fail-open", "crashed", "dead at start"):
                table.notes.append("unix board, %s: %s" % (label, out.strip()))
            if "read-only" in label:
                subprocess.run(["mount", "-o", "remount,rw", mnt], check=True)
    finally:
        subprocess.run(["umount", mnt])


def figures(board=True):
    table = Table()
    work = tempfile.mkdtemp(prefix="failclosed-")
    try:
        base = os.path.join(work, "base")
        _, model = prepare(base)
        at_rest(table, work, base, model)
        memory(table, work, base, model)
        storage_calls(table, work, base, model)
        if board:
            unix_board(table, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return table


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-board", action="store_true", help="leave out the unix board's cases")
    args = parser.parse_args(argv)
    table = figures(not args.no_board)
    table.print()
    bad = table.bad()
    print("fail-open + crashed + dead at start: %d (must be 0)" % bad)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
