"""Power cuts inside littlefs, the file system the boards use (docs/storage.md).

    python3 tools/harness/reliability/lfs_powercut.py [--lib build/firmware]

On CPython it makes the tokens (the vending side) and runs itself on the MicroPython unix
port, which has littlefs (`vfs.VfsLfs2`). There the meter's store lives on littlefs over a
RAM block device. For each operation (a credit token, a management token, each half of a
key change, a rejected token, the lockout running out) it counts the block writes and
erases the operation makes, then, for each of them in turn, starts again from the same
image, cuts the power just before that block operation (nothing more reaches the flash),
mounts what is left, restarts the meter from it and checks it against the model: credit is
the sum of the accepted tokens, no TID is accepted twice, the key is wholly old or wholly
new, the lockout is never weaker than before the cut.
"""

import sys

BLOCKS = 64  # a 32 KB littlefs, the size of a small board's state partition
BLOCK_SIZE = 512
MOUNT = "/lfs"
FILLS = 24  # images with 0..23 earlier saves: enough for littlefs to compact its metadata


class PowerCut(BaseException):
    """Not an Exception: nothing in the firmware may catch the power going."""


class RamBlocks:
    """A block device in RAM whose power can be cut before its `cut_at`-th write or erase."""

    def __init__(self, data=None):
        self.data = bytearray(data) if data else bytearray(b"\xff" * (BLOCKS * BLOCK_SIZE))
        self.ops = 0
        self.erases = 0
        self.progged = 0  # bytes written (programmed)
        self.cut_at = 0
        self.dead = False

    def _tick(self):
        if self.dead:
            return False  # the power is off: nothing reaches the flash any more
        self.ops += 1
        if self.ops == self.cut_at:
            self.dead = True
            raise PowerCut()
        return True

    def readblocks(self, n, buf, off=0):
        a = n * BLOCK_SIZE + off
        buf[:] = self.data[a : a + len(buf)]

    def writeblocks(self, n, buf, off=0):
        if self._tick():
            a = n * BLOCK_SIZE + off
            self.data[a : a + len(buf)] = buf
            self.progged += len(buf)

    def ioctl(self, op, arg):
        if op == 4:
            return BLOCKS
        if op == 5:
            return BLOCK_SIZE
        if op == 6 and self._tick():  # erase
            self.erases += 1
            a = arg * BLOCK_SIZE
            self.data[a : a + BLOCK_SIZE] = b"\xff" * BLOCK_SIZE
        return 0


