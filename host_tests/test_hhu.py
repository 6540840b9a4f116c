"""The HHU tools (`vtc07`): commands, tokens, traces, and the error paths (wrong port,
silent meter, NAKs, garbled answers). What is about logic runs against the meter on the
line simulator (`sim`: virtual time); the unix board process on a real line (`board`,
marked realtime) where the line, its timing or the process is the subject."""

import json
import os
import subprocess
import sys
import time

import pytest
from conftest import ROOT, TRACES
from helpers import sim_meter, sim_time
from noisyline import drop, flip_parity

from vtc07 import cli as vtc07
from vtc07 import hhu, replay_line, tracefile, vending

FIRST_VECTOR = "2371-6100-5011-8319-4197"


def url(port):
    """A unix board's TCP port as a URL; a simulated meter's sim:// URL as it is."""
    return port if isinstance(port, str) else "socket://127.0.0.1:%d" % port


def vtc(capsys, port, *args):
    """Run the command in-process; (exit status, stdout, stderr)."""
    status = vtc07.main(["--port", url(port)] + list(args))
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture
def board(unix_board):
    return unix_board()


@pytest.fixture
def sim():
    """The meter on the line simulator: its URL (virtual time)."""
    return sim_meter()


def test_console_command_is_installed(board):
    exe = os.path.join(os.path.dirname(sys.executable), "vtc07")
    result = subprocess.run([exe, "--port", url(board.port), "id"], capture_output=True, text=True, timeout=20)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == [
        "/STS3MPY-VTC07",
        "manufacturer STS, speed 2400 Bd, identification MPY-VTC07",
    ]


def test_read_by_id_and_name_in_words(sim, capsys):
    status, out, _ = vtc(capsys, sim, "read", "0000", "serverstatus", "8015", "TokenLockoutTimeRemaining")
    assert status == 0
    lines = [line.split() for line in out.strip().split("\n")]
    assert lines[0] == ["0000", "ProtocolVersion", "01"]
    assert lines[1] == ["0002", "ServerStatus", "00010000", "credit", "exhausted"]
    assert lines[2] == ["8015", "EncryptionAlgorithm", "07", "EA07", "STA"]
    assert lines[3] == ["0006", "TokenLockoutTimeRemaining", "00000", "0", "s"]


def test_the_hhu_names_exactly_the_registers_the_firmware_has():
    import meter
    from storage import MemoryStore

    for app in ("sts", "stub"):
        ids = meter.build({"app": app}, MemoryStore(), 0).registers.ids()
        assert set(ids) <= set(hhu.NAMES)
    assert sorted(hhu.NAMES) == [r.rid for r in hhu.REGISTERS]
    assert len(set(hhu.NAMES.values())) == len(hhu.NAMES)


def test_dump_lists_every_readable_register_and_no_key(sim, capsys):
    status, out, _ = vtc(capsys, sim, "dump")
    assert status == 0
    rows = out.strip().split("\n")[1:]
    readable = [r for r in hhu.REGISTERS if r.readable]
    assert [int(row.split()[0], 16) for row in rows] == [r.rid for r in readable]
    assert "0004" not in [row.split()[0] for row in rows]  # BinaryTokenEntry: write-only
    assert "E653341F9D5BF36F" not in out.upper()


def test_token_accept_then_used_with_credit_change(sim, capsys):
    status, out, _ = vtc(capsys, sim, "token", FIRST_VECTOR)
    assert status == 0
    assert out.split("\n")[:2] == [
        "token %s: 01 Accept: token accepted" % FIRST_VECTOR,
        "  CreditElectricity: 0.0 kWh -> 0.1 kWh (+0.1 kWh)",
    ]
    status, out, _ = vtc(capsys, sim, "token", FIRST_VECTOR.replace("-", ""))
    assert status == 3 and "10 Used" in out and "Credit" not in out
    status, out, _ = vtc(capsys, sim, "read", "CreditElectricity")
    assert "0.1 kWh" in out


def test_token_rejections_and_lockout_in_words(sim, capsys):
    other_meter = "67206107716095682372"
    status, out, _ = vtc(capsys, sim, "token", other_meter)
    assert status == 3 and "13 CRC: wrong meter, wrong key or a mistyped token" in out
    for _ in range(2):
        vtc(capsys, sim, "token", other_meter)
    status, _, err = vtc(capsys, sim, "token", other_meter)
    assert status == 3 and "locked out for another" in err and "ERR07" in err


