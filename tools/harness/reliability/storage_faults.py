"""Storage faults, corruption and power cuts against the meter's stored record (host side:
CPython running firmware/ from source; docs/storage.md gives the figures).

    python3 tools/harness/reliability/storage_faults.py [--every N] [--seed S]

A meter is prepared holding credit, 50 TIDs, a changed key and a running token lockout,
then its stored files are damaged, or its power is cut, and it is restarted from what is
left. Each outcome is checked against a model of what was stored:
  recovered      the restarted meter holds exactly the state it had (nothing lost)
  failed closed  it refuses token entry (storage fault), its lockout held, and says why
  failed open    anything else: lost credit, forgotten TIDs, the factory key, a weaker
                 lockout; the target is 0
`--every N` takes every Nth byte position of the corruption sweep (1: all of them).
"""

import argparse
import errno
import os
import random
import shutil
import sys
import tempfile

sys.path.append(__file__[: __file__.rfind("/") + 1] + "..")  # tools/harness, for hostpath (README.md)
import hostpath  # noqa: F401  (firmware/ on sys.path)
import storage
from consumption import Consumption
from meterapp import MeterApplication
from storage import FileStore
from tables import SAVE_TENTHS, TID_STORE_MIN

from vtc07 import vending

DK = 0xE653341F9D5BF36F  # the unix board's default key
NEW_DK = 0x0123456789ABCDEF
FILES = ("meter.a", "meter.b")


class PowerCut(BaseException):
    """Not an Exception: the firmware's save handler must not be able to catch it."""


def run(app, number, now=0):
    app.submit(number, now)
    return app.step(now)


def credit(t, amount, dk=NEW_DK):
    return vending.token(0, 0, 5, t, vending.amount_field(amount), dk)


def snapshot(app):
    """Everything a restart must give back: the application's state and the lockout's."""
    return (
        list(app.credit) + [app.balance, app.sgc] + list(app.usage),
        app.tids,
        app.mpl,
        app.key_changed,
        bytes(app.dk),
        app.key_type,
        app.krn,
        app.ken,
        app.ti,
        app.base_date,
        app.read_register(0x8016),
        app.last[0],
        app.lockout.count,
        app.lockout.remaining_ms(0),
    )


def prepare(root):
    """A meter holding credit, TID_STORE_MIN TIDs, a changed key and a lockout count."""
    app = MeterApplication(FileStore(root), {})
    for half in vending.key_change_tokens(NEW_DK, 255, 2, 0, 2, 7, DK):
        run(app, half)
    base = vending.tid_minutes(__import__("datetime").datetime(2004, 3, 1))
    for i in range(TID_STORE_MIN):
        assert run(app, credit(base + i, i + 1)) == 1
    for i in range(3):  # under the old key: CRC errors, the third locks token entry
        assert run(app, credit(base + 100 + i, 1, dk=DK)) == 13
    assert app.lockout.locked(0) and app.fault == 0
    return app, snapshot(app)


def outcome(root, model):
    again = MeterApplication(FileStore(root), {})
    if again.refusing:
        assert again.lockout.locked(0) and again.status_bits() & 0x04
        return "failed closed"
    return "recovered" if snapshot(again) == model else "failed open"


# --- corruption sweep -------------------------------------------------------------------


def corruption(every=1, seed=1):
    """Every stored file, every byte overwritten (0x00, 0xFF, random), every bit flipped."""
    rng = random.Random(seed)
    work = tempfile.mkdtemp(prefix="corrupt-")
    root = os.path.join(work, "state")
    _, model = prepare(root)
    counts = {"recovered": 0, "failed closed": 0, "failed open": 0}
    cases = 0
    for name in FILES:
        path = os.path.join(root, name)
        with open(path, "rb") as f:
            good = f.read()
        for pos in range(0, len(good), every):
            damages = [0x00, 0xFF, rng.randrange(256)] + [good[pos] ^ (1 << b) for b in range(8)]
            for value in damages:
                with open(path, "wb") as f:
                    f.write(good[:pos] + bytes((value,)) + good[pos + 1 :])
                result = outcome(root, model)
                counts[result] += 1
                cases += 1
                if result == "failed open":
                    print("FAILED OPEN: %s byte %d = %02X" % (name, pos, value))
        with open(path, "wb") as f:
            f.write(good)
    shutil.rmtree(work)
    return cases, counts


