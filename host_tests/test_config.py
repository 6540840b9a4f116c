"""Configuration is checked (issue 10): an unknown key or a bad value stops the meter at
start with one line that names the key and what it accepts; on the unix board, exit
status 2, for flags and config file alike. The pure check on CPython, then the board."""

import os
import re
import subprocess
import sys
import time

import config
import meter
import pytest
import replay_core
from conftest import ROOT
from helpers import board_exit
from storage import MemoryStore
from unixboard import MAIN

from vtc07 import hhu, tracefile

MISTY1_DK = "f94b6ed353c3bfdb113e2d3a7ea3c41d"  # sts-edition3.md's EA11 vector key

# key -> (a bad value, words the message must show: what the key accepts)
BAD = {
    "address": ("6007-27", "0 to 32 characters 0-9 A-Z a-z"),
    "ident": ("MPY(1)", "1 to 16 printable characters other than ( ) / ! *"),
    "manufacturer": ("ST5", "3 letters"),
    "tr": ("100", "a number from 200 to 1500"),
    "ta": ("1501", "a number from 100 to 1500"),
    "recovery": ("150", "a number from 200 to 1500"),
    "session_timeout": ("120001", "a number from 500 to 120000"),
    "baud": ("19200", "300, 600, 1200, 2400, 4800 or 9600"),
    "parity": ("sotf", "soft or uart"),
    "app": ("stubb", "sts or stub"),
    "exec_ms": ("-1", "a number from 0 to 60000"),
    "meter_number": ("12", "18 digits, the last the Luhn check digit"),
    "algorithm": ("aes", "des, misty1 or sta"),
    "dk": ("E653341F9D5BF36", "16 hex digits with algorithm sta"),
    "key_type": ("7", "a number from 0 to 3"),
    "sgc": ("12345", "6 decimal digits"),
    "ti": ("100", "a number from 0 to 99"),
    "krn": ("0", "a number from 1 to 9"),
    "ken": ("256", "a number from 0 to 255"),
    "base_date": ("2000", "1993, 2014 or 2035"),
    "mfr_code": ("65536", "a number from 0 to 65535"),
    "currency": ("2", "0 or 1"),
}


def error(cfg, board_keys=()):
    with pytest.raises(ValueError) as e:
        config.check(cfg, board_keys)
    return str(e.value)


def documented():
    """{key: default} from the table in firmware/config.py's docstring."""
    rows = re.findall(r"^  ([a-z_]+) +(\S+)", config.__doc__, re.M)
    return {key: default for key, default in rows if key != "key"}  # not the heading


def test_every_key_is_described_and_has_a_bad_value_test():
    assert set(documented()) == set(BAD)
    message = error({"nonsense": "1"})
    assert message.endswith("valid keys: " + ", ".join(sorted(BAD)))


@pytest.mark.parametrize("key", sorted(BAD))
def test_each_keys_bad_value_names_the_key_and_what_it_accepts(key):
    value, accepts = BAD[key]
    message = error({key: value})
    assert message.startswith("config key %r must be %s" % (key, accepts)), message
    assert "\n" not in message
    if key != "dk":
        assert message.endswith(", not %r" % value)


def test_the_issues_cases():
    assert error({"algoritm": "des"}).startswith("config key 'algoritm' is not known; valid keys: address, ")
    assert error({"parity": "sotf"}) == "config key 'parity' must be soft or uart, not 'sotf'"
    assert error({"key_type": "7"}) == "config key 'key_type' must be a number from 0 to 3, not '7'"
    assert error({"meter_number": "12"}).startswith("config key 'meter_number' must be 18 digits")
    assert error({"app": "stubb"}) == "config key 'app' must be sts or stub, not 'stubb'"


