"""Never open, never dead (issue 18): a meter in use never becomes new by itself, starts
whatever is in its store, is never stuck on one copy, survives MemoryError anywhere on the
token and save path, keeps its timers, and stores on a clean stop
(tools/harness/reliability/fail_closed.py gives the whole table)."""

import os
import shutil
import signal
import time

import fail_closed
import meter
import pytest
from consumption import Consumption
from helpers import credit_token, entry, run, tid
from keychange import KeyChange
from meterapp import MeterApplication
from storage import FileStore, MemoryStore
from tables import POWER_HOLD_MS, REASON_POWER, RECONNECT_MS, SAVE_MS, STATUS_CREDIT_EXHAUSTED, SWITCH_OPEN
from ticks import ticks_add
from unixboard import enter, read

VECTOR = fail_closed.VECTOR


def test_no_fault_fails_open_crashes_or_kills_the_start(tmp_path):
    """The CPython rows of the table: every stored file replaced (zeroed, truncated,
    deleted, oversized, directory, FIFO, alone and with the seal lost), MemoryError at
    every line of the token and save path, each storage errno at each call."""
    table = fail_closed.figures(board=False)
    assert table.bad() == 0, table.rows
    counts = dict(table.rows)
    assert counts["deleted    all three"]["fail-closed"] == 1
    assert counts["directory  one file"]["degraded"] == 2  # never "recovered" and stuck


def test_a_store_in_use_never_becomes_new(tmp_path):
    root = str(tmp_path / "state")
    app = MeterApplication(FileStore(root), {})  # the directory made here: a new meter
    assert not app.refusing and os.path.exists(root + "/meter.made")  # in use from now on
    assert run(app, VECTOR) == 1
    for name in ("meter.a", "meter.b", "meter.made"):
        os.remove(os.path.join(root, name))
    again = MeterApplication(FileStore(root), {})
    assert again.refusing and again.fault == 7 and again.lockout.locked(0)
    shutil.rmtree(root)  # the whole directory gone: a new meter, by design
    assert not MeterApplication(FileStore(root), {}).refusing


def test_timers_run_through_a_key_change_without_a_periodic_wake():
    """next_event is never -1 while the consumption save is due, a key change set
    waiting or not: a core run only at the times it asks for still stores consumption."""
    server = meter.build({}, MemoryStore(), 0)
    app = server.app
    assert run(app, credit_token(amount=100)) == 1
    Consumption(app).consume(0, 150, 1000, 0)  # 0.15 kWh: one tenth billed, not stored
    assert server.next_event(0) == SAVE_MS
    app._keychange()  # a key change object exists (as after any key change token)
    assert isinstance(app.keychange, KeyChange) and app.keychange.deadline(0) == -1
    now = 0
    while True:  # only the core's own wake-ups: no periodic timer
        wait = server.next_event(now)
        assert wait >= 0, "the consumption save is due, yet next_event is %d" % wait
        now += wait
        server.poll(now)
        if app.consumption._unsaved == 0:
            break
    assert now == SAVE_MS and MeterApplication(app.store, {}).usage[0] == 1


# --- the unix board -------------------------------------------------------------------------


def _used_meter(unix_board, state):
    board = unix_board(state=state)
    sock = board.session()
    assert enter(sock, VECTOR) == ("<ACK>", "01")
    sock.close()
    board.stop()


@pytest.mark.parametrize("damage", ["all three deleted", "seal deleted, copies zeroed"])
def test_a_meter_in_use_fails_closed_and_answers_reads(unix_board, tmp_path, damage):
    state = tmp_path / "state"
    _used_meter(unix_board, state)
    for name in ("meter.a", "meter.b", "meter.made"):
        if damage == "all three deleted" or name == "meter.made":
            os.remove(str(state / name))
        else:
            (state / name).write_bytes(bytes(284))
    board = unix_board(state=state)
    sock = board.session()
    assert read(sock, 0x8018) == ("7" if damage == "all three deleted" else "4")
    answer, status = enter(sock, VECTOR)  # the used token: never taken again
    assert "ERR08" in answer and status == "17"
    assert read(sock, 0x0002) == "00010110"  # storage fault, lockout held, no credit
    sock.close()


