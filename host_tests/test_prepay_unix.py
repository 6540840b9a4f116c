"""The unix board as a prepayment meter: a simulated load (--load-w) runs the credit down
and the switch opens at zero; bad --load-w values; `vtc07 watch` against it."""

import time

import pytest
from helpers import board_exit, credit_token

from vtc07 import cli as vtc07
from vtc07 import hhu


def read(m, *names):
    return [m.read(hhu.lookup(name)) for name in names]


def test_36_kw_uses_0_1_kwh_in_10_seconds_and_the_switch_opens(unix_board):
    board = unix_board("--load-w", "36000")
    with hhu.Hhu("socket://127.0.0.1:%d" % board.port) as m:
        m.sign_on()
        assert read(m, "SwitchState", "SwitchReason") == ["2", "2"]  # a new meter: no credit
        assert m.enter_token(credit_token(0, 1))[0] == 1  # 0.1 kWh
        start = time.monotonic()
        assert read(m, "SwitchState") == ["1"]  # closed, credit low
        while read(m, "SwitchState") != ["2"]:
            assert time.monotonic() - start < 15, read(m, "CreditElectricity", "Power")
            time.sleep(0.2)
        took = time.monotonic() - start
        assert 8.5 < took < 12.5, took
        assert read(m, "CreditElectricity", "TotalEnergyConsumed", "SwitchReason") == ["0000000000", "0000000001", "2"]
        time.sleep(1)
        assert read(m, "Power", "TotalEnergyConsumed") == ["000000", "0000000001"]  # nothing flows
    board.stop()
    out = board.proc.stdout.read().decode()
    assert "switch closed 1" in out and out.count("switch open 2") == 2, out


def test_a_varying_load_and_watch(unix_board, capsys):
    board = unix_board("--load-w", "1000-3000")
    url = "socket://127.0.0.1:%d" % board.port
    with hhu.Hhu(url) as m:
        m.sign_on()
        assert m.enter_token(credit_token(0, 1000))[0] == 1
        m.brk()
    time.sleep(2.5)
    lines = []
    assert vtc07.main(["--port", url, "watch", "--count", "3", "--interval", "0.5"], out=lines.append) == 0
    assert len(lines) == 3
    for line in lines:
        stamp, line = line.split("  ", 1)  # each sample with the time it was taken
        assert len(stamp) == 8 and stamp[2] == stamp[5] == ":", stamp
        assert line.startswith("credit 100.0 kWh") or line.startswith("credit 99.9 kWh"), line
        power = int(line.split("power ")[1].split()[0])
        assert 1000 <= power <= 3000 and line.endswith("switch closed"), line


@pytest.mark.parametrize("value", ["abc", "5-2", "1000000", "-5", "1-1000000", ""])
def test_bad_load_values_exit_2_naming_the_key(micropython, tmp_path, value):
    result = board_exit(micropython, tmp_path / "state", "--load-w", value)
    assert result.returncode == 2 and "error: config key 'load_w' must be" in result.stderr, result.stderr


def test_a_load_needs_the_token_engine(micropython, tmp_path):
    result = board_exit(micropython, tmp_path / "state", "--load-w", "100", "--app", "stub")
    assert result.returncode == 2 and "error: config key 'load_w' needs the token engine" in result.stderr


def test_watch_against_a_meter_without_the_registers_says_so():
    assert vtc07.parser().parse_args(["watch", "--count", "1"]).count == 1
