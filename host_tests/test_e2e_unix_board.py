"""The unix board as a process over TCP, driven by the independent `iec62056-21` client.

The package implements IEC 62056-21 over TCP without parity. Our line carries 7E1
characters (parity in bit 7), so the transport below adds and checks even parity; that
is all it changes. Tests named `test_differs_*` show where VTC07 departs from 62056-21.
"""

import socket
import time

import frames
import pytest
from iec62056_21 import client as iec_client
from iec62056_21 import messages, transports

import vtc07
from vtc07 import tracefile


class ParityTcpTransport(transports.TcpTransport):
    def _send(self, data):
        super()._send(bytes(frames.with_parity(b) for b in data))

    def _recv(self, chars=1):
        data = super()._recv(chars)
        for b in data:
            assert frames.parity_ok(b), "server sent a character with wrong parity"
        return bytes(b & 0x7F for b in data)


@pytest.fixture
def client(unix_board):
    board = unix_board()
    transport = ParityTcpTransport(("127.0.0.1", board.port), timeout=3)
    c = iec_client.Iec6205621Client(transport, device_address="")
    c.connect()
    yield c
    c.disconnect()


def sign_on(c):
    c.send_init_request()
    return c.transport.simple_read(start_char="/", end_char="\x0a")


def test_sign_on_read_write_break(client):
    assert sign_on(client) == b"/STS3MPY-VTC07\r\n"
    assert client.read_single_value("0000", additional_data="").value == "01"
    assert client.read_single_value("0001", additional_data="").value == "8001"
    assert client.read_single_value("0003", additional_data="").value == vtc07.__version__
    client.write_single_value("0004", "00000000000000000")  # ACK: taken for processing
    time.sleep(0.1)
    # an all-zero class 0 token decrypts to garbage: CRC error (13)
    assert client.read_single_value("0005", additional_data="").value == "13"
    error = client.read_single_value("0004", additional_data="")
    assert (error.address, error.value) == ("0004", "ERR03")
    client.send_break()
    client.transport.socket.settimeout(1.0)
    client.transport.send(messages.CommandMessage.for_single_read("0000", "").to_bytes())
    with pytest.raises(socket.timeout):  # Idle after Break: silence
        client.transport.socket.recv(1)


def test_sign_on_with_meter_number_address(unix_board):
    board = unix_board()
    transport = ParityTcpTransport(("127.0.0.1", board.port), timeout=3)
    c = iec_client.Iec6205621Client(transport, device_address="600727000000000009")
    c.connect()
    assert sign_on(c).startswith(b"/STS3")
    c.disconnect()


def test_differs_identification_has_no_enhanced_ident_sequence(client):
    """62056-21 readers take "\\W" after the baud character; VTC07's ident follows it
    directly, so the package's parser loses the first ident character."""
    raw = sign_on(client)
    ident = messages.IdentificationMessage.from_bytes(raw)
    assert ident.manufacturer == "STS" and ident.switchover_baudrate_char == "3"
    assert ident.identification == "PY-VTC07"  # "MPY-VTC07" minus the skipped character


def test_differs_read_with_data_in_brackets_is_nak(client):
    """The package's default read sends R1 STX id(1) ETX; the profile's ReadCommand has
    empty brackets, so VTC07 answers NAK (bad syntax)."""
    sign_on(client)
    client.transport.send(messages.CommandMessage.for_single_read("0000", "1").to_bytes())
    assert client.transport.recv(1) == b"\x15"


def test_response_time_is_never_below_tr(unix_board):
    """tr is a minimum; the board's 1 ms clock must not make it 199.x ms."""
    board = unix_board()
    sign_on_line = tracefile.to_line(list(b"/?!\r\n"))
    break_line = tracefile.to_line(list(tracefile.command(b"B0")))
    times = []
    with board.connect() as s:
        for _ in range(5):
            # before the bytes go: the board cannot have them earlier, however this process
            # is scheduled (taken after sendall, a busy machine could make a right tr 199 ms)
            start = time.monotonic()
            s.sendall(sign_on_line)
            s.recv(64)
            times.append(time.monotonic() - start)
            s.sendall(break_line)
            time.sleep(0.05)
    assert 0.2 <= min(times) and max(times) < 0.6, times


def line(text):
    return tracefile.to_line(tracefile.unescape(text))


def recv7(s):
    return tracefile.escape(tracefile.from_line(s.recv(64)))


def test_flags_change_timing_and_lockout_survives_restart(unix_board, tmp_path):
    state = tmp_path / "meter"
    board = unix_board("--session-timeout", "500", state=state)
    write = line("<SOH>W1<STX>0004(00000000000000000)<ETX>R")
    read_remaining = line("<SOH>R1<STX>0006()<ETX>e")
    with board.connect() as s:
        s.sendall(line("/?!<CR><LF>"))
        assert recv7(s).startswith("/STS")
        for _ in range(3):  # three rejected class 0 tokens: locked for 10 s
            s.sendall(write)
            assert recv7(s) == "<ACK>"
            time.sleep(0.05)
        time.sleep(0.7)  # the 500 ms session timeout passes: Idle, silence
        s.sendall(read_remaining)
        s.settimeout(0.8)
        with pytest.raises(socket.timeout):
            s.recv(64)
    board.stop()  # power cut
    again = unix_board(state=state)
    with again.connect() as s:
        s.sendall(line("/?!<CR><LF>"))
        assert recv7(s).startswith("/STS")
        s.sendall(read_remaining)
        reply = recv7(s)
        assert reply.startswith("<STX>0006(000") and reply[13:15] in ("09", "10")
        s.sendall(write)
        assert "ERR07" in recv7(s)


