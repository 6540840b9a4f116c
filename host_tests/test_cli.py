"""The `vtc07` command's conventions: exit statuses 0/1/2/3 (one test each), usage errors
as one line, options anywhere, --json, raw requests, ports, and the package as a wheel
installed outside the checkout."""

import json
import os
import subprocess
import sys
import venv

import pytest
from conftest import ROOT
from helpers import sim_meter
from unixboard import free_port

from vtc07 import cli, vending

ENV = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "tools"))


def vtc(capsys, *args):
    lines = []
    status = cli.main(list(args), out=lines.append)
    return status, "\n".join(lines), capsys.readouterr().err


def url(port):
    return "socket://127.0.0.1:%d" % port


def test_exit_0_done(capsys):
    argv = ["generate", "--tid", "1000", "--rnd", "5", "credit", "--amount", "5"]
    status, text, err = vtc(capsys, *argv)
    assert status == 0 and len(text) == 24, err
    status, out, err = vtc(capsys, *argv, "--json")
    assert status == 0 and json.loads(out) == {"tokens": [text]}, err


@pytest.mark.parametrize(
    "argv",
    [
        ["generate", "--tid", "-1", "credit", "--amount", "1"],
        ["generate", "--tid", "16777216", "credit", "--amount", "1"],  # would spill into RND
        ["generate", "--tid", "1", "credit", "--amount", "Infinity"],
        ["generate", "--tid", "1", "credit", "--amount", "1820162.5"],  # over what a token carries
        ["generate", "test", "--control", "FFFFFFFFFFFF"],  # would spill into the class bits
        ["generate", "test", "--subclass", "0", "--mfr-code", "256"],
        ["generate", "--dk", "12", "--tid", "1", "credit", "--amount", "1"],
        ["generate", "--meter-number", "123", "--tid", "1", "credit", "--amount", "1"],
        ["generate", "--krn", "10", "--tid", "1", "credit", "--amount", "1"],
        ["generate", "key-change", "--new-ti", "100"],
        ["replay", "missing.trace"],
        ["id", "--trace", "/nodir/x"],
        ["read", "NoSuchRegister"],
        ["nosuchcommand"],
        [],
    ],
)
def test_exit_2_bad_usage_is_one_line(argv, capsys):
    status, out, err = vtc(capsys, "--port", url(free_port()), *argv)
    assert status == 2, (argv, err)
    assert err.startswith("vtc07: ") or not argv, err
    assert "Traceback" not in err and (err.count("\n") == 1 or not argv), err


def test_exit_1_hhu_failed_no_meter(capsys):
    status, out, err = vtc(capsys, "id", "--port", url(free_port()))
    assert status == 1 and "connection refused" in err


def test_exit_3_meter_refused_raw_request_and_json(unix_board, capsys):
    board = unix_board()
    # options after the command; requests the HHU itself would refuse, sent raw
    status, out, err = vtc(capsys, "raw", "R1<STX>7FFF()", "W1<STX>0000(02)", "--port", url(board.port))
    assert status == 3, err
    assert "< <STX>7FFF(ERR01)<ETX>" in out and "< <STX>0000(ERR02)<ETX>" in out
    status, out, err = vtc(
        capsys, "read", "CreditElectricity", "KeyRevisionNumber", "--json", "--port", url(board.port)
    )
    assert status == 0 and err == ""  # no progress when not on a terminal
    values = {r["name"]: r["value"] for r in json.loads(out)["registers"]}
    assert values == {"CreditElectricity": "0000000000", "KeyRevisionNumber": "1"}


def test_a_key_change_set_in_one_command_reports_what_changed(capsys):
    port = sim_meter()  # on virtual time
    tokens = vending.key_change_tokens(0x0123456789ABCDEF, 255, 2, 0, 2, 1, 0xE653341F9D5BF36F)
    status, out, err = vtc(capsys, "--port", port, "token", *[vending.group(t) for t in tokens])
    assert status == 0, err
    assert ": 02 1stKCT" in out and ": 03 2ndKCT" in out and "KeyRevisionNumber: 1 -> 2" in out


def test_an_amount_between_encodings_is_carried_as_the_nearest_below(capsys):
    status, out, err = vtc(capsys, "generate", "--tid", "1", "--rnd", "0", "credit", "--amount", "2000")
    assert status == 0 and "carries 1999.4 kWh" in err
    assert vending.amount_value(vending.amount_field_at_most(20000)) == 19994
    assert vending.amount_value(vending.amount_field_at_most(16383)) == 16383


def test_version_help_and_ports_from_the_command_line():
    run = lambda *a: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "vtc07", *a],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=60,
    )
    import vtc07

    assert run("--version").stdout.strip() == "vtc07 " + vtc07.__version__
    bare = run()
    assert bare.returncode == 2 and "COMMAND" in bare.stderr and "Traceback" not in bare.stderr
    ports = run("ports", "--json")
    assert ports.returncode == 0 and "ports" in json.loads(ports.stdout)


def test_the_wheel_works_outside_the_checkout(tmp_path):
    """pip wheel, then a fresh venv far from the checkout: the command and the library."""
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(wheels), ROOT],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (wheel,) = wheels.glob("vtc07_meter_tools-*.whl")
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    py = str(env_dir / "bin" / "python")
    subprocess.run([py, "-m", "pip", "install", "--quiet", str(wheel)], check=True, capture_output=True, timeout=600)
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    run = lambda *a: subprocess.run(  # noqa: E731
        a,
        capture_output=True,
        text=True,
        cwd=str(tmp_path),
        env=clean,
        timeout=120,
    )
    version = run(str(env_dir / "bin" / "vtc07"), "--version")
    assert version.returncode == 0 and version.stdout.startswith("vtc07 "), version.stderr
    argv = ["generate", "--tid", "1000", "--rnd", "5", "credit", "--amount", "5"]
    token = run(str(env_dir / "bin" / "vtc07"), *argv)
    lines = []
    cli.main(argv, out=lines.append)
    assert token.returncode == 0 and token.stdout.strip() == lines[0], token.stderr
    # the firmware's modules live inside the package only: no top-level `tables` (item 2)
    lib = run(
        py,
        "-c",
        "import sys; from vtc07 import hhu, vending, tracefile; import vtc07; "
        "tables = sys.modules['vtc07._firmware.tables']; "
        "assert ROOT not in tables.__file__ and 'site-packages' in tables.__file__, tables.__file__; "
        "assert 'tables' not in sys.modules and not any('_firmware' in p for p in sys.path); "
        "print(len(hhu.REGISTERS), vtc07.__version__)".replace("ROOT", repr(ROOT)),
    )
    from vtc07 import hhu

    assert lib.returncode == 0 and lib.stdout.split()[0] == str(len(hhu.REGISTERS)), lib.stderr