def child(tokens):
    """On MicroPython: every cut point of every operation, checked; prints one line each."""
    import os

    import vfs
    from meterapp import MeterApplication
    from storage import FileStore

    def mount(dev):
        os.mount(vfs.VfsLfs2(dev), MOUNT)

    def unmount():
        try:
            os.umount(MOUNT)
        except OSError:
            pass

    def meter():
        return MeterApplication(FileStore(MOUNT + "/state"), {})

    def run(app, name, now=0):
        app.submit(tokens[name], now)
        return app.step(now)

    def state(app):
        return (
            list(app.credit),
            app.tids,
            app.mpl,
            app.key_changed,
            bytes(app.dk),
            app.krn,
            app.ti,
            app.read_register(0x8016),
            app.last[0],
            app.lockout.count,
            app.lockout.remaining_ms(0),
        )

    def setup_credit(app):
        assert run(app, "old_credit") == 1

    def setup_kct(app):
        setup_credit(app)
        assert run(app, "kct1") == 2

    def setup_reject(app):
        setup_credit(app)
        assert run(app, "reject1") == 13
        assert run(app, "class1") == 1  # the last result reads 1, the count stays 1

    def setup_locked(app):
        setup_credit(app)
        for name in ("reject1", "reject2", "reject3"):
            assert run(app, name) == 13
        assert app.lockout.locked(0)

    def check_credit(before, after, name):
        applied = after[0][0] == 100
        assert after[0][0] in (30, 100) and applied == (tokens["credit_tid"] in after[1])
        return applied

    def check_mpl(before, after, name):
        applied = after[2] == 256
        assert after[2] in (0, 256) and applied == (tokens["mpl_tid"] in after[1])
        return applied

    def check_kct1(before, after, name):
        assert not after[3] and after[7] in (0, 3)
        return after[7] == 3

    def check_kct2(before, after, name):
        if after[3]:
            assert after[4] == tokens["new_dk"] and after[7] == 0 and after[5:7] == (2, 7)
            return True
        assert after[4] == tokens["dk"] and after[7] == 3
        return False

    def check_reject(before, after, name):
        counted = after[9] == before[9] + 1
        assert after[9] in (before[9], before[9] + 1)
        assert (after[8] == 13) == counted  # a readable rejection is a counted one
        return counted

    def check_expiry(before, after, name):
        assert after[9] == before[9] and after[10] in (0, before[10])
        return after[10] == 0

    def expire(app):
        if app.lockout.poll(10000):
            app.save(10000)

    operations = (
        ("credit token", setup_credit, lambda app: run(app, "credit"), check_credit),
        ("management token", setup_credit, lambda app: run(app, "mpl"), check_mpl),
        ("key change, first half", setup_credit, lambda app: run(app, "kct1"), check_kct1),
        ("key change, second half", setup_kct, lambda app: run(app, "kct2"), check_kct2),
        ("rejected token", setup_reject, lambda app: run(app, "reject2"), check_reject),
        ("lockout runs out", setup_locked, expire, check_expiry),
    )
    failed = 0
    for name, setup, action, check in operations:
        tried = old = new = erases = 0
        # the same operation from images filled by 0..FILLS-1 earlier saves, so that the
        # cuts also fall inside littlefs's metadata compactions (erase and rewrite)
        for fill in range(FILLS):
            dev = RamBlocks()
            vfs.VfsLfs2.mkfs(dev)
            mount(dev)
            app = meter()
            setup(app)
            for _ in range(fill):
                app.save(0)
            before = state(app)
            unmount()
            base = bytes(dev.data)
            dev = RamBlocks(base)
            mount(dev)
            action(meter())
            unmount()
            total = dev.ops
            erases += dev.erases
            for cut_at in range(1, total + 1):
                dev = RamBlocks(base)
                dev.cut_at = cut_at
                mount(dev)
                try:
                    action(meter())
                except PowerCut:
                    pass
                unmount()  # (a cut may also fall in the unmount's own writes)
                dev = RamBlocks(dev.data)  # the flash as the cut left it
                mount(dev)
                tried += 1
                try:
                    again = meter()
                    assert not again.refusing, "storage fault %d after the cut" % again.fault
                    if check(before, state(again), name):
                        new += 1
                    else:
                        old += 1
                except AssertionError as e:
                    failed += 1
                    print("FAIL", name, "fill", fill, "cut", cut_at, e)
                unmount()
        print(
            "op %s: %d cut points (%d images, %d erases among their block operations): %d old state, %d new state"
            % (name, tried, FILLS, erases, old, new)
        )
    print("failed", failed)


def host(argv):
    """On CPython: make the tokens, run the child on MicroPython, relay its output."""
    import datetime as dt
    import os
    import subprocess

    sys.path.append(__file__[: __file__.rfind("/") + 1] + "..")  # tools/harness, for hostpath (README.md)
    import hostpath
    from meterapp import DEFAULT_DK
    from unixboard import micropython_binary

    from vtc07 import vending

    lib = argv[argv.index("--lib") + 1] if "--lib" in argv else os.path.join(hostpath.ROOT, "firmware")
    dk = int(DEFAULT_DK, 16)
    new_dk = 0x0123456789ABCDEF
    t0 = vending.tid_minutes(dt.datetime(2004, 3, 1, 13, 55))
    credit = lambda t, amount, key=dk: vending.token(0, 0, 5, t, vending.amount_field(amount), key)  # noqa: E731
    kct = vending.key_change_tokens(new_dk, 255, 2, 0, 2, 7, dk)
    tokens = {
        "old_credit": credit(t0 - 5, 30),
        "credit": credit(t0, 70),
        "credit_tid": t0,
        "mpl": vending.token(2, 0, 5, t0 + 1, 256, dk),
        "mpl_tid": t0 + 1,
        "kct1": kct[0],
        "kct2": kct[1],
        "reject1": credit(t0 + 50, 1, new_dk),
        "reject2": credit(t0 + 51, 1, new_dk),
        "reject3": credit(t0 + 52, 1, new_dk),
        "class1": vending.class1_token(0, 2**36 - 1, 0),
    }
    args = ["%s=%d" % kv for kv in tokens.items()]
    args += ["dk=%s" % dk.to_bytes(8, "big").hex(), "new_dk=%s" % new_dk.to_bytes(8, "big").hex()]
    result = subprocess.run(
        [micropython_binary(), os.path.abspath(__file__), "--child", lib] + args,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return result.returncode, result.stdout + result.stderr


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        sys.path.insert(0, sys.argv[2])
        tokens = {}
        for arg in sys.argv[3:]:
            key, value = arg.split("=")
            tokens[key] = bytes.fromhex(value) if key.endswith("dk") else int(value)
        child(tokens)
    else:
        code, out = host(sys.argv[1:])
        print(out, end="")
        sys.exit(code or (1 if "failed 0" not in out else 0))