def test_token_input_is_checked_before_the_line(sim, capsys):
    for bad in ("1234", "2371-6100-5011-8319-419X", "99999999999999999999"):
        status, _, err = vtc(capsys, sim, "token", bad)
        assert status == 2, bad
    test_token = vending.digits(vending.class1_token(0, 2**36 - 1, 0))
    damaged = test_token[:-1] + str((int(test_token[-1]) + 1) % 10)
    status, _, err = vtc(capsys, sim, "token", damaged)
    assert status == 2 and "wrong check (CRC)" in err


def test_write_and_its_refusals(sim, capsys):
    status, out, _ = vtc(capsys, sim, "write", "0004", "4" + "0" * 16)
    assert status == 3 and "ERR05 value out of range" in out  # top 2 of 68 bits set
    status, _, err = vtc(capsys, sim, "write", "0003", "x")
    assert status == 2 and "not writable" in err
    status, _, err = vtc(capsys, sim, "write", "0004", "12")
    assert status == 2 and "exactly 17 hex digits" in err
    status, _, err = vtc(capsys, sim, "read", "NoSuchRegister")
    assert status == 2 and "no register" in err


def test_break_leaves_the_meter_idle(sim):
    with hhu.Hhu(url(sim)) as meter:
        meter.sign_on()
        meter.brk()
        meter.send(tracefile.command(b"R1\x020000()"))
        assert meter._receive(lambda c: True, first_s=0.6) is None  # Idle: silence


def test_generate_reproduces_the_spec_vectors(capsys):
    other = ["--meter-number", "000001000000000082"]
    cases = [
        (["--issued", "2004-03-01 13:55", "--rnd", "5", "credit", "--amount", "0.1"], "23716100501183194197"),
        (other + ["--issued", "2004-03-01 14:00", "--rnd", "5", "credit", "--amount", "0.1"], "67206107716095682372"),
        (
            ["--issued", "2004-03-01 14:05", "--rnd", "5", "credit", "--service", "water", "--amount", "0.1"],
            "42502136492215507402",
        ),
        (
            other + ["--issued", "2004-03-01 14:10", "--rnd", "5", "credit", "--service", "water", "--amount", "0.1"],
            "09109691696351271646",
        ),
        (
            ["--issued", "2004-03-01 14:15", "--rnd", "5", "credit", "--service", "gas", "--amount", "0.1"],
            "67586531586639825066",
        ),
        (
            other + ["--issued", "2004-03-01 14:20", "--rnd", "5", "credit", "--service", "gas", "--amount", "0.1"],
            "35758660990071466853",
        ),
        (["--issued", "2004-04-01 07:00", "--rnd", "5", "mpl", "--value", "256"], "41932934023937597177"),
        (["test", "--control", "FFFFFFFFF"], "56493153725450313471"),
        (["test", "--subclass", "1", "--control", "FFFFFFF"], "02305843005052951967"),
    ]
    for args, expected in cases:
        assert vtc07.main(["generate"] + args) == 0
        assert capsys.readouterr().out.strip().replace("-", "") == expected, args


def test_generated_tokens_of_every_kind_are_accepted(sim, capsys):
    base = ["generate", "--tid", "100"]
    kinds = [["credit", "--service", s, "--amount", "2.5"] for s in vending.SERVICES] + [
        ["mpl", "--value", "5000"],
        ["clear-credit", "--value", "water"],
        ["tariff-rate", "--value", "12"],
        ["clear-tamper"],
        ["mppul", "--value", "300"],
        ["water-factor", "--value", "7"],
    ]
    for i, kind in enumerate(kinds):
        base[2] = str(100 + i)
        assert vtc07.main(base + kind) == 0
        token = capsys.readouterr().out.strip()
        status, out, _ = vtc(capsys, sim, "token", token)
        assert status == 0 and "01 Accept" in out, (kind, out)
    status, out, _ = vtc(capsys, sim, "read", "CreditWater", "MaximumPowerLimit", "TariffRate")
    assert [line.split()[2] for line in out.strip().split("\n")] == ["0000000000", "0000005000", "00012"]


def test_generated_key_change_then_credit_under_the_new_key(sim, capsys):
    assert vtc07.main(["generate", "key-change", "--new-krn", "2", "--rollover"]) == 0
    first, second = capsys.readouterr().out.split()
    assert "02 1stKCT" in vtc(capsys, sim, "token", first)[1]
    # the other half in a command of its own: it pairs with the waiting one, so --force
    assert "03 2ndKCT" in vtc(capsys, sim, "token", "--force", second)[1]
    assert vtc07.main(["generate", "--krn", "2", "--base-date", "2014", "credit", "--amount", "1"]) == 0
    token = capsys.readouterr().out.strip()  # issued now: a 2014-based TID
    status, out, _ = vtc(capsys, sim, "token", token)
    assert status == 0 and "+1.0 kWh" in out


