"""The unix board's TCP line behaves like one serial port (issue 10): a new connection is
a new HHU that inherits nothing of the last one, and a client that does not read loses its
answers without stopping the meter."""

import socket
import time

from vtc07 import tracefile

SIGN_ON = tracefile.to_line(list(b"/?!\r\n"))
ID_RESPONSE = b"/STS3MPY-VTC07\r\n"
READ_METER_NUMBER = tracefile.to_line(list(tracefile.command(b"R1\x028000()")))
METER_NUMBER = b"\x028000(600727000000000009)\x03"  # and its BCC: 27 characters


def receive(s, count, timeout=1.0):
    """Up to `count` characters (7-bit) within `timeout` s."""
    s.settimeout(timeout)
    got = b""
    try:
        while len(got) < count:
            chunk = s.recv(count - len(got))
            if not chunk:
                break
            got += chunk
    except socket.timeout:
        pass
    return bytes(tracefile.from_line(got))


def signs_on_in_time(board, margin=0.35):
    """A new client signs on at once: the IDResponse comes after tr (0.2 s) + margin."""
    with board.connect() as s:
        s.sendall(SIGN_ON)
        start = time.monotonic()
        answer = receive(s, len(ID_RESPONSE), timeout=2.0)
        took = time.monotonic() - start
    return answer == ID_RESPONSE and took < 0.2 + margin, (answer, took)


def test_half_a_message_left_by_a_client_does_not_swallow_the_next_sign_on(unix_board):
    board = unix_board()
    for _ in range(6):
        with board.connect() as s:
            s.sendall(tracefile.to_line(list(b"\x01R1\x020000(")))
            time.sleep(0.05)
        ok, why = signs_on_in_time(board)
        assert ok, why


def test_a_session_left_by_one_client_is_not_the_next_ones(unix_board):
    board = unix_board()
    with board.connect() as s:
        s.sendall(SIGN_ON)
        assert receive(s, len(ID_RESPONSE)) == ID_RESPONSE
    with board.connect() as s:  # no sign-on: Idle, so a read is not answered
        s.sendall(READ_METER_NUMBER)
        assert receive(s, 1, timeout=0.8) == b""
        s.sendall(SIGN_ON)
        assert receive(s, len(ID_RESPONSE)) == ID_RESPONSE
        s.sendall(READ_METER_NUMBER)
        assert receive(s, len(METER_NUMBER) + 1)[:-1] == METER_NUMBER


def deaf_client(board, count, every):
    """A client that signs on, then sends `count` reads, `every` s apart, and never reads
    an answer. Its receive buffer is as small as the kernel allows."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    s.settimeout(3.0)  # a meter that stopped reading would make sendall fail, not hang
    s.connect(("127.0.0.1", board.port))
    s.sendall(SIGN_ON)
    time.sleep(0.05)
    for _ in range(count):
        s.sendall(READ_METER_NUMBER)
        time.sleep(every)
    return s


def test_a_client_that_never_reads_does_not_stop_the_meter(unix_board):
    board = unix_board("--test-tr", "1")
    deaf = deaf_client(board, 700, 0.002)
    try:
        with board.connect() as s:  # a new HHU replaces the deaf one and is served
            s.sendall(SIGN_ON)
            assert receive(s, len(ID_RESPONSE)) == ID_RESPONSE
            s.sendall(READ_METER_NUMBER)
            assert receive(s, len(METER_NUMBER) + 1)[:-1] == METER_NUMBER
    finally:
        deaf.close()


def test_a_client_that_does_not_read_loses_answers_whole(unix_board):
    board = unix_board("--test-tr", "1")
    # 5 ms apart: each read is answered (tr is 1 ms) before the next one replaces it
    sent = 600
    s = deaf_client(board, sent, 0.005)
    with s:
        held = receive(s, 1 << 20, timeout=0.5)  # what the line kept for it
        # whole answers only (the IDResponse, then data messages), and far fewer than asked
        assert held.startswith(ID_RESPONSE)
        answers = held[len(ID_RESPONSE) :]
        assert len(answers) % 27 == 0 and answers == answers[:27] * (len(answers) // 27)
        assert answers[:-1].startswith(METER_NUMBER) or not answers
        assert len(answers) // 27 < sent // 2, (len(answers) // 27, sent)
        s.sendall(READ_METER_NUMBER)  # once it reads again, it is answered at once
        assert receive(s, 27)[:-1] == METER_NUMBER
