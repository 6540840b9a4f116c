"""Helpers the tests share (tests import these, never each other)."""

import datetime as dt
import os
import subprocess
import tempfile

import pytest
import simline
from conftest import ROOT
from meterapp import MeterApplication
from unixboard import MAIN, free_port

from vtc07 import vending

DK = 0xE653341F9D5BF36F  # the decoder key of sts-tokens.md's vectors, the unix board's default
OTHER_DK = 0xE94023262E9993C2


def tid(minutes_after=0):
    return vending.tid_minutes(dt.datetime(2004, 3, 1, 13, 55)) + minutes_after


def credit_token(subclass=0, amount=1, t=None, dk=DK, rnd=5):
    return vending.token(0, subclass, rnd, tid() if t is None else t, vending.amount_field(amount), dk)


def mgmt_token(subclass, value, t, dk=DK):
    return vending.token(2, subclass, 5, t, value, dk)


def entry(number):
    """A token as the server takes a BinaryTokenEntry write: its 17 hex digits' values."""
    return bytes(int(c, 16) for c in "%017X" % number)


def run(app, number, now=0):
    """Enter a token into a meter application and run it to its result."""
    app.submit(number, now)
    return app.step(now)


def stored(app):
    """What a restart would find: everything but the last-result fields. The meter is read
    back with the configuration a test gave it (`config_for_test`: edition 3's currency), if
    any."""
    a = MeterApplication(app.store, getattr(app, "config_for_test", {}))
    return (
        a.credit,
        a.balance,
        a.tids,
        a.mpl,
        a.tariff_rate,
        a.water_factor,
        a.mppul,
        a.tamper,
        a.key_changed,
        a.dk,
        a.key_type,
        a.krn,
        a.ken,
        a.ti,
        a.sgc,
        a.base_date,
        bytes(a.keychange.state) if a.keychange else bytes(25),
    )


def board_exit(micropython, state, *flags):
    """The unix board on `state` with `flags`, run to its exit (the checks that it refuses to
    start): the finished process, its output as text. One that starts instead fails the test:
    it would listen until the timeout."""
    try:
        return subprocess.run(
            [micropython, MAIN, "--tcp", "127.0.0.1:%d" % free_port(), "--state", str(state), *flags],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("the board started with %r" % (flags,))


def make_romfs(board):
    """`make romfs BOARD=board`'s image, built now into a build directory of its own: the
    build starts by removing its firmware/, which tests running beside this one (the unix
    board with --lib build/firmware, another image) must not see vanish."""
    build = tempfile.mkdtemp(prefix="romfs-build-")
    result = subprocess.run(
        ["make", "-s", "romfs", "BOARD=" + board, "BUILD=" + build],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return os.path.join(build, "romfs", board + ".img")


def sim_meter(*flags, store=None, now=0, to_meter=None, to_hhu=None):
    """A meter in this process on the line simulator (tools/harness/sim/simline.py), configured
    by the unix board's meter flags ("--algorithm", "des", ...): its `sim://` URL, which
    the HHU and the `vtc07` command open as a serial port. Its time is virtual: a test
    about logic never waits for tr, a token poll or a lockout. `to_meter`, `to_hhu`: a
    damaged line (noisyline.py's damage functions, or zoo.py's relay plans)."""
    server = simline.build_meter(flags, store, now)
    return simline.attach(server, to_meter=to_meter, to_hhu=to_hhu)


def sim_time(url):
    """A simulated meter's clock: ms on its line."""
    return simline.PORTS[url].line.now


def sim_server(url):
    """A simulated meter's core (its server; `.app` the application)."""
    return simline.PORTS[url].line.server