def test_the_defaults_and_the_edges_pass():
    config.check({})
    defaults = documented()
    defaults["address"] = defaults["meter_number"]
    config.check(defaults)
    for key, value in (
        ("tr", "200"),
        ("tr", "1500"),
        ("ta", "100"),
        ("recovery", "1500"),
        ("session_timeout", "500"),
        ("exec_ms", "60000"),
        ("key_type", "0"),
        ("key_type", "3"),
        ("ti", "0"),
        ("ti", "01"),
        ("ti", "99"),
        ("krn", "9"),
        ("ken", "0"),
        ("mfr_code", "65535"),
        ("sgc", "000000"),
        ("address", ""),
        ("address", "A" * 32),
        ("ident", "x" * 16),
        ("ident", "v1.2 [a] -"),
        ("manufacturer", "abc"),
        ("baud", "300"),
        ("base_date", "2035"),
        ("algorithm", "des"),
        ("dk", "0123456789abcdef"),
        ("currency", "1"),
    ):
        config.check({key: value})


def test_the_documented_defaults_are_the_meters():
    d = documented()
    server = meter.build({}, MemoryStore(), 0)
    app = server.app
    assert (server.manufacturer, server.ident, server.address) == (
        d["manufacturer"].encode(),
        d["ident"].encode(),
        d["meter_number"].encode(),
    )
    assert [server.tr, server.ta, server.recovery, server.session_timeout] == [
        int(d[k]) for k in ("tr", "ta", "recovery", "session_timeout")
    ]
    assert server.baud_char == ord("3") and d["baud"] == "2400" and server.soft_parity
    assert app.meter_number == d["meter_number"].encode() and app.dk.hex().upper() == d["dk"]  # as its digits
    assert [app.key_type, app.sgc, app.ti, app.krn, app.ken, app.base_date, app.mfr_code, app.algorithm] == [
        int(d[k]) for k in ("key_type", "sgc", "ti", "krn", "ken", "base_date", "mfr_code")
    ] + [7]
    assert not app.currency and d["currency"] == "0" and (d["app"], d["algorithm"]) == ("sts", "sta")


def test_more_bad_values():
    for key, value in (
        ("tr", ""),
        ("tr", " 200"),
        ("tr", "２００"),
        ("tr", "0x100"),
        ("sgc", "1234567"),
        ("sgc", "12345a"),
        ("address", "x" * 33),
        ("address", "abc!"),
        ("ident", ""),
        ("ident", "x" * 17),
        ("ident", "a\nb"),
        ("ident", "é"),
        ("manufacturer", "ST"),
        ("manufacturer", "STSX"),
        ("manufacturer", "ÉTS"),
        ("parity", "Soft"),
        ("parity", ""),
        ("currency", "01"),
        ("base_date", "93"),
        ("ken", "9" * 5000),
    ):
        message = error({key: value})
        assert message.startswith("config key %r must be " % key) and "\n" not in message, message[:200]


def test_meter_number_is_18_digits_ending_in_the_luhn_check_digit():
    for number in ("600727000000000009", "000001000000000082", "012345678901234569"):
        config.check({"meter_number": number})
    for digit in "012345678":
        error({"meter_number": "60072700000000000" + digit})
    for number in ("60072700000", "6007270000000", "6007270000000000009", "60072700000000000X"):
        error({"meter_number": number})


def test_decoder_key_length_follows_the_algorithm():
    config.check({"algorithm": "misty1", "dk": MISTY1_DK})
    config.check({"algorithm": "misty1", "dk": MISTY1_DK.upper()})
    assert (
        error({"algorithm": "misty1", "dk": "E653341F9D5BF36F"})
        == "config key 'dk' must be 32 hex digits with algorithm misty1"
    )
    assert error({"algorithm": "misty1"}) == "config key 'dk' must be 32 hex digits with algorithm misty1"
    for algorithm in ("sta", "des"):
        assert (
            error({"algorithm": algorithm, "dk": MISTY1_DK})
            == "config key 'dk' must be 16 hex digits with algorithm %s" % algorithm
        )
    assert error({"dk": "E653341F9D5BF36G"}) == "config key 'dk' must be 16 hex digits with algorithm sta"
    # a bad algorithm is named as such, not as a wrong key length
    assert error({"algorithm": "misty", "dk": MISTY1_DK}).startswith("config key 'algorithm'")