def test_a_new_meter_is_a_directory_the_board_makes_or_an_empty_one(unix_board, tmp_path):
    for state in (tmp_path / "fresh", tmp_path / "empty"):
        if state.name == "empty":
            state.mkdir()
        board = unix_board(state=state)
        sock = board.session()
        assert read(sock, 0x8018) == "0"
        assert enter(sock, VECTOR) == ("<ACK>", "01")
        sock.close()
        board.stop()


@pytest.mark.parametrize("entry", ["meter.a", "meter.made"])
def test_a_fifo_in_the_store_does_not_block_the_start(unix_board, tmp_path, entry):
    state = tmp_path / "state"
    _used_meter(unix_board, state)
    os.remove(str(state / entry))
    os.mkfifo(str(state / entry))
    board = unix_board(state=state)  # raises if it does not listen
    sock = board.session()
    assert enter(sock, VECTOR) == ("<ACK>", "10")  # Used: nothing forgotten
    assert enter(sock, credit_token(t=tid(1)))[1] == "01"
    assert read(sock, 0x8018) == ("6" if entry == "meter.a" else "0")  # degraded


def test_an_oversized_copy_on_a_64k_heap_is_read_only_to_the_record_size(micropython, tmp_path, built_firmware):
    from unixboard import UnixBoard

    state = tmp_path / "state"
    board = UnixBoard(micropython, state, "--lib", built_firmware, interpreter_args=("-X", "heapsize=64k")).start()
    sock = board.session()
    assert enter(sock, VECTOR) == ("<ACK>", "01")
    sock.close()
    board.stop()
    (state / "meter.b").write_bytes(os.urandom(2 * 1024 * 1024))
    board = UnixBoard(micropython, state, "--lib", built_firmware, interpreter_args=("-X", "heapsize=64k")).start()
    try:
        sock = board.session()
        assert read(sock, 0x8018) == "1" and enter(sock, VECTOR)[1] == "10"
    finally:
        board.stop()


def test_a_plain_file_where_the_lock_goes_refuses_tokens_and_answers_reads(unix_board, tmp_path):
    state = tmp_path / "state"
    _used_meter(unix_board, state)
    shutil.rmtree(str(state / "meter.lock"))
    (state / "meter.lock").write_text("")
    board = unix_board(state=state)
    sock = board.session()
    assert read(sock, 0x8018) == "8"
    answer, status = enter(sock, credit_token(t=tid(1)))
    assert "ERR08" in answer and status == "17"
    sock.close()
    board.stop()
    assert b"cannot hold state directory" in board.proc.stdout.read()


def test_ctrl_c_stores_the_consumption_as_a_power_fail(micropython, tmp_path):
    from unixboard import UnixBoard

    state = tmp_path / "state"
    board = UnixBoard(micropython, state, "--load-w", "999999").start()
    sock = board.session()
    assert enter(sock, credit_token(amount=100)) == ("<ACK>", "01")
    time.sleep(1.0)  # 999,999 W for 1 s: 0.27 kWh, under the 1.0 kWh of a consumption save
    stop = time.time()
    board.proc.send_signal(signal.SIGINT)
    assert board.proc.wait(10) == 0
    # the power-failing save ran after the signal (the remainder below a tenth changes every
    # 100 ms, so there is always something to store)
    assert os.stat(str(state / "meter.a")).st_mtime >= stop - 0.01
    app = MeterApplication(FileStore(str(state)), {})
    assert not app.refusing and app.usage[0] >= 2 and app.credit[0] + app.usage[0] == 100


def test_the_unix_boards_guard_counts_a_fault_and_serves_on(micropython, tmp_path):
    """serve() raising (as anything in the loop may) is one line and one stored count; the
    loop is entered again on the same meter; Ctrl-C still stops it with exit status 0."""
    import subprocess

    from conftest import ROOT
    from unixboard import free_port

    script = tmp_path / "guard.py"
    script.write_text(
        """
import sys
sys.path[:0] = [%r, %r]
import unixmain
calls = []
def serve(line, server):
    calls.append(server)
    if len(calls) < 3:
        raise RuntimeError("a callback failed")
    assert calls[0] is calls[2]
    raise KeyboardInterrupt
unixmain.serve = serve
print("exit", unixmain.main(["--tcp", "127.0.0.1:%d", "--state", %r]))
"""
        % (ROOT + "/firmware", ROOT + "/boards/unix", free_port(), str(tmp_path / "state"))
    )
    result = subprocess.run([micropython, str(script)], capture_output=True, text=True, timeout=20)
    assert result.stdout.count("fault ") == 2 and "RuntimeError a callback failed" in result.stdout
    assert "exit 0" in result.stdout, result.stdout + result.stderr
    assert FileStore(str(tmp_path / "state")).load("faults") == b"\x00\x02"


