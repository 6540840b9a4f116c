"""The `vtc07` command's rough edges (issue 22), each with its test: one table of commands
and misuse cases with the exit status each must give and no traceback, then the cases
that need a meter, the library's namespace, the unix board's options and key, the config
file, completion, colour and the docs."""

import argparse
import json
import os
import subprocess
import sys
import time

import pytest
from conftest import ROOT
from noisyline import NoisyLine
from unixboard import free_port

from vtc07 import cli, hhu, tracefile, vending

NOWHERE = "socket://127.0.0.1:%d" % free_port()  # nothing listens: a command that opens it exits 1
MAIN = os.path.join(ROOT, "boards", "unix", "main.py")
FIRST_VECTOR = "2371-6100-5011-8319-4197"
GEN = ["generate", "--tid", "1000", "--rnd", "5"]

# (argv, exit status, words the one line on stderr has); "--port NOWHERE" is added in front
CASES = [
    # done
    (GEN + ["credit", "--amount", "5"], 0, ""),
    (GEN + ["credit", "--amount", "1.25"], 0, "this token carries 1.2 kWh (the nearest below)"),  # item 9
    (GEN + ["credit", "--amount", "1700.5"], 0, "this token carries 1700.4 kWh"),
    (GEN + ["credit", "--service", "currency", "--amount", "-1"], 0, ""),
    (["completion"], 0, ""),
    (["completion", "zsh"], 0, ""),
    (["ports"], 0, ""),
    # the line cannot be opened: 1
    (["id"], 1, "connection refused"),
    (["break", "--json"], 1, "connection refused"),
    (["watch", "--count", "1"], 1, "connection refused"),
    (["watch", "--json"], 1, "connection refused"),
    # bad usage, before the port is opened: 2
    (["watch", "--interval", "inf"], 2, "--interval"),  # item 1
    (["watch", "--interval", "1e10"], 2, "--interval"),
    (["watch", "--interval", "nan"], 2, "--interval"),
    (["watch", "--interval", "0"], 2, "--interval"),
    (["watch", "--count", "-1"], 2, "--count"),
    (["watch", "--resume", "inf"], 2, "--resume"),
    (["generate", "--vending-key", "0123", "--tid", "1", "credit", "--amount", "1"], 2, "must be 16"),  # item 3
    (["generate", "--dkga", "04", "--vending-key", "ABAB", "--tid", "1", "credit", "--amount", "1"], 2, "must be 40"),
    (["generate", "key-change", "--new-dk", "01"], 2, "--new-dk (sta) 01 is 2 hex digits: it must be 16"),
    (["generate", "--algorithm", "misty1", "key-change", "--new-dk", "0123456789ABCDEF"], 2, "must be 32"),
    (["generate", "key-change", "--new-vending-key", "01"], 2, "--new-vending-key"),
    (["generate", "key-change", "--new-dk", "XYZ"], 2, "not hex"),
    (["-p", "socket://127.0.0.1", "id"], 2, "socket://HOST:PORT"),  # item 8
    (["--port", "socket://127.0.0.1:99999", "id"], 2, "PORT 1..65535"),
    (["--port", "socket://:7001", "id"], 2, "socket://HOST:PORT"),
    (["raw", "<BOGUS>"], 2, "<SOH> <STX>"),
    (["raw", "<SOH"], 2, "<SOH> <STX>"),
    (["raw", "{1FF}"], 2, "{hh}"),
    (["generate", "--issued", "bogus", "credit", "--amount", "1"], 2, '"YYYY-MM-DD HH:MM"'),
    (["generate", "--issued", "2024-13-01 10:00", "credit", "--amount", "1"], 2, "--issued"),
    (["--address", "é", "id"], 2, "--address"),
    (["--address", "a b", "id"], 2, "--address"),
    (["--address", "x" * 33, "id"], 2, "--address"),
    (GEN + ["credit", "--amount", "-1"], 2, "negative"),  # item 9
    (GEN + ["credit", "--amount", "x"], 2, "not a number"),
    (GEN + ["credit", "--amount", "0.05"], 2, "less than the least a token carries (0.1 kWh)"),
    (GEN + ["credit", "--amount", "nan"], 2, "not a number"),
    (GEN + ["credit", "--amount", "1820162.5"], 2, "more than one token carries"),
    (["-b", "0", "id"], 2, "-b/--baud"),  # item 10
    (["-b", "x", "id"], 2, "-b/--baud"),
    (["--timeout", "0", "id"], 2, "--timeout"),
    (["--parity", "odd", "id"], 2, "--parity"),
    (["read"], 2, "REG"),
    (["read", "NoSuchRegister"], 2, "no register"),
    (["write", "8001"], 2, "VALUE"),
    (["write", "8001", "1"], 2, "not writable"),
    (["token", "123"], 2, "20 digits"),
    (["replay", "/nonexistent.trace"], 2, "No such file"),
    (["id", "--trace", "/nonexistent/x"], 2, "--trace"),
    (["completion", "fish"], 2, "shell"),
    (["ports", "--port", "x"], 2, "unrecognized"),
    (["nosuchcommand"], 2, "invalid choice"),
    (["--json", "nosuchcommand"], 2, "invalid choice"),  # item 7: {"error": ...} on stdout
]