# --- fault classes ------------------------------------------------------------------------


class _OpenPatch:
    """While entered, firmware/storage.py opens its files through `self.open`."""

    def __enter__(self):
        storage.open = self.open
        return self

    def __exit__(self, *exc):
        del storage.open


class Faults(_OpenPatch):
    """Replaces `open` inside firmware/storage.py to inject OS errors."""

    def __init__(self):
        self.read_error = {}  # file name -> errno on open for reading
        self.write_error = {}  # file name -> (errno, where: "open", "write" or "flush")

    def open(self, path, mode="r"):
        name = os.path.basename(path)
        if "w" not in mode and name in self.read_error:
            raise OSError(self.read_error[name], os.strerror(self.read_error[name]))
        if "w" in mode and name in self.write_error:
            code, where = self.write_error[name]
            if where == "open":
                raise OSError(code, os.strerror(code))
            return _FailingFile(open(path, mode), code, where)
        return open(path, mode)


class _FailingFile:
    def __init__(self, f, code, where):
        self.f, self.code, self.where = f, code, where

    def write(self, data):
        if self.where == "write":
            self.f.write(bytes(data[:1]))  # some of it reached the file first
            raise OSError(self.code, os.strerror(self.code))
        return self.f.write(data)

    def flush(self):
        if self.where == "flush":
            raise OSError(self.code, os.strerror(self.code))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.f.close()