def test_generate_refuses_a_tid_outside_the_base_date(capsys):
    assert vtc07.main(["generate", "--issued", "2026-01-01 00:00", "credit", "--amount", "1"]) == 2
    assert "they end 2024-11-24" in capsys.readouterr().err
    assert vtc07.main(["generate", "--tid", "1", "credit", "--amount", "0.05"]) == 2


# --- traces: record, replay against the live meter, show differences ------------------------


def test_trace_recorded_by_the_hhu_replays_on_a_fresh_meter(tmp_path, capsys):
    recorded = tmp_path / "session.trace"
    first = sim_meter()
    assert vtc(capsys, first, "--trace", str(recorded), "token", FIRST_VECTOR)[0] == 0
    trace = tracefile.load(str(recorded))
    kinds = [e[0] for e in trace.events]
    assert kinds[:2] == [">", "<"] and "<" in kinds[2:]
    fresh = sim_meter()
    status, out, _ = vtc(capsys, fresh, "replay", str(recorded))
    assert status == 0 and out.strip().endswith("same")
    status, out, _ = vtc(capsys, fresh, "replay", str(recorded))  # the token is now Used
    assert status == 3
    assert "Data message" in out and "expected" in out and "got" in out
    assert ".8001(0000000001)." in out or "(01)" in out


RECORDED = sorted(os.listdir(os.path.join(TRACES, "recorded")))


@pytest.mark.parametrize("name", RECORDED)
def test_recorded_sessions_replay_on_the_unix_board(unix_board, name):
    trace = tracefile.load(os.path.join(TRACES, "recorded", name))
    board = unix_board(*replay_line.board_flags(trace))
    with hhu.Hhu(url(board.port)) as meter:
        assert replay_line.replay(meter, trace) == []


def test_replay_names_the_first_difference(sim):
    trace = tracefile.parse("> 0 /?!<CR><LF>\n< 200 /STS3MPY-VTC08<CR><LF>\n")
    with hhu.Hhu(sim) as meter:
        diff = replay_line.replay(meter, trace)
    assert diff[0] == "first difference at 200 ms, answering IDRequest /?!<CR><LF>:"
    assert diff[1].split()[:3] == ["expected", "IDResponse", "2F"]
    assert diff[1].endswith("/STS3MPY-VTC08..") and diff[2].endswith("/STS3MPY-VTC07..")


def test_replay_reports_a_late_answer():
    trace = tracefile.parse("> 0 /?!<CR><LF>\n< 200 /STS3MPY-VTC07<CR><LF>\n")
    with hhu.Hhu(sim_meter("--tr", "400")) as meter:
        diff = replay_line.replay(meter, trace)
    off = int(diff[0].split("the right bytes, ")[1].split(" ms off")[0])
    assert off == 200, diff  # tr 400 instead of 200: on virtual time, exactly


# --- error paths: a damaged line (noisyline.py's damage, on the simulated line) -------------


def test_wrong_port(capsys):
    status, _, err = vtc(capsys, 1, "id")  # nothing listens on port 1
    assert status == 1 and "connection refused" in err
    assert vtc07.main(["--port", "/dev/ttyNOPE", "id"]) == 1
    assert "cannot open /dev/ttyNOPE" in capsys.readouterr().err


def test_silent_meter(sim, capsys):
    status, _, err = vtc(capsys, sim, "--address", "123", "id")  # another meter's address
    assert status == 1 and "the meter is silent" in err
    assert sim_time(sim) == hhu.FIRST_CHAR_S * 1000  # it waited as long as a reply may take, no longer


def test_silent_mid_session():
    sent = []

    def unplug_after_sign_on(data):
        sent.append(data)
        return data if len(sent) == 1 else b""

    with hhu.Hhu(sim_meter(to_meter=unplug_after_sign_on)) as meter:
        meter.sign_on()
        with pytest.raises(hhu.HhuError, match="the meter is silent"):
            meter.read(hhu.lookup("0000"))


SOH_LINE, STX_LINE = b"\x81", b"\x82"  # SOH and STX as line bytes, with their parity bit


def damaging(first_byte, damage, times=None):
    """A damage function for the chunks that start with `first_byte` (a request: SOH, a
    data message: STX): the first `times` of them, or all when `times` is None."""
    done = [0]

    def on_chunk(data):
        if data[:1] == first_byte and (times is None or done[0] < times):
            done[0] += 1
            return damage(data)
        return data

    return on_chunk