@pytest.mark.parametrize("argv,status,words", CASES, ids=[" ".join(c[0])[:60] for c in CASES])
def test_the_table_of_commands_and_misuse(argv, status, words, capsys):
    lines = []
    got = cli.main(["--port", NOWHERE] + argv, out=lines.append)
    out, err = "\n".join(lines), capsys.readouterr().err
    assert "Traceback" not in err and got == status, (argv, got, err)
    assert words in err, err
    if status:
        assert err.startswith("vtc07: ") and err.count("\n") == 1, err
    if "--json" in argv:
        report = json.loads(out)
        assert report["error"] and report["error"] in err  # item 7: the error, also for a usage error


def test_the_table_from_the_installed_command(tmp_path):
    """The same table from the console script itself, as a user types it: no traceback,
    the same statuses (a sample of it, as processes cost time)."""
    exe = os.path.join(os.path.dirname(sys.executable), "vtc07")
    for argv, status, _ in CASES[::6]:
        result = subprocess.run(
            [exe, "--port", NOWHERE] + argv, capture_output=True, text=True, timeout=60, cwd=str(tmp_path)
        )
        assert result.returncode == status and "Traceback" not in result.stderr, (argv, result.stderr)


# --- item 2: the library's namespace ------------------------------------------------------


def test_importing_vtc07_adds_no_top_level_names_and_builds_nothing(tmp_path):
    (tmp_path / "config.py").write_text("def f():\n    return 'mine'\n")
    (tmp_path / "tables.py").write_text("MINE = 1\n")
    code = (
        "import sys\nbefore = set(sys.modules)\nimport vtc07\nfrom vtc07 import hhu, vending, tracefile, cli\n"
        "import config, tables\nassert config.f() == 'mine' and tables.MINE == 1\n"
        "assert 'vtc07._firmware.meter' not in sys.modules, 'hhu built a meter at import'\n"
        "assert not any('firmware' in p for p in sys.path), sys.path\n"
        "print(len(hhu.REGISTERS), 'vtc07._firmware.meter' in sys.modules)\n"
        "assert sys.modules['config'] is config  # the program's own, still\n"
        "assert vending.group(vending.token(0, 0, 5, 1000, 50, 0xE653341F9D5BF36F))\n"
    )
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "tools"))
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=str(tmp_path), env=env, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [str(len(hhu.REGISTERS)), "True"]  # built when first asked


# --- item 3, 7: the cases that need a meter ----------------------------------------------


def url(port):
    return "socket://127.0.0.1:%d" % port


