"""One meter per state directory (issue 10): a second meter on the same directory stops
with exit status 2; a lock left by a meter that died does not block the next one."""

import os
import signal
import subprocess
import time

from helpers import board_exit
from unixboard import MAIN, UnixBoard, free_port


def second_meter(micropython, state):
    """A meter started on `state` that is expected to refuse: (exit status, output)."""
    result = board_exit(micropython, state)
    return result.returncode, result.stdout + result.stderr


def identity(pid):
    """The lock entry name of process `pid` (as boards/unix/lock.py makes it)."""
    stat = open("/proc/%d/stat" % pid).read()
    return "%d-%s" % (pid, stat[stat.rfind(")") + 2 :].split()[19])


def test_a_second_meter_on_the_same_directory_exits_2_naming_it(unix_board, micropython, tmp_path):
    state = tmp_path / "meter"
    unix_board(state=state)
    code, out = second_meter(micropython, state)
    assert code == 2
    assert out.strip().count("\n") == 0 and str(state) in out and "in use" in out, out


def test_a_meter_killed_with_sigkill_does_not_block_a_restart(unix_board, tmp_path):
    state = tmp_path / "meter"
    first = unix_board(state=state)
    first.stop()  # SIGKILL: the lock entry stays behind
    assert os.listdir(state / "meter.lock")
    unix_board(state=state)  # starts (raises if it did not)


def test_a_killed_meter_not_yet_reaped_does_not_block_a_restart(micropython, unix_board, tmp_path):
    state = tmp_path / "meter"
    first = UnixBoard(micropython, state).start()
    first.proc.send_signal(signal.SIGKILL)
    time.sleep(0.2)  # a zombie now: its /proc entry is still there
    try:
        unix_board(state=state)
    finally:
        first.proc.wait()


def test_a_lock_left_by_a_dead_process_is_stale(unix_board, tmp_path):
    state = tmp_path / "meter"
    (state / "meter.lock").mkdir(parents=True)
    gone = subprocess.Popen(["true"])
    gone.wait()
    (state / "meter.lock" / ("%d-12345" % gone.pid)).mkdir()
    # and one whose PID is in use by a process started at another time (PID reuse)
    (state / "meter.lock" / ("%d-1" % os.getpid())).mkdir()
    unix_board(state=state)
    assert len(os.listdir(state / "meter.lock")) == 1  # only the running meter's entry


def test_a_lock_of_a_live_process_holds(micropython, tmp_path):
    state = tmp_path / "meter"
    (state / "meter.lock").mkdir(parents=True)
    (state / "meter.lock" / identity(os.getpid())).mkdir()  # this test process holds it
    code, out = second_meter(micropython, state)
    assert code == 2 and "process %d" % os.getpid() in out, out


def test_a_stopped_meter_gives_the_directory_back(micropython, tmp_path):
    state = tmp_path / "meter"
    board = UnixBoard(micropython, state).start()
    board.proc.send_signal(signal.SIGINT)  # Ctrl-C
    board.proc.wait(timeout=5)
    assert os.listdir(state / "meter.lock") == []


def test_two_meters_started_at_the_same_instant_one_runs(micropython, tmp_path):
    for round in range(4):
        state = tmp_path / ("meter%d" % round)
        procs = [
            subprocess.Popen(
                [micropython, MAIN, "--tcp", "127.0.0.1:%d" % free_port(), "--state", str(state)],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            for _ in range(2)
        ]
        try:
            deadline = time.monotonic() + 10
            while all(p.poll() is None for p in procs) and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.5)
            codes = [p.poll() for p in procs]
            assert sorted(codes, key=str) == [2, None], codes  # one gave up, the other runs
        finally:
            for p in procs:
                p.kill()
                p.wait()


def test_a_state_directory_that_cannot_be_made_is_one_line_and_exit_2(micropython, tmp_path):
    (tmp_path / "file").write_text("not a directory")
    state = tmp_path / "file" / "meter"
    code, out = second_meter(micropython, state)
    assert code == 2 and out.strip().count("\n") == 0 and str(state) in out, out