def test_meter_answering_nak_gets_the_request_again():
    first_request_bcc_damaged = damaging(SOH_LINE, flip_parity(-1), times=1)
    with hhu.Hhu(sim_meter(to_meter=first_request_bcc_damaged)) as meter:
        meter.sign_on()
        assert meter.read(hhu.lookup("0000")) == "01"  # after the meter's NAK, sent again
        assert meter.repeats == 1


def test_meter_answering_nak_every_time():
    with hhu.Hhu(sim_meter(to_meter=damaging(SOH_LINE, flip_parity(-1)))) as meter:
        meter.sign_on()
        with pytest.raises(hhu.HhuError, match="answered NAK 3 times and ended the session"):
            meter.read(hhu.lookup("0000"))


def test_garbled_answer_is_asked_again_with_nak():
    with hhu.Hhu(sim_meter(to_hhu=damaging(STX_LINE, flip_parity(3), times=1))) as meter:
        meter.sign_on()
        assert meter.read(hhu.lookup("8015")) == "07"
        assert meter.repeats == 1


def test_garbled_answers_every_time(capsys):
    status, _, err = vtc(capsys, sim_meter(to_hhu=damaging(STX_LINE, flip_parity(-1))), "read", "0000")
    assert status == 1 and "garbled 4 times (parity or BCC wrong)" in err


def test_truncated_answer():
    def cut_etx_and_bcc(data):
        return data[:-2]

    with hhu.Hhu(sim_meter(to_hhu=damaging(STX_LINE, cut_etx_and_bcc, times=1))) as meter:
        meter.sign_on()
        assert meter.read(hhu.lookup("0000")) == "01"
        assert meter.repeats == 1


def test_unplugged_line():
    with hhu.Hhu(sim_meter(to_meter=drop)) as meter:
        with pytest.raises(hhu.HhuError, match="no answer to the sign-on"):
            meter.sign_on()


def test_demo_runs_against_the_unix_board(board):
    result = subprocess.run(
        [sys.executable, os.path.join(ROOT, "tools", "harness", "sim", "demo.py"), "--port", url(board.port)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "01 Accept" in result.stdout and "10 Used" in result.stdout
    assert "$ vtc07 --port %s token" % url(board.port) in result.stdout


def test_ea09_meter_with_generated_des_tokens(capsys):
    sim = sim_meter("--algorithm", "des")
    assert vtc07.main(["generate", "--algorithm", "des", "--tid", "500", "credit", "--amount", "3"]) == 0
    token = capsys.readouterr().out.strip()
    status, out, _ = vtc(capsys, sim, "token", token)
    assert status == 0 and "+3.0 kWh" in out


@pytest.mark.realtime
def test_hhu_over_a_pty_like_a_serial_port(micropython, tmp_path, capsys):
    proc = subprocess.Popen(
        [micropython, os.path.join(ROOT, "boards", "unix", "main.py"), "--pty", "--state", str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        path = proc.stdout.readline().strip()
        time.sleep(0.3)  # the relay connects to the board
        assert vtc07.main(["--port", path, "replay", os.path.join(TRACES, "recorded", "token_session.trace")]) == 0
        assert capsys.readouterr().out.strip().endswith("same")
    finally:
        proc.kill()
        proc.wait()


def test_hhu_warns_when_a_half_would_pair_with_one_entered_earlier(sim, capsys):
    """Two halves of two different key changes pair into a key nobody issued; the tokens
    cannot show it, so the HHU refuses a class 2 token while a half waits, unless --force
    (as esptool does for dangerous writes)."""
    from helpers import DK

    from vtc07 import vending

    first, _ = vending.key_change_tokens(0x0123456789ABCDEF, 255, 2, 0, 2, 7, DK)
    _, other_second = vending.key_change_tokens(0xFEDCBA9876543210, 255, 2, 0, 2, 7, DK)
    status, out, err = vtc(capsys, sim, "token", str(first))
    assert status == 0 and "02 1stKCT" in out and "warning" not in err
    status, out, err = vtc(capsys, sim, "token", "%020d" % other_second)
    assert status == 2 and "a key change half (subclass 3) entered earlier is waiting" in err and "--force" in err
    assert out == "" and err.count("\n") == 1
    status, out, err = vtc(capsys, sim, "--json", "read", "KeyChangeHalfWaiting", "KeyRevisionNumber")
    assert [r["value"] for r in json.loads(out)["registers"]] == ["3", "1"]  # nothing was entered
    status, out, err = vtc(capsys, sim, "token", "--force", "%020d" % other_second)
    assert "warning: a key change half (subclass 3)" in err and "03 2ndKCT" in out