def test_the_key_is_never_repeated_in_a_message():
    secret = "0123456789ABCDE"
    assert secret not in error({"dk": secret})


def test_board_keys_are_known_and_listed():
    config.check({"tcp": "x", "lib": "y"}, ("tcp", "lib"))
    message = error({"tpc": "x"}, ("tcp", "lib"))
    assert message.startswith("config key 'tpc' is not known; valid keys: ")
    assert "lib" in message.split(": ")[1].split(", ") and "tcp" in message


def test_every_builder_checks():
    """meter.build runs the check: every board and tool gets it (and a misty1 meter with its
    128-bit key is built)."""
    with pytest.raises(ValueError, match="config key 'parity'"):
        meter.build({"parity": "sotf"}, MemoryStore(), 0)
    with pytest.raises(ValueError, match="config key 'start' is not known"):
        meter.build({"start": "5"}, MemoryStore(), 0)
    server = meter.build({"algorithm": "misty1", "dk": MISTY1_DK}, MemoryStore(), 0)
    assert server.app.dk.hex() == MISTY1_DK
    assert "config" not in sys.modules  # dropped after each check: a board's RAM back


def test_replay_settings_are_the_replayers_keys():
    trace = tracefile.parse("@ start 1073740324\n@ lockout 4 20000\n> 0 /?!<CR><LF>\n")
    replay_core.make_server(trace.settings, 0)
    with pytest.raises(ValueError, match="config key 'tr'"):
        replay_core.make_server({"tr": "1"}, 0)


# --- the unix board ---------------------------------------------------------------------


def run_board(micropython, tmp_path, *flags):
    """The unix board to its exit: (status, output)."""
    result = board_exit(micropython, tmp_path / "state", *flags)
    return result.returncode, result.stdout + result.stderr


def config_file(tmp_path, text):
    path = tmp_path / "meter.conf"
    path.write_text(text)
    return str(path)


ISSUE_FLAGS = [
    ("algoritm", "des"),
    ("parity", "sotf"),
    ("key_type", "7"),
    ("meter_number", "12"),
    ("app", "stubb"),
    ("tr", "100"),
    ("ken", "256"),
    ("sgc", "12"),
    ("address", "a-b"),
]


@pytest.mark.parametrize("key,value", ISSUE_FLAGS)
def test_unix_board_refuses_a_bad_flag_and_a_bad_file_line(micropython, tmp_path, key, value):
    path = config_file(tmp_path, "%s = %s\n" % (key, value))
    for flags in (["--" + key.replace("_", "-"), value], ["--config", path]):
        status, out = run_board(micropython, tmp_path, *flags)
        assert status == 2, out
        assert "Traceback" not in out
        last = out.strip().split("\n")[-1]
        assert last.startswith("error: config key %r " % key), out
        if key == "algoritm":
            assert "valid keys: address, algorithm, app, " in last and "heap_log" in last
    assert not os.path.exists(tmp_path / "state")  # nothing written either


@pytest.mark.parametrize(
    "flags,key",
    [
        (["--algorithm", "misty1", "--dk", "E653341F9D5BF36F"], "dk"),
        (["--algorithm", "misty1"], "dk"),
        (["--dk", MISTY1_DK], "dk"),
        (["--heap-log", "x"], "heap_log"),
        (["--test-tr", "0"], "test_tr"),
        (["--test-tr", "1501"], "test_tr"),
    ],
)
def test_unix_board_refuses_bad_keys_and_board_values(micropython, tmp_path, flags, key):
    status, out = run_board(micropython, tmp_path, *flags)
    assert status == 2 and out.strip().split("\n")[-1].startswith("error: config key %r" % key), out
    assert "Traceback" not in out