def test_board_rejects_bad_arguments(micropython):
    import subprocess

    from conftest import ROOT

    result = subprocess.run(
        [micropython, ROOT + "/boards/unix/main.py", "--state", "x"], capture_output=True, text=True, timeout=10
    )
    # one line on stderr
    assert result.returncode == 2 and result.stdout == "" and result.stderr.count("\n") == 1
    assert result.stderr == "error: give exactly one of --tcp and --pty\n"


def test_token_session_accept_then_used(unix_board, tmp_path):
    """The first vector's token on the unix board's default key, then again: Used."""
    token = "%017X" % 23716100501183194197
    write = messages.CommandMessage.for_single_write("0004", token).to_bytes()
    board = unix_board(state=tmp_path / "meter")
    transport = ParityTcpTransport(("127.0.0.1", board.port), timeout=3)
    c = iec_client.Iec6205621Client(transport)
    c.connect()
    sign_on(c)
    read = lambda rid: c.read_single_value(rid, additional_data="").value  # noqa: E731
    assert read("8000") == "600727000000000009" and read("8001") == "0000000000"
    c.write_single_value("0004", token)
    time.sleep(0.05)
    assert read("0005") == "01"
    assert read("8001") == "0000000001"  # 0.1 kWh, in tenths
    assert read("800B") == "05871715"  # TID of 2004-03-01 13:55
    c.write_single_value("0004", token)
    time.sleep(0.05)
    assert read("0005") == "10"
    assert read("8001") == "0000000001"
    c.disconnect()
    board.stop()  # power cycle: credit and TID store are kept
    again = unix_board(state=tmp_path / "meter")
    c = iec_client.Iec6205621Client(ParityTcpTransport(("127.0.0.1", again.port), timeout=3))
    c.connect()
    sign_on(c)
    assert c.read_single_value("8001", additional_data="").value == "0000000001"
    c.transport.send(write)
    assert c.transport.recv(1) == b"\x06"
    time.sleep(0.05)
    assert c.read_single_value("0005", additional_data="").value == "10"
    c.disconnect()


def hhu(board):
    c = iec_client.Iec6205621Client(ParityTcpTransport(("127.0.0.1", board.port), timeout=3))
    c.connect()
    sign_on(c)
    return c


def enter(c, number):
    c.write_single_value("0004", "%017X" % number)
    time.sleep(0.05)
    return c.read_single_value("0005", additional_data="").value


def test_config_file_des_key_change_survives_restart(unix_board, tmp_path):
    """An EA09 meter set up by a config file (a flag overrides one line), a key change in
    reverse order over the line, then a power cycle: the new key and its data stay."""
    from vtc07 import vending

    dk, new_dk = 0x0123456789ABCDEF, 0xFEDCBA9876543210
    config = tmp_path / "meter.conf"
    config.write_text("# EA09 test meter\nalgorithm = des\ndk = %016X\nkrn = 5\nti = 03\n" % dk)
    state = tmp_path / "meter"
    board = unix_board("--config", str(config), "--krn", "1", state=state)
    c = hhu(board)
    read = lambda rid: c.read_single_value(rid, additional_data="").value  # noqa: E731
    assert (read("8015"), read("8008"), read("8006")) == ("09", "1", "03")
    first, second = vending.key_change_tokens(new_dk, 0xFF, 2, 0, 2, 4, dk, "des")
    assert enter(c, second) == "02" and read("8016") == "4"
    assert enter(c, first) == "03" and read("8016") == "0"
    assert (read("8008"), read("8006")) == ("2", "04")
    c.disconnect()
    board.stop()
    again = unix_board("--config", str(config), state=state)
    c = hhu(again)
    assert c.read_single_value("8008", additional_data="").value == "2"
    assert enter(c, vending.token(0, 0, 5, 5871715, 1, dk, "des")) == "13"
    assert enter(c, vending.token(0, 0, 5, 5871715, 1, new_dk, "des")) == "01"
    c.disconnect()


def test_board_refuses_a_bad_config(micropython, tmp_path):
    import subprocess

    from conftest import ROOT

    config = tmp_path / "bad.conf"
    config.write_text("algorithm = misty2\n")
    result = subprocess.run(
        [micropython, ROOT + "/boards/unix/main.py", "--tcp", "127.0.0.1:1", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert result.returncode == 2 and "config key 'algorithm' must be des, misty1 or sta, not 'misty2'" in result.stderr


def test_pty_mode_prints_its_path_and_answers_over_pyserial(micropython, tmp_path):
    import subprocess

    import serial
    from conftest import ROOT

    proc = subprocess.Popen(
        [micropython, ROOT + "/boards/unix/main.py", "--pty", "--state", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        path = proc.stdout.readline().strip()  # first line: the pty path
        assert path.startswith("/dev/")
        with serial.Serial(path, 2400, timeout=3) as port:
            time.sleep(0.3)  # the relay connects to the board's socket
            port.write(line("/?!<CR><LF>"))
            reply = port.read(16)
        assert tracefile.escape(tracefile.from_line(reply)) == "/STS3MPY-VTC07<CR><LF>"
    finally:
        proc.kill()
        proc.wait()