def vtc(capsys, port, *args):
    lines = []
    status = cli.main(["--port", url(port)] + list(args), out=lines.append)
    return status, "\n".join(lines), capsys.readouterr().err


def answer_rewritten(register, value):
    """A damage function for NoisyLine: the meter's answer for `register` (4 hex digits)
    carries `value` instead, as a well-formed message (a meter built wrong)."""

    def rewrite(data):
        chars = tracefile.from_line(data, True)
        if bytes(c & 0x7F for c in chars[1:6]) != register.encode() + b"(":
            return data
        body = [0x02] + list((register + "(" + value + ")").encode()) + [0x03]
        bcc = 0
        for c in body[1:]:
            bcc ^= c
        return tracefile.to_line(body + [bcc], True)

    return rewrite


def test_token_status_err06_is_refused_in_words(unix_board, capsys):
    board = unix_board()
    with NoisyLine(board.port, to_hhu=answer_rewritten("0005", "ERR06")) as line:
        status, out, err = vtc(capsys, line.port, "token", FIRST_VECTOR)
    assert status == 3 and "refused to read TokenStatus: ERR06 meter busy with a token" in err
    assert "invalid literal" not in err and err.count("\n") == 1


def test_a_malformed_value_in_a_dump_is_exit_1_and_the_rest_is_shown(unix_board, capsys):
    board = unix_board()
    with NoisyLine(board.port, to_hhu=answer_rewritten("8001", "00000X0000")) as line:
        status, out, err = vtc(capsys, line.port, "dump")
    rows = out.strip().split("\n")[1:]
    assert status == 1 and "value of CreditElectricity does not fit" in err
    assert len(rows) == len([r for r in hhu.REGISTERS if r.readable])  # the rest of the dump still shown
    assert "00000X0000" in out and "not a value this register has" in out


def test_json_break_interrupted_dump_and_usage(unix_board, capsys, monkeypatch):
    board = unix_board()
    status, out, err = vtc(capsys, board.port, "break", "--json")
    assert status == 0 and json.loads(out) == {"sent": "BreakCommand"}  # item 7: not {}
    reads = []
    real_read = hhu.Hhu.read

    def read_then_ctrl_c(self, reg):
        reads.append(reg)
        if len(reads) == 4:
            raise KeyboardInterrupt
        return real_read(self, reg)

    monkeypatch.setattr(hhu.Hhu, "read", read_then_ctrl_c)
    lines = []
    with pytest.raises(KeyboardInterrupt):
        cli.main(["--port", url(board.port), "dump", "--json"], out=lines.append)
    report = json.loads("\n".join(lines))
    assert report["interrupted"] is True and len(report["registers"]) == 3  # partial, and it says so


def test_a_meter_without_a_switch_says_so(unix_board, capsys):
    board = unix_board()  # no --load-w: no load switch; no credit: credit exhausted
    status, out, err = vtc(capsys, board.port, "--json", "read", "ServerStatus", "SwitchState")
    regs = json.loads(out)["registers"]
    assert regs[0]["meaning"] == "credit exhausted" and regs[1]["meaning"].startswith("closed: no load switch")
    board = unix_board("--load-w", "100", state=board.state.parent / "load")
    status, out, err = vtc(capsys, board.port, "--json", "read", "ServerStatus", "SwitchState")
    assert json.loads(out)["registers"][1]["meaning"] == "open"  # a switch: it opens


# --- item 5: watch --------------------------------------------------------------------------


def test_watch_json_is_a_line_per_sample_with_its_time_and_nothing_else(unix_board, capsys):
    board = unix_board()
    status, out, err = vtc(capsys, board.port, "watch", "--json", "--count", "2", "--interval", "0.1")
    samples = [json.loads(line) for line in out.split("\n")]
    assert status == 0 and len(samples) == 2 and all("time" in s and "Power" in s for s in samples)


