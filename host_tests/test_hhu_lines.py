"""The HHU on the lines real probes and adapters make (tools/harness/sim/adapterline.py): an
echoing half-duplex adapter, a CH340 leaking the parity bit in 7E1, characters arriving
one at a time; each session gives what it gives on a clean line. Also the wire log
(-v, -vv), --timeout, and `vtc07 ports` on adapters known to be bad at 7E1."""

import json
import time
from types import SimpleNamespace

import pytest
from adapterline import AdapterLine

from vtc07 import cli, ports

FIRST_VECTOR = "2371-6100-5011-8319-4197"  # accepted once by the unix board's default key


def vtc(capsys, *args):
    lines = []
    status = cli.main(list(args), out=lines.append)
    return status, "\n".join(lines), capsys.readouterr().err


def session(capsys, url, *line_options):
    """A token entered, then registers read, as JSON reports without the notes about the line."""
    results = []
    for argv in (["token", FIRST_VECTOR], ["read", "CreditElectricity", "TokenStatus", "ServerStatus"], ["id"]):
        status, out, err = vtc(capsys, "--port", url, "--json", *line_options, *argv)
        report = json.loads(out)
        notes = report.pop("notes", [])
        results.append((status, report))
        yield status, report, notes, err
    session.results = results


def run_session(capsys, url, *line_options):
    return [(status, report) for status, report, _, _ in session(capsys, url, *line_options)]


def url(port):
    return "socket://127.0.0.1:%d" % port


@pytest.fixture
def clean(unix_board, capsys):
    """What the session gives on a clean line."""
    return run_session(capsys, url(unix_board().port))


def test_a_session_over_an_echoing_adapter_is_the_clean_one(unix_board, clean, capsys, tmp_path):
    with AdapterLine(unix_board(state=tmp_path / "echo").port, echo=True, split_ms=1) as line:
        assert run_session(capsys, url(line.port), "--echo") == clean
    assert clean[0][0] == 0 and clean[0][1]["tokens"][0]["accepted"]


def test_a_session_over_a_parity_leaking_adapter_is_the_clean_one(unix_board, clean, capsys, tmp_path):
    board = unix_board("--parity", "uart", state=tmp_path / "leak")  # the meter's side: a 7E1 UART
    with AdapterLine(board.port, leak_parity=True) as line:
        got = list(session(capsys, url(line.port), "--parity", "uart"))
    assert [(status, report) for status, report, _, _ in got] == clean
    for _, _, notes, err in got:  # said once per command, in words and in the JSON report
        assert notes == [
            "the adapter passes the parity bit through as bit 7 (as a CH340 does in 7E1): what "
            "comes back is taken as 7-bit data"
        ]
        assert err.count("passes the parity bit through") == 1


def test_echo_leak_and_split_characters_together(unix_board, clean, capsys, tmp_path):
    board = unix_board("--parity", "uart", state=tmp_path / "all")
    with AdapterLine(board.port, echo=True, leak_parity=True, split_ms=2) as line:
        assert run_session(capsys, url(line.port), "--parity", "uart", "--echo") == clean


def test_an_echo_without_echo_is_named_with_the_hint(unix_board, capsys):
    with AdapterLine(unix_board().port, echo=True) as line:
        status, out, err = vtc(capsys, "--port", url(line.port), "id")
    assert status == 1 and "the line echoes" in err and "give --echo" in err and err.count("\n") == 1


def test_echo_on_a_line_that_does_not_echo_says_so(unix_board, capsys):
    status, out, err = vtc(capsys, "--port", url(unix_board().port), "--echo", "--timeout", "0.5", "id")
    assert status == 1 and "does not echo" in err and "leave out --echo" in err


def test_an_echo_that_differs_is_a_collision(unix_board, capsys):
    board = unix_board()
    with AdapterLine(board.port, echo=True, echo_damage=lambda data: data[:-1] + bytes((data[-1] ^ 1,))) as line:
        status, out, err = vtc(capsys, "--port", url(line.port), "--echo", "id")
    assert status == 1 and "the echo differs from what was sent" in err


def test_verbose_logs_the_line_with_time_stamps(unix_board, capsys):
    board = unix_board()
    status, out, err = vtc(capsys, "--port", url(board.port), "-v", "read", "0000")
    assert status == 0 and out.startswith("0000 ProtocolVersion")
    lines = err.strip().split("\n")
    assert [line.split(" ", 2)[1] for line in lines] == [">", "<", ">", "<", ">"]  # sign-on, read, break
    assert lines[0].split(" ", 2)[2] == "/?!<CR><LF>" and lines[3].endswith("<STX>0000(01)<ETX><ETX>")
    stamp = lines[0].split(" ")[0]
    assert len(stamp) == 12 and stamp[2] == stamp[5] == ":" and stamp[8] == "."
    status, out, err = vtc(capsys, "--port", url(board.port), "-vv", "id")
    # each character too, as its line byte (even parity in bit 7) and as itself
    assert status == 0 and " > AF /" in err and " < AF /" in err and " < 0A <LF>" in err


def test_timeout_bounds_the_wait_for_a_silent_meter(unix_board, capsys):
    board = unix_board()
    start = time.monotonic()
    status, out, err = vtc(capsys, "--port", url(board.port), "--address", "123", "--timeout", "0.3", "id")
    assert status == 1 and "silent" in err and "0.3 s" in err
    assert time.monotonic() - start < 1.9  # under the default 2 s


@pytest.mark.parametrize("value", ["0", "-1", "inf", "nan", "x", "601"])
def test_a_bad_timeout_is_a_usage_error(value, capsys):
    status, out, err = vtc(capsys, "--timeout", value, "id")
    assert status == 2 and "--timeout" in err and err.count("\n") == 1


def fake_port(device, vid=None, pid=None, description="USB Serial"):
    return SimpleNamespace(
        device=device,
        vid=vid,
        pid=pid,
        description=description,
        hwid="USB VID:PID=%04X:%04X" % (vid, pid) if vid is not None else "n/a",
    )


def test_ports_show_usb_ids_and_warn_for_adapters_bad_at_7e1():
    listed = [
        fake_port("/dev/ttyUSB0", 0x1A86, 0x7523, "USB2.0-Serial"),
        fake_port("/dev/ttyUSB1", 0x0403, 0x6001, "FT232R USB UART"),
        fake_port("/dev/ttyCH9344USB0", 0x1A86, 0xE018),
        fake_port("/dev/ttyUSB2", 0x1A86, 0x55D9),
        fake_port("/dev/ttyS0"),
    ]
    rep = cli.Report(lambda text: lines.append(text), False)
    lines = []
    assert ports.run(rep, lambda: listed) == 0
    text = "\n".join(lines)
    assert "/dev/ttyUSB0         USB 1A86:7523  USB2.0-Serial" in text
    by_device = {p["device"]: p for p in rep.data["ports"]}
    assert by_device["/dev/ttyUSB0"]["usb"] == "1A86:7523" and "CH340" in by_device["/dev/ttyUSB0"]["warning"]
    assert by_device["/dev/ttyUSB1"]["warning"] is None and by_device["/dev/ttyS0"]["usb"] is None
    assert "CH9344" in by_device["/dev/ttyCH9344USB0"]["warning"] and "CH348" in by_device["/dev/ttyUSB2"]["warning"]
    assert text.count("warning:") == 3
    # the shape of before stays: device, description, hwid
    assert set(by_device["/dev/ttyS0"]) >= {"device", "description", "hwid"}