def test_unix_board_names_a_mistyped_board_option(micropython):
    result = subprocess.run([micropython, MAIN, "--tpc", "127.0.0.1:7001"], capture_output=True, text=True, timeout=10)
    assert result.returncode == 2
    assert result.stderr.split("\n")[0].startswith("error: config key 'tpc' is not known; valid keys: ")


def test_unix_board_refuses_a_bad_tcp_address(micropython):
    result = subprocess.run([micropython, MAIN, "--tcp", "localhost"], capture_output=True, text=True, timeout=10)
    assert result.returncode == 2
    assert "error: config key 'tcp' must be HOST:PORT, not 'localhost'" in result.stderr


def test_unix_board_refuses_a_line_without_key_and_value(micropython, tmp_path):
    status, out = run_board(micropython, tmp_path, "--config", config_file(tmp_path, "algorithm des\n"))
    assert status == 2 and "error: config line without key = value: algorithm des" in out


def test_unix_board_starts_with_a_good_file_and_flags_override_it(unix_board, tmp_path):
    path = config_file(
        tmp_path,
        "# meter.conf\nalgorithm = des\ndk = 0123456789ABCDEF\nkrn = 2\n"
        "ident = FILE-1\ntr = 100  # overridden by --tr\n",
    )
    board = unix_board("--config", path, "--tr", "300", "--key-type", "3")
    with hhu.Hhu("socket://127.0.0.1:%d" % board.port) as m:
        assert m.sign_on() == "/STS3FILE-1"
        assert [m.read(hhu.lookup(name)) for name in ("KeyRevisionNumber", "KeyType", "EncryptionAlgorithm")] == [
            "2",
            "3",
            "09",
        ]


def test_misty1_meter_with_its_128_bit_key_starts(unix_board):
    board = unix_board("--algorithm", "misty1", "--dk", MISTY1_DK)
    with hhu.Hhu("socket://127.0.0.1:%d" % board.port) as m:
        assert m.sign_on() == "/STS3MPY-VTC07"
        assert m.read(hhu.lookup("EncryptionAlgorithm")) == "11"
        assert m.enter_token(56493153725450313471)[0] == 1  # class 1 test token: saved and answered


def test_test_tr_shortens_the_reaction_time(unix_board):
    board = unix_board("--test-tr", "20")
    with board.connect() as s:
        start = time.monotonic()
        s.sendall(tracefile.to_line(list(b"/?!\r\n")))
        s.recv(1)
        assert time.monotonic() - start < 0.15  # not tr's 200 ms


def test_config_check_runs_on_micropython(micropython):
    """The check as a board runs it (MicroPython's str and int), and it gives its module back."""
    script = (
        "import sys, gc\nsys.path.insert(0, %r)\nimport meter\n"
        "for c in ({'parity': 'sotf'}, {'meter_number': '600727000000000001'}, {'ident': 'a\\u00e9'},"
        " {'algorithm': 'misty1', 'dk': '%s'}, {'x': '1'}, {}):\n"
        "    try:\n        meter.check(c)\n        print('ok')\n"
        "    except ValueError as e:\n        print(e)\n"
        "print('config' in sys.modules)\n" % (os.path.join(ROOT, "firmware"), MISTY1_DK)
    )
    result = subprocess.run([micropython, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.stdout.split("\n")[:7] == [
        "config key 'parity' must be soft or uart, not 'sotf'",
        "config key 'meter_number' must be 18 digits, the last the Luhn check digit of the others, "
        "not '600727000000000001'",
        "config key 'ident' must be 1 to 16 printable characters other than ( ) / ! *, not 'a\\xe9'",
        "ok",
        "config key 'x' is not known; valid keys: " + ", ".join(sorted(BAD)),
        "ok",
        "False",
    ], result.stdout + result.stderr
