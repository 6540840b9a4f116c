"""An EA11 meter, from flags (on the line simulator, virtual time) and from a config file
(the unix board), driven by the HHU (tools/hhu.py): the spec's EA11 credit token and
4-token key change set, then a restart."""

import subprocess

from conftest import ROOT
from helpers import sim_meter
from storage import FileStore

from vtc07 import hhu, vending

EA11_DK = "f94b6ed353c3bfdb113e2d3a7ea3c41d"
EA11_DK_TI2 = 0xB208834372EF892EF6E04C28593090D4
EA11_SET = (34812744915211133004, 46903925208523674737, 71464563847088610152, 67904239402617643990)
EA11_FLAGS = (
    "--algorithm",
    "misty1",
    "--dk",
    EA11_DK,
    "--sgc",
    "100000",
    "--base-date",
    "1993",
    "--krn",
    "1",
    "--ti",
    "1",
)


def _url(board):
    """A unix board's URL, or a simulated meter's (sim://) as it is."""
    return board if isinstance(board, str) else "socket://127.0.0.1:%d" % board.port


def reading(board, *names):
    with hhu.Hhu(_url(board)) as meter:
        meter.sign_on()
        values = [meter.read(hhu.lookup(n)) for n in names]
        meter.brk()
    return values


def entering(board, *numbers):
    with hhu.Hhu(_url(board)) as meter:
        meter.sign_on()
        statuses = [meter.enter_token(n)[0] for n in numbers]
        meter.brk()
    return statuses


def test_ea11_meter_from_flags_credit_key_change_and_restart(tmp_path):
    state = str(tmp_path / "meter")
    board = sim_meter(*EA11_FLAGS, store=FileStore(state))
    assert reading(board, "EncryptionAlgorithm", "SupplyGroupCode") == ["11", "100000"]
    assert entering(board, 59386323472137426967, 59386323472137426967) == [1, 10]
    assert entering(board, EA11_SET[2], EA11_SET[0], EA11_SET[3]) == [2, 2, 2]
    assert reading(board, "KeyChangeHalfWaiting") == ["9"]
    again = sim_meter(*EA11_FLAGS, store=FileStore(state))  # a power cycle with three sections waiting
    assert reading(again, "KeyChangeHalfWaiting") == ["9"]
    assert entering(again, EA11_SET[1]) == [3]
    assert reading(again, "SupplyGroupCode", "TariffIndex", "KeyChangeHalfWaiting") == ["123457", "02", "0"]
    new_credit = vending.token(0, 1, 5, 5871665, 1, EA11_DK_TI2, "misty1")
    assert entering(again, 47186281207955155808, new_credit) == [13, 1]  # the old key's water token
    assert reading(again, "CreditElectricity", "CreditWater") == ["0000000001", "0000000001"]


def test_ea11_meter_from_a_config_file(unix_board, tmp_path):
    config = tmp_path / "meter.conf"
    config.write_text("algorithm = misty1\ndk = %s\nbase-date = 1993\n" % EA11_DK)
    board = unix_board("--config", str(config))
    assert entering(board, 47186281207955155808) == [1]


def start_status(micropython, *flags):
    result = subprocess.run(
        [micropython, ROOT + "/boards/unix/main.py", "--tcp", "127.0.0.1:1", *flags],
        capture_output=True,
        text=True,
        timeout=10,
    )
    return result.returncode


def test_a_128_bit_key_for_an_ea07_meter_stops_the_board(micropython):
    assert start_status(micropython, "--dk", EA11_DK) == 2


def test_misty1_with_a_16_digit_key_is_a_config_error(micropython):
    assert start_status(micropython, "--algorithm", "misty1", "--dk", "E653341F9D5BF36F") == 2