def _at_rest(kind, path):
    """Damage one stored copy while the meter is stopped."""
    with open(path, "rb") as f:
        good = f.read()
    if kind == "older firmware's one-file record":
        os.rename(path, path[:-2])  # meter.a -> meter, and no copy or seal beside it
        os.remove(path[:-2] + ".b")
        os.remove(path[:-2] + ".made")
        return
    if kind == "seal deleted":
        os.remove(path[:-2] + ".made")
        return
    if kind == "truncated to 0":
        data = b""
    elif kind == "truncated to half":
        data = good[: len(good) // 2]
    elif kind == "last byte cut":
        data = good[:-1]
    elif kind == "zero-filled":
        data = bytes(len(good))
    elif kind == "0xFF-filled":
        data = b"\xff" * len(good)
    elif kind == "bit flipped":
        data = good[:10] + bytes((good[10] ^ 0x10,)) + good[11:]
    elif kind == "deleted":
        os.remove(path)
        return
    elif kind == "directory in its place":
        os.remove(path)
        os.mkdir(path)
        return
    else:
        raise ValueError(kind)
    with open(path, "wb") as f:
        f.write(data)


AT_REST = (
    "seal deleted",
    "older firmware's one-file record",
    "truncated to 0",
    "truncated to half",
    "last byte cut",
    "zero-filled",
    "0xFF-filled",
    "bit flipped",
    "deleted",
    "directory in its place",
)
READ_ERRORS = (("EIO on read", errno.EIO), ("EACCES on read", errno.EACCES))
WRITE_ERRORS = (
    ("read-only (EROFS on open)", errno.EROFS, "open"),
    ("EIO on open", errno.EIO, "open"),
    ("ENOSPC on write (full)", errno.ENOSPC, "write"),
    ("EIO on write", errno.EIO, "write"),
    ("ENOSPC on flush", errno.ENOSPC, "flush"),
    ("EIO on flush", errno.EIO, "flush"),
)


def fault_classes():
    """Each kind of storage fault, on one copy and on both; yields (fault, where, outcome, ok)."""
    work = tempfile.mkdtemp(prefix="faults-")
    base = os.path.join(work, "base")
    _, model = prepare(base)
    n = 0

    def fresh():
        nonlocal n
        n += 1
        root = os.path.join(work, "r%d" % n)
        shutil.copytree(base, root)
        return root

    for kind in AT_REST:
        for targets in ((FILES[0],),) if kind in AT_REST[:2] else (FILES[:1], FILES[1:], FILES):
            root = fresh()
            for name in targets:
                _at_rest(kind, os.path.join(root, name))
            result = outcome(root, model)
            # one copy damaged: nothing may be lost; both: the meter must refuse
            ok = result == ("recovered" if len(targets) == 1 and kind != AT_REST[1] else "failed closed")
            yield kind, "+".join(targets), result, ok
    for kind, code in READ_ERRORS:
        for targets in (FILES[:1], FILES[1:], FILES):
            root = fresh()
            with Faults() as faults:
                for name in targets:
                    faults.read_error[name] = code
                result = outcome(root, model)
            ok = result == ("recovered" if len(targets) == 1 else "failed closed")
            yield kind, "+".join(targets), result, ok
    for kind, code, where in WRITE_ERRORS:
        for targets in (FILES[:1], FILES[1:], FILES):
            result, ok = _save_fault(fresh(), model, targets, code, where)
            yield kind + " during a token", "+".join(targets), result, ok
    shutil.rmtree(work)


def _save_fault(root, model, targets, code, where):
    """A token whose save meets the fault: a defined answer, no exception, RAM as stored,
    bit 2 set, and the meter takes tokens again once the fault is gone."""
    app = MeterApplication(FileStore(root), {})
    app.lockout.restore(0, 0, 0)  # let a token in (the model's lock is running)
    token = credit(vending.tid_minutes(__import__("datetime").datetime(2005, 1, 1)), 7)
    with Faults() as faults:
        for name in targets:
            faults.write_error[name] = (code, where)
        try:
            status = run(app, token)
        except Exception as e:
            return "crashed: %r" % e, False
        in_ram = snapshot(app)
    bit2 = bool(app.status_bits() & 0x04)
    restarted = MeterApplication(FileStore(root), {})
    as_stored = snapshot(restarted)[:-2] == in_ram[:-2]  # lockout: RAM may be ahead, never behind
    applied = app.credit[0] == model[0][0] + 7
    defined = status == 17 or (status == 1 and applied)
    if not (bit2 and as_stored and defined and not restarted.refusing):
        return "status %d, bit2 %s, as stored %s" % (status, bit2, as_stored), False
    again = run(app, token)  # the fault is gone: the token is taken, or Used if it was
    if again != (10 if applied else 1) or app.fault != 0:
        return "after the fault: status %d, fault %d" % (again, app.fault), False
    return (
        "answered %d, %s, then %s" % (status, "applied" if applied else "not applied", "Used" if applied else "Accept")
    ), True


# --- power cuts at every storage call -------------------------------------------------------


class Cutter(_OpenPatch):
    """Replaces `open` inside firmware/storage.py: the power goes at the `cut_at`-th file
    operation (an open, each byte written, a flush, a close)."""

    def __init__(self, cut_at):
        self.cut_at = cut_at
        self.ops = 0

    def tick(self):
        self.ops += 1
        if self.ops == self.cut_at:
            raise PowerCut()

    def open(self, path, mode="r"):
        self.tick()
        f = open(path, mode)
        return _CuttingFile(f, self) if "w" in mode else f


class _CuttingFile:
    def __init__(self, f, cutter):
        self.f, self.cutter = f, cutter

    def write(self, data):
        for i in range(len(data)):  # a cut may fall between any two bytes
            self.cutter.tick()
            self.f.write(bytes(data[i : i + 1]))
            self.f.flush()

    def flush(self):
        self.cutter.tick()
        self.f.flush()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.f.close()


def cut_everywhere(setup, action, check, config=None, limit=2000):
    """For each cut point in turn: a fresh meter (made with `config`), `setup(app)`,
    `action(app)` cut there, then `check(before, restarted)` on the meter as it comes back.
    Returns the cut points tried (until `action` completes uncut)."""
    config = config or {}
    work = tempfile.mkdtemp(prefix="cuts-")
    try:
        for cut_at in range(1, limit):
            root = os.path.join(work, "c%d" % cut_at)
            app = MeterApplication(FileStore(root), config)
            setup(app)
            before = snapshot(app)
            try:
                with Cutter(cut_at):
                    action(app)
                completed = True
            except PowerCut:
                completed = False
            check(before, MeterApplication(FileStore(root), config))
            shutil.rmtree(root)
            if completed:
                return cut_at - 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    raise AssertionError("the operation never completed within %d cut points" % limit)


T0 = vending.tid_minutes(__import__("datetime").datetime(2004, 3, 1, 13, 55))


def _credit_setup(app):
    assert run(app, credit(T0 - 5, 30, dk=DK)) == 1


def _credit_check(before, restarted):
    assert not restarted.refusing
    applied = restarted.credit[0] == 100
    assert restarted.credit[0] in (30, 100) and applied == (T0 in restarted.tids)
    assert run(restarted, credit(T0, 70, dk=DK)) == (10 if applied else 1)
    assert restarted.credit[0] == 100


def _mpl_check(before, restarted):
    assert not restarted.refusing
    applied = restarted.mpl == 256
    assert restarted.mpl in (0, 256) and applied == (T0 + 1 in restarted.tids)


def _kct_setup(app):
    _credit_setup(app)
    assert run(app, KCT[0]) == 2


def _kct_first_check(before, restarted):
    assert not restarted.refusing and not restarted.key_changed
    assert restarted.read_register(0x8016) in (0, 3)  # the first half waits, or was never taken


def _kct_second_check(before, restarted):
    assert not restarted.refusing
    if restarted.key_changed:
        assert restarted.dk == NEW_DK.to_bytes(8, "big") and restarted.read_register(0x8016) == 0
        assert (restarted.krn, restarted.ti) == (2, 7)
    else:
        assert restarted.dk == DK.to_bytes(8, "big") and restarted.read_register(0x8016) == 3


def _reject_check(before, restarted):
    """A rejection that can be read (TokenStatus 13) is a counted one: one record."""
    assert not restarted.refusing
    count = restarted.lockout.count
    assert count in (before[12], before[12] + 1)
    assert (restarted.last[0] == 13) == (count == before[12] + 1)


def _reject_setup(app):
    _credit_setup(app)
    assert run(app, credit(T0 + 50, 1)) == 13  # a first rejection: the count is 1 before the cut
    assert run(app, vending.class1_token(0, 2**36 - 1, 0)) == 1  # and the last result reads 1


def _expiry_setup(app):
    _credit_setup(app)
    for i in range(3):
        run(app, credit(T0 + 50 + i, 1))
    assert app.lockout.locked(0)


def _expiry_check(before, restarted):
    assert restarted.lockout.count == before[12]  # the count is never lost
    # the lock either still runs (stored before it ran out) or ran out; never shortened
    assert restarted.lockout.remaining_ms(0) in (0, before[13])


def _first_check(before, restarted):
    """A new meter's first save cut: still a new meter (nothing was applied), or applied."""
    assert not restarted.refusing
    assert (restarted.credit[0], restarted.tids) in ((0, []), (70, [T0]))


# sts-edition3.md section 5: an EA11 meter and the 4-token set to its TI 02 key
EA11 = {"algorithm": "misty1", "dk": "F94B6ED353C3BFDB113E2D3A7EA3C41D"}
EA11_NEW = bytes.fromhex("B208834372EF892EF6E04C28593090D4")
EA11_SET = (34812744915211133004, 46903925208523674737, 71464563847088610152, 67904239402617643990)


def _set_setup(app):
    assert [run(app, n) for n in EA11_SET[:3]] == [2, 2, 2]


def _set_check(before, restarted):
    """The 4th section's save cut anywhere: the old key with three sections waiting, or
    the whole new key, TI and SGC; never a part of the set."""
    assert not restarted.refusing
    if restarted.key_changed:
        assert (restarted.dk, restarted.ti, restarted.sgc) == (EA11_NEW, 2, 123457)
        assert restarted.read_register(0x8016) == 0
    else:
        assert restarted.dk == bytes.fromhex(EA11["dk"]) and restarted.ti == 1
        assert restarted.read_register(0x8016) == 8  # the latest of the three waiting
        assert run(restarted, EA11_SET[3]) == 3


def _consumption_setup(app):
    _credit_setup(app)
    Consumption(app).consume(0, 50, 1000, 0)  # 0.05 kWh: kept below a tenth, not stored


def _consume(app):
    """Enough to bill SAVE_TENTHS tenths: the consumption save runs (and is cut)."""
    app.consumption.consume(0, 100 * SAVE_TENTHS, 1000, 0)


def _power_fail(app):
    app.consumption.consume(0, 120, 1000, 0)  # 0.12 kWh more: 1 tenth, not yet stored
    app.consumption.power_failing(0)


def _consumption_check(before, restarted):
    """Either the old record or the new one: credit bought is whole, never billed twice."""
    assert not restarted.refusing
    used = restarted.usage[0]
    assert used in (0, SAVE_TENTHS) and restarted.credit[0] + used == 30
    assert restarted.usage[4] == (500 if used else 0)


def _power_fail_check(before, restarted):
    assert not restarted.refusing
    assert (restarted.usage[0], restarted.usage[4], restarted.credit[0]) in ((0, 0, 30), (1, 700, 29))


KCT = vending.key_change_tokens(NEW_DK, 255, 2, 0, 2, 7, DK)
OPERATIONS = (
    ("first token of a new meter", lambda app: None, lambda app: run(app, credit(T0, 70, dk=DK)), _first_check),
    ("credit token", _credit_setup, lambda app: run(app, credit(T0, 70, dk=DK)), _credit_check),
    (
        "management token (MaximumPowerLimit)",
        _credit_setup,
        lambda app: run(app, vending.token(2, 0, 5, T0 + 1, 256, DK)),
        _mpl_check,
    ),
    ("key change, first half", _credit_setup, lambda app: run(app, KCT[0]), _kct_first_check),
    ("key change, second half", _kct_setup, lambda app: run(app, KCT[1]), _kct_second_check),
    ("rejected token (lockout count)", _reject_setup, lambda app: run(app, credit(T0 + 51, 1)), _reject_check),
    ("consumption save (SAVE_TENTHS billed)", _consumption_setup, _consume, _consumption_check),
    ("power-fail save", _consumption_setup, _power_fail, _power_fail_check),
    ("lockout runs out", _expiry_setup, lambda app: app.lockout.poll(10000) and app.save(10000), _expiry_check),
    ("EA11 4-token key change, last section", _set_setup, lambda app: run(app, EA11_SET[3]), _set_check, EA11),
)


def power_cuts():
    """Yields (operation, cut points tried) with every cut point checked against the model."""
    for operation in OPERATIONS:
        yield operation[0], cut_everywhere(*operation[1:])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--every", type=int, default=1, help="every Nth byte of the corruption sweep")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    cases, counts = corruption(args.every, args.seed)
    print(
        "corruption: %d cases: %d recovered, %d failed closed, %d failed open"
        % (cases, counts["recovered"], counts["failed closed"], counts["failed open"])
    )
    bad = counts["failed open"]
    total = 0
    for fault, where, result, ok in fault_classes():
        total += 1
        bad += not ok
        print("%-4s %-34s %-16s %s" % ("ok" if ok else "BAD", fault, where, result))
    print("fault classes: %d" % total)
    for name, cuts in power_cuts():
        print("power cuts: %-38s %4d cut points, every one as the model says" % (name, cuts))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