def test_watch_signs_on_again_after_the_session_timeout(unix_board, capsys):
    board = unix_board("--session-timeout", "500")
    status, out, err = vtc(capsys, board.port, "--timeout", "0.5", "watch", "--count", "2", "--interval", "0.8")
    assert status == 0 and len(out.split("\n")) == 2, err
    assert "the meter ended the session" in err and "resumed" in err


def test_watch_outlives_another_hhu_taking_the_line(unix_board, capsys):
    board = unix_board()
    watch = subprocess.Popen(
        [
            os.path.join(os.path.dirname(sys.executable), "vtc07"),
            "--port",
            url(board.port),
            "watch",
            "--count",
            "6",
            "--interval",
            "0.3",
            "--resume",
            "5",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(1.0)
    status, out, err = vtc(capsys, board.port, "token", FIRST_VECTOR)  # another HHU: buys a token
    assert status == 0 and "01 Accept" in out, err
    out, err = watch.communicate(timeout=60)
    assert watch.returncode == 0, err
    assert "another HHU has it?" in err and "resumed" in err and len(out.strip().split("\n")) == 6
    assert "credit 0.1 kWh" in out.strip().split("\n")[-1]  # it sees the token's credit


# --- item 4, 8, 11: the unix board ----------------------------------------------------------


def board_run(micropython, *args):
    return subprocess.run([micropython, MAIN] + list(args), capture_output=True, text=True, timeout=30)


def test_board_help_lists_every_option_and_exits_0(micropython):
    result = board_run(micropython, "--help")
    assert result.returncode == 0 and result.stderr == ""
    for option in (
        "--tcp",
        "--pty",
        "--state",
        "--config",
        "--lib",
        "--rom",
        "--load-w",
        "--dk",
        "--vending-key",
        "--algorithm",
        "--meter-number",
        "--session-timeout",
        "--reset-storage",
        "--currency",
    ):
        assert "\n  " + option in result.stdout or " " + option + " " in result.stdout, option


@pytest.mark.parametrize(
    "args,words",
    [
        (["--lib", "/nonexistent", "--tcp", "1"], "cannot load the firmware"),  # item 1
        (["--tcp", "1", "--load-w", "-5"], "config key 'load_w' must be a number from 0 to 999999, not '-5'"),  # item 8
        (["--tcp", "1", "--load-w", "5-"], "config key 'load_w' must be a number from 0 to 999999, not '5-'"),
        (["--tcp", "1", "--vending-key", "0123"], "config key 'vending_key' must be 16 hex digits"),
        (["--tcp", "1", "--vending-key", "ABABABABABABABAB", "--dk", "E653341F9D5BF36F"], "give one"),
        (["--tcp", "1", "--vending-key", "ABABABABABABABAB", "--algorithm", "misty1"], "DKGA02"),
        (["--tcp", "1", "--vending-key", "AB" * 20, "--algorithm", "des"], "DKGA04"),
        (["--tcp", "1", "--vending-key", "AB" * 8, "--sgc", "x"], "config key 'sgc'"),
        (["--tcp", "1", "--vending-key", "AB" * 8, "--meter-number", "123"], "config key 'meter_number'"),
        (["--tcp"], "--tcp needs a value"),
        (["--tcp", "--pty"], "--tcp needs a value"),
        (["--state", "x"], "give exactly one of --tcp and --pty"),
    ],
)
def test_board_errors_are_one_line_on_stderr(micropython, tmp_path, args, words):
    result = board_run(micropython, "--state", str(tmp_path / "state"), *args)
    assert result.returncode == 2 and result.stdout == "", result.stdout
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1 and words in result.stderr, (
        result.stderr
    )
    assert not (tmp_path / "state").exists()


def luhn(digits):
    total = 0
    for i, d in enumerate(reversed(digits)):
        d = int(d) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return digits + str(-total % 10)


def test_the_board_derives_its_key_from_the_vending_key_and_its_own_number(unix_board, capsys):
    """Item 11: two meters from one vending key each take their own tokens only."""
    other = luhn("60072700000000001")  # ...017
    board = unix_board("--vending-key", "ABABABABABABABAB", "--meter-number", other)
    tokens = []
    assert cli.main(GEN + ["--meter-number", other, "credit", "--amount", "1"], out=tokens.append) == 0
    assert cli.main(GEN + ["credit", "--amount", "1"], out=tokens.append) == 0  # for ...009
    capsys.readouterr()
    status, out, err = vtc(capsys, board.port, "token", tokens[1])
    assert status == 3 and "13 CRC" in out  # another meter's token
    status, out, err = vtc(capsys, board.port, "token", tokens[0])
    assert status == 0 and "01 Accept" in out, err


def test_the_board_derives_an_ea11_key_by_dkga04(unix_board, capsys):
    key = "ABABABABABABABAB949494949494949401234567"
    other = luhn("60072700000000002")
    board = unix_board("--vending-key", key, "--meter-number", other, "--algorithm", "misty1", "--sgc", "123457")
    tokens = []
    assert (
        cli.main(
            GEN
            + [
                "--algorithm",
                "misty1",
                "--sgc",
                "123457",
                "--meter-number",
                other,
                "--vending-key",
                key,
                "credit",
                "--amount",
                "2",
            ],
            out=tokens.append,
        )
        == 0
    )
    status, out, err = vtc(capsys, board.port, "token", tokens[0])
    assert status == 0 and "01 Accept" in out and "+2.0 kWh" in out, err


def test_the_boards_derivation_is_the_hosts(micropython):
    """boards/unix/dkga.py on MicroPython (firmware/des.py, the port's hashlib) against the
    host's vending code, over several meters and key data."""
    script_done = "import sys\nassert not {'dkga', 'keydata', 'des'} & set(sys.modules)"  # it leaves the heap
    cases = [
        ("ABABABABABABABAB", "600727000000000009", 2, 123456, 1, 1, 1993, "sta"),
        ("0123456789ABCDEF", luhn("12345678901234567"), 1, 999999, 99, 9, 1993, "des"),
        ("AB" * 20, luhn("60072700000000002"), 2, 123457, 1, 1, 1993, "misty1"),
        ("ABABABABABABABAB949494949494949401234567", "600727000000000009", 3, 201457, 2, 2, 2014, "sta"),
    ]
    script = [
        "import sys",
        "sys.path[:0] = [%r, %r]" % (os.path.join(ROOT, "firmware"), os.path.join(ROOT, "boards", "unix")),
        "import dkga",
    ]
    expected = []
    for vk, number, kt, sgc, ti, krn, base, alg in cases:
        opts = {
            "vending_key": vk,
            "meter_number": number,
            "key_type": str(kt),
            "sgc": "%06d" % sgc,
            "ti": str(ti),
            "krn": str(krn),
            "base_date": str(base),
            "algorithm": alg,
        }
        script.append("o = %r\ndkga.derive(o)\nprint(o['dk'])" % opts)
        if len(vk) == 16:
            key = vending.dkga02(int(vk, 16), number, kt, sgc, ti, krn)
        else:
            key = vending.dkga04(int(vk, 16), number, kt, sgc, ti, krn, base, alg)
        expected.append("%0*X" % (vending.KEY_BITS[alg] // 4, key))
    script.append(script_done)
    result = subprocess.run([micropython, "-c", "\n".join(script)], capture_output=True, text=True, timeout=60)
    assert result.stdout.split() == expected, result.stderr


# --- item 10: conventions -------------------------------------------------------------------


def test_config_file_and_environment(tmp_path, monkeypatch, unix_board, capsys):
    board = unix_board()
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("VTC07_PORT", raising=False)
    monkeypatch.delenv("VTC07_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    (tmp_path / "vtc07.toml").write_text('port = "%s"\nbaud = 2400\nparity = "soft"\ntimeout = 1.5\n' % url(board.port))
    lines = []
    assert cli.main(["id"], out=lines.append) == 0 and lines[0] == "/STS3MPY-VTC07"  # the file's port
    monkeypatch.setenv("VTC07_PORT", NOWHERE)  # the environment over the file
    assert cli.main(["id"], out=lines.append) == 1
    assert cli.main(["-p", url(board.port), "id"], out=lines.append) == 0  # the command line over both
    capsys.readouterr()
    for text, words in (
        ('prot = "x"\n', "unknown key 'prot'"),
        ("baud = 0\n", "baud"),
        ('baud = "x"\n', "baud"),
        ("parity = 'odd'\n", "parity"),
        ("timeout = -1\n", "timeout"),
        ("port = \n", "vtc07.toml"),
    ):
        (tmp_path / "vtc07.toml").write_text(text)
        assert cli.main(["id"], out=lines.append) == 2
        err = capsys.readouterr().err
        assert words in err and "vtc07.toml" in err and err.count("\n") == 1, err
    os.remove(tmp_path / "vtc07.toml")
    (tmp_path / "xdg" / "vtc07").mkdir(parents=True)
    (tmp_path / "xdg" / "vtc07" / "vtc07.toml").write_text('address = "NOSUCH"\n')  # the user's config dir
    monkeypatch.delenv("VTC07_PORT")
    assert cli.line_defaults()["address"] == "NOSUCH"


def test_every_argument_has_help_text():
    missing = []

    def walk(parser, where):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, where + " " + name)
            elif not action.help and action.dest != "help":
                missing.append("%s %s" % (where, action.option_strings or action.dest))

    walk(cli.parser(), "vtc07")
    missing = [m for m in missing if not m.startswith("vtc07 conform")]  # conform's are the kit's
    assert missing == []


def test_completion_completes_commands_options_and_registers():
    scripts = []
    assert cli.main(["completion", "bash"], out=scripts.append) == 0

    def complete(*words):
        test = scripts[0] + '\nCOMP_WORDS=(vtc07 %s); COMP_CWORD=%d; _vtc07; echo "${COMPREPLY[@]}"' % (
            " ".join(words),
            len(words),
        )
        return subprocess.run(["bash", "-c", test], capture_output=True, text=True, timeout=30).stdout.split()

    assert {"dump", "watch", "generate"} <= set(complete(""))
    assert complete("wat") == ["watch"]
    assert "--interval" in complete("watch", "--int")
    assert "CreditElectricity" in complete("read", "Credit")
    assert "--amount" in complete("generate", "credit", "--am")
    assert {"-p", "--port", "-b", "--baud", "--echo", "--timeout"} <= set(complete("-"))


def test_colour_only_on_a_terminal(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    assert cli.Report(print, False).good("01 Accept") == "\x1b[32m01 Accept\x1b[0m"
    assert cli.Report(print, False).good("13 CRC", False) == "\x1b[31m13 CRC\x1b[0m"
    assert cli.Report(print, True).good("x") == "x"  # --json
    assert cli.Report([].append, False).good("x") == "x"  # not the terminal
    monkeypatch.setenv("NO_COLOR", "1")
    assert cli.Report(print, False).good("x") == "x"
    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setattr(sys.stdout, "isatty", lambda: False, raising=False)
    assert cli.Report(print, False).good("x") == "x"  # a pipe


# --- item 12: docs and make -----------------------------------------------------------------


def test_make_run_hints_make_demo_with_its_port():
    result = subprocess.run(
        ["make", "-n", "run", "TCP_PORT=7005"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert "make demo TCP_PORT=7005" in result.stdout


def test_the_docs_command_table_lists_every_command_in_one_table():
    with open(os.path.join(ROOT, "docs", "hhu.md")) as f:
        text = f.read()
    table = text.split("| command | what it does |\n|---|---|\n")[1].split("\n\n")[0].split("\n")
    assert all(row.startswith("| `") for row in table), table  # one table: no blank line inside
    named = {row.split("`")[1].split()[0] for row in table}
    assert named == set(cli.COMMANDS), named ^ set(cli.COMMANDS)