def test_no_memory_to_read_the_record_back_refuses_until_it_can():
    """A save that runs out of memory, and no memory to read the record back: the token
    reads 17, the meter refuses (ERR08, lockout held) and tries again at each refused
    entry; once the record can be read, the next token is taken."""
    from tables import ERR_STORAGE

    class Store(MemoryStore):
        fail_save = fail_load = False

        def _write(self, path, head, data, tail):
            if self.fail_save:
                raise MemoryError("no memory")
            return super()._write(path, head, data, tail)

        def _read(self, path, limit):
            if self.fail_load:
                raise MemoryError("no memory")
            return super()._read(path, limit)

    store = Store()
    server = meter.build({}, store, 0)
    app = server.app
    Consumption(app)
    assert run(app, credit_token(amount=10, t=tid(-1))) == 1 and app.credit[0] == 10  # stored
    store.fail_save = store.fail_load = True

    def no_memory_for_the_call():  # MicroPython: a call whose frame is a heap object can
        raise MemoryError("no memory")  # fail before its first line has reset anything

    app._take_stored = no_memory_for_the_call
    assert run(app, credit_token(amount=5)) == 17 and app.refusing and app.lockout.locked(0)
    del app._take_stored
    # RAM holds a credit no record has, and cannot read what the record holds: it pays out
    # on nothing (the switch opens) until it can
    assert app.credit == [0, 0, 0, 0] and app.status_bits() & STATUS_CREDIT_EXHAUSTED
    assert app.consumption.switch.values[0] == SWITCH_OPEN
    store.fail_save = False
    assert server.write_register(4, entry(credit_token(amount=5))) == ERR_STORAGE and app.refusing
    store.fail_load = False
    assert server.write_register(4, entry(credit_token(amount=5))) == ERR_STORAGE
    assert app.token_status == 17 and not app.refusing and not app.lockout.locked(0)
    assert app.credit[0] == 10  # as stored: the 5 never was
    assert run(app, credit_token(amount=5)) == 1 and app.credit[0] == 15


def test_distrust_opens_the_switch_and_leaves_its_timers_alone():
    """A meter that cannot trust its RAM opens the switch there and then; a power trip in
    progress keeps its own time (the failure path has no clock to run timers with: at a
    made-up 0, a trip near the ticks' wrap would have ended early)."""
    app = meter.build({}, MemoryStore(), 0).app
    load = Consumption(app)
    assert run(app, credit_token(amount=10, t=tid(-1))) == 1
    app.mpl = 100
    start = ticks_add(0, -RECONNECT_MS - POWER_HOLD_MS - 1000)  # its reconnect ends 1 s before 0
    load.measure(500, start)
    load.measure(500, ticks_add(start, POWER_HOLD_MS))
    assert load.switch.values[:2] == [SWITCH_OPEN, REASON_POWER]
    app.distrust()
    assert app.credit[0] == 0 and load.switch.values[0] == SWITCH_OPEN
    app.credit[0] = 10  # the record read back, say: the trip still holds the switch open
    load.decide()
    assert load.switch.values[:2] == [SWITCH_OPEN, REASON_POWER]
    load.measure(0, ticks_add(start, POWER_HOLD_MS + RECONNECT_MS))  # its own time: it ends
    assert load.switch.values[0] != SWITCH_OPEN


def test_the_operator_resets_a_store_with_nothing_left(unix_board, tmp_path):
    state = tmp_path / "state"
    _used_meter(unix_board, state)
    for name in ("meter.a", "meter.b", "meter.made"):
        os.remove(str(state / name))
    board = unix_board("--reset-storage", state=state)
    sock = board.session()
    assert read(sock, 0x8018) == "0"
    assert enter(sock, VECTOR) == ("<ACK>", "01")  # the operator's decision
    sock.close()
    board.stop()
    assert b"nothing was left to move: a new record" in board.proc.stdout.read()
