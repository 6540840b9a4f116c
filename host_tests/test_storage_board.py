"""Storage faults on the unix board: it starts, says what is wrong, answers reads, refuses
tokens with a defined answer, and only an operator's --reset-storage gets it out."""

import os
import shutil

from helpers import credit_token, tid
from unixboard import enter, read


def test_damaged_record_fails_closed_until_the_operator_resets(unix_board, tmp_path):
    state = tmp_path / "state"
    board = unix_board(state=state)
    sock = board.session()
    assert enter(sock, credit_token(amount=5)) == ("<ACK>", "01")
    sock.close()
    board.stop()
    for name in ("meter.a", "meter.b"):
        path = state / name
        path.write_bytes(b"\xff" * 20 + path.read_bytes()[20:])
    board = unix_board(state=state)
    sock = board.session()
    assert read(sock, "0002") == "00010110"  # storage fault, lockout held, (no) credit
    assert read(sock, "8018") == "4" and read(sock, "0006") == "01280"
    answer, status = enter(sock, credit_token(amount=5, t=tid(1)))
    assert "ERR08" in answer and status == "17"
    sock.close()
    board.stop()
    assert b"storage fault 4" in board.proc.stdout.read()
    assert (state / "meter.a").read_bytes()[:20] == b"\xff" * 20  # never written over
    board = unix_board("--reset-storage", state=state)
    sock = board.session()
    assert enter(sock, credit_token(amount=5, t=tid(1))) == ("<ACK>", "01")
    assert read(sock, "0002") == "00000000" and read(sock, "8001") == "0000000005"
    sock.close()
    board.stop()
    assert b"meter.a.damaged1" in board.proc.stdout.read()
    assert (state / "meter.a.damaged1").exists() and (state / "meter.b.damaged1").exists()


def test_state_that_is_a_file_stops_the_board_with_a_message(micropython, tmp_path):
    """A typo in --state is a configuration error: a line naming it and exit 2, never a
    meter that dies on its first token."""
    import subprocess

    from conftest import ROOT

    state = tmp_path / "afile"
    state.write_text("not a directory")
    result = subprocess.run(
        [micropython, ROOT + "/boards/unix/main.py", "--tcp", "127.0.0.1:1", "--state", str(state)],
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert result.returncode == 2 and "Traceback" not in result.stdout + result.stderr
    assert "%s: it is not a directory" % state in result.stderr and result.stderr.count("\n") == 1


def test_a_record_that_cannot_be_read_refuses_tokens_and_keeps_answering(unix_board, tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    (state / "meter.a").mkdir()  # a directory in each copy's place: it cannot be read
    (state / "meter.b").mkdir()
    board = unix_board(state=state)
    sock = board.session()
    assert read(sock, "8018") == "3"
    for _ in range(2):
        answer, status = enter(sock, credit_token())
        assert "ERR08" in answer and status == "17"
    assert read(sock, "0000") == "01"
    assert board.proc.poll() is None


def test_save_error_while_running_gives_a_defined_answer(unix_board, tmp_path):
    state = tmp_path / "state"
    board = unix_board(state=state)
    sock = board.session()
    assert enter(sock, credit_token(amount=5)) == ("<ACK>", "01")
    os.remove(str(state / "meter.a"))
    os.mkdir(str(state / "meter.a"))  # that copy can no longer be written (or read)
    answer, status = enter(sock, credit_token(amount=7, t=tid(1)))
    assert answer == "<ACK>" and status in ("17", "01")
    # 6: the copy that can be written took the token alone (degraded); 2: neither did
    assert read(sock, "0002") == "00000100" and read(sock, "8018") == ("6" if status == "01" else "2")
    credit = read(sock, "8001")
    assert credit == ("0000000012" if status == "01" else "0000000005")
    shutil.rmtree(str(state / "meter.a"))
    answer, status = enter(sock, credit_token(amount=7, t=tid(1)))
    assert status == ("10" if credit.endswith("12") else "01")
    assert enter(sock, credit_token(amount=1, t=tid(2)))[1] == "01"
    assert read(sock, "0002") == "00000000" and read(sock, "8001") == "0000000013"
    assert board.proc.poll() is None
