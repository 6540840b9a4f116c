"""The hardware boards without hardware: their glue driven through fake UART and Pin
objects that keep time (echo removal, direction pin timing, parity, partial reads), their
code type-checked against each port's MicroPython stubs, and their freeze manifests."""

import os
import subprocess
import sys
import types

import pytest
from conftest import ROOT

from vtc07 import tracefile

sys.path.insert(0, os.path.join(ROOT, "boards", "common"))
import boardmain
import link

BOARDS = {"rp2_pico": "rp2", "esp32": "esp32", "stm32_pyboard": "stm32"}
SIGN_ON = b"/?!\r\n"


class Clock:
    def __init__(self):
        self.ms = 0

    def __call__(self):
        return self.ms


class FakePin:
    OUT = 1
    IN = 0
    PULL_UP = 1
    IRQ_FALLING = 4
    made = []  # every pin made, in order (the tests find a board's pins by number)

    def __init__(self, ident, mode=None, pull=None, clock=None):
        self.ident = ident
        self.clock = clock
        self.log = []  # (ms, value)
        self.handler = None
        FakePin.made.append(self)

    def value(self, v=None):
        if v is None:
            return self.log[-1][1] if self.log else 0
        self.log.append((self.clock(), v))

    def irq(self, handler=None, trigger=None):
        assert trigger == self.IRQ_FALLING
        self.handler = handler

    def fall(self, times=1):
        """The input's falling edges: the interrupt handler runs for each."""
        for _ in range(times):
            self.handler(self)


def board_pin(ident):
    return [p for p in FakePin.made if p.ident == ident][-1]


class NoFlushUART:
    """Bytes in `rx` are what the line brought; `write` logs (ms, bytes). With `loopback`
    the line carries our own characters back (a current loop). `chunk` limits what one
    readinto returns (partial reads). This one, like some ports, has no UART.flush()."""

    INV_TX = 1
    INV_RX = 2

    def __init__(self, ident, baudrate=9600, bits=8, parity=None, stop=1, clock=None, **kw):
        self.ident, self.baudrate, self.bits, self.parity, self.stop, self.kw = ident, baudrate, bits, parity, stop, kw
        self.clock = clock
        self.rx = bytearray()
        self.written = []
        self.loopback = False
        self.chunk = 64

    def any(self):
        return len(self.rx)

    def readinto(self, buf):
        n = min(len(buf), len(self.rx), self.chunk)
        buf[:n] = self.rx[:n]
        del self.rx[:n]
        return n

    def write(self, data, n=-1):
        data = data[:n] if n >= 0 else data  # a stream's write(buf, n), as Link writes
        self.written.append((self.clock(), bytes(data)))
        if self.loopback:
            self.rx += data
        return len(data)


class FakeUART(NoFlushUART):
    def flush(self):  # returns when the stop bit of the last character has left
        self.clock.ms += (len(self.written[-1][1]) * 10 * 1000 + self.baudrate - 1) // self.baudrate


def fake_machine(clock, uart_class=FakeUART):
    m = types.ModuleType("machine")
    m.UART = lambda *a, **kw: uart_class(*a, clock=clock, **kw)
    m.UART.INV_TX, m.UART.INV_RX = NoFlushUART.INV_TX, NoFlushUART.INV_RX
    m.Pin = lambda *a, **kw: FakePin(*a, clock=clock, **kw)
    m.Pin.OUT, m.Pin.IN, m.Pin.PULL_UP, m.Pin.IRQ_FALLING = (
        FakePin.OUT,
        FakePin.IN,
        FakePin.PULL_UP,
        FakePin.IRQ_FALLING,
    )
    return m


def load_board(name, tmp_path, monkeypatch, clock, uart_class=FakeUART):
    monkeypatch.setitem(sys.modules, "machine", fake_machine(clock, uart_class))
    path = os.path.join(ROOT, "boards", name, "board.py")
    module = types.ModuleType("board_" + name)
    exec(compile(open(path).read(), path, "exec"), module.__dict__)
    module.STATE_DIR = str(tmp_path / "state")
    module.CONFIG_FILE = str(tmp_path / "meter.conf")
    return module


def line_bytes(text, soft):
    return tracefile.to_line(list(text), soft_parity=soft)


def run_until(lnk, clock, until_ms):
    """The board's loop on the fake clock: a pass whenever the core or new input (which a
    fake UART delivers between passes) may have work, up to and including `until_ms`."""
    while True:
        wait = lnk.service()
        if clock.ms >= until_ms:
            return
        step = 1 if lnk.uart.any() else wait
        clock.ms = until_ms if step < 0 else min(until_ms, clock.ms + max(step, 1))


@pytest.mark.parametrize("name", sorted(BOARDS))
def test_board_signs_on_through_its_uart(name, tmp_path, monkeypatch):
    clock = Clock()
    board = load_board(name, tmp_path, monkeypatch, clock)
    lnk = boardmain.build(board, clock, None)
    uart = lnk.uart
    soft = board.PARITY == "soft"
    assert (uart.bits, uart.parity) == ((8, None) if soft else (7, 0))
    assert uart.baudrate == board.BAUD == 2400
    uart.rx += line_bytes(SIGN_ON, soft)
    run_until(lnk, clock, 1000)
    assert len(uart.written) == 1
    at, data = uart.written[0]
    assert at == 201  # tr after the last character's tick (stamped at its end)
    assert tracefile.from_line(data, soft) == list(b"/STS3MPY-VTC07\r\n")
    if not soft:
        assert max(data) < 0x80  # 7-bit characters: the UART adds the parity bit


def test_config_file_on_the_board(tmp_path, monkeypatch):
    clock = Clock()
    board = load_board("rp2_pico", tmp_path, monkeypatch, clock)
    (tmp_path / "meter.conf").write_text("ident = PICO-1\nparity = soft\n")
    lnk = boardmain.build(board, clock, None)
    lnk.uart.rx += line_bytes(SIGN_ON, False)
    run_until(lnk, clock, 1000)
    assert lnk.uart.written[0][1] == b"/STS3PICO-1\r\n"  # and parity stays the board's "uart"


@pytest.mark.parametrize(
    "text,key",
    [
        ("algoritm = des\n", "'algoritm' is not known; valid keys: address, "),
        ("parity = sotf\n", "'parity' must be soft or uart, not 'sotf'"),  # a typo, though the board decides
        ("baud = 2401\n", "'baud' must be 300, "),
        ("key_type = 7\n", "'key_type' must be a number from 0 to 3, not '7'"),
        ("meter_number = 12\n", "'meter_number' must be 18 digits"),
        ("tcp = 127.0.0.1:7001\n", "'tcp' is not known"),  # a unix board key: not this board's
    ],
)
def test_bad_config_file_starts_no_meter(text, key, tmp_path, monkeypatch, capsys):
    clock = Clock()
    board = load_board("rp2_pico", tmp_path, monkeypatch, clock)
    board.uart = lambda: pytest.fail("the board opened its UART on a bad configuration")
    (tmp_path / "meter.conf").write_text("ident = PICO-1\n" + text)
    assert boardmain.build(board, clock, None) is None
    out = capsys.readouterr().out
    assert out.startswith("error: config key " + key) and out.count("\n") == 1, out
    assert not (tmp_path / "state").exists()


def test_bad_config_file_message_and_main_returns(tmp_path, monkeypatch, capsys):
    clock = Clock()
    board = load_board("esp32", tmp_path, monkeypatch, clock)
    (tmp_path / "meter.conf").write_text("key_type = 7\n")
    fake_time = types.ModuleType("time")
    fake_time.ticks_ms, fake_time.sleep_ms = clock, lambda ms: None
    monkeypatch.setitem(sys.modules, "time", fake_time)
    assert boardmain.main(board) is None  # returned: no meter runs (run() would never return)
    assert capsys.readouterr().out == "error: config key 'key_type' must be a number from 0 to 3, not '7'\n"
    (tmp_path / "meter.conf").write_text("key_type 7\n")
    assert boardmain.build(board, clock, None) is None
    assert capsys.readouterr().out == "error: config line without key = value: key_type 7\n"


def test_partial_reads_one_byte_at_a_time(tmp_path, monkeypatch):
    clock = Clock()
    board = load_board("stm32_pyboard", tmp_path, monkeypatch, clock)
    lnk = boardmain.build(board, clock, None)
    lnk.uart.chunk = 1
    lnk.uart.rx += line_bytes(SIGN_ON, True)
    run_until(lnk, clock, 1000)
    lnk.uart.rx += line_bytes(tracefile.command(b"R1\x020000()"), True)
    run_until(lnk, clock, 2000)
    assert [tracefile.escape(tracefile.from_line(d)) for _, d in lnk.uart.written] == [
        "/STS3MPY-VTC07<CR><LF>",
        "<STX>0000(01)<ETX><ETX>",
    ]


def test_soft_parity_error_reaches_the_core(tmp_path, monkeypatch):
    clock = Clock()
    board = load_board("stm32_pyboard", tmp_path, monkeypatch, clock)
    lnk = boardmain.build(board, clock, None)
    lnk.uart.rx += line_bytes(SIGN_ON, True)
    run_until(lnk, clock, 500)
    bad = bytearray(line_bytes(tracefile.command(b"R1\x020000()"), True))
    bad[3] ^= 0x80  # one character with a parity error
    lnk.uart.rx += bad
    run_until(lnk, clock, 3000)
    at, data = lnk.uart.written[-1]
    assert tracefile.from_line(data) == [0x15] and at == 500 + 1 + 1500  # NAK after the recovery wait


def test_current_loop_echo_is_removed_and_pin_frames_the_transmission(tmp_path, monkeypatch):
    clock = Clock()
    board = load_board("esp32", tmp_path, monkeypatch, clock)
    lnk = boardmain.build(board, clock, None)
    uart, pin = lnk.uart, lnk.tx_enable
    uart.loopback = True
    uart.rx += SIGN_ON
    run_until(lnk, clock, 1000)
    uart.rx += tracefile.command(b"R1\x020000()")
    run_until(lnk, clock, 2000)
    texts = [tracefile.escape(list(d)) for _, d in uart.written]
    assert texts == ["/STS3MPY-VTC07<CR><LF>", "<STX>0000(01)<ETX><ETX>"]  # no NAK: echo never seen
    # the direction pin: listen at start, active from the write until the stop bit of the last char
    sent_at, data = uart.written[0]
    on = [ms for ms, v in pin.log if v == 1]
    off = [ms for ms, v in pin.log if v == 0]
    assert pin.log[0] == (0, 0) and on[0] == sent_at
    assert off[1] == sent_at + lnk.tx_ms(len(data)) == 201 + 67  # 16 chars at 2400 Bd: 66.7 ms
    second_at, second = uart.written[1]
    assert lnk.led.log[-2:] == [(second_at, 1), (second_at + lnk.tx_ms(len(second)), 0)]


@pytest.mark.parametrize("remove_echo", [True, False])
def test_without_echo_removal_the_meter_answers_itself(tmp_path, monkeypatch, remove_echo):
    clock = Clock()
    board = load_board("esp32", tmp_path, monkeypatch, clock)
    lnk = boardmain.build(board, clock, None)
    if not remove_echo:
        lnk.echo = None
    lnk.uart.loopback = True
    lnk.uart.rx += SIGN_ON
    run_until(lnk, clock, 1000)
    lnk.uart.rx += tracefile.command(b"R1\x020000()")
    run_until(lnk, clock, 5000)
    texts = [tracefile.escape(list(d)) for _, d in lnk.uart.written]
    if remove_echo:
        assert texts == ["/STS3MPY-VTC07<CR><LF>", "<STX>0000(01)<ETX><ETX>"]
    else:  # our own answers come back as messages from the HHU: bad syntax, NAK, NAK, ...
        assert texts.count("<NAK>") >= 3


def test_direction_pin_without_uart_flush_waits_the_transmission_time(tmp_path, monkeypatch):
    clock = Clock()
    board = load_board("esp32", tmp_path, monkeypatch, clock, uart_class=NoFlushUART)
    slept = []

    def sleep_ms(ms):
        slept.append(ms)
        clock.ms += ms

    lnk = boardmain.build(board, clock, sleep_ms)
    lnk.uart.rx += SIGN_ON
    run_until(lnk, clock, 1000)
    sent_at, data = lnk.uart.written[0]
    assert not hasattr(lnk.uart, "flush") and slept == [67]
    assert lnk.tx_enable.log[-1] == (sent_at + 67, 0)


def test_echo_filter_lost_echo_and_collision():
    f = link.EchoFilter()
    f.sent(b"ABC", done_at=100)
    buf = bytearray(b"AB")
    assert f.filter(buf, 2, now=50) == 0 and f.expected() == 1
    buf = bytearray(b"/?!")  # the C never came back; later the HHU talks
    assert f.filter(buf, 3, now=200) == 3 and bytes(buf) == b"/?!"
    f.sent(b"XYZ", done_at=300)
    buf = bytearray(b"XQZ")  # collision: the second character is not ours
    assert f.filter(buf, 3, now=300) == 2 and bytes(buf[:2]) == b"QZ"
    f.sent(bytes(100), done_at=400)  # longer than the buffer: keeps the newest
    assert f.expected() == link.ECHO_MAX


def stubs_dir(board):
    return os.path.join(os.path.dirname(sys.executable), "..", "stubs", board)


@pytest.mark.parametrize("name", sorted(BOARDS))
def test_board_code_type_checks_against_its_stubs(name, tmp_path):
    stubs = stubs_dir(name)
    assert os.path.isdir(stubs), "no stubs for %s: run the tests through `make test`" % name
    boards = os.path.join(ROOT, "boards")
    env = dict(
        os.environ,
        MYPYPATH=os.pathsep.join(
            [stubs, os.path.join(boards, "common"), os.path.join(ROOT, "firmware"), os.path.join(boards, name)]
        ),
    )
    files = [os.path.join(boards, name, f) for f in ("board.py", "main.py")] + [
        os.path.join(boards, "common", f) for f in ("link.py", "boardmain.py", "metrology.py")
    ]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            os.path.join(boards, "mypy.ini"),
            "--custom-typeshed-dir",
            stubs,
            "--cache-dir",
            str(tmp_path / "cache"),
        ]
        + files,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def frozen_sources():
    """build/frozen, which the manifests freeze, staged once by `make frozen`."""
    subprocess.run(["make", "-s", "frozen"], cwd=ROOT, check=True, capture_output=True, timeout=300)


@pytest.mark.parametrize("name", sorted(BOARDS))
def test_manifest_freezes_the_whole_meter(name, frozen_sources):
    frozen = set()
    included = []

    def run_manifest(path):
        here = os.path.dirname(path)

        def include(p):
            if p.startswith("$(PORT_DIR)"):
                included.append(p)
            else:
                run_manifest(os.path.normpath(os.path.join(here, p)))

        def freeze(p, script=None, opt=None):  # MicroPython's manifest function's arguments
            d = os.path.normpath(os.path.join(here, p))
            assert os.path.isdir(d), d
            assert opt == 3, "frozen as make compile builds: -O3"
            for f in [script] if script else [f for f in os.listdir(d) if f.endswith(".py")]:
                assert os.path.isfile(os.path.join(d, f))
                frozen.add(f)

        def module(f):
            assert os.path.isfile(os.path.join(here, f))
            frozen.add(f)

        exec(open(path).read(), {"include": include, "freeze": freeze, "module": module})

    run_manifest(os.path.join(ROOT, "boards", name, "manifest.py"))
    # every firmware module but catalogue.py (the host's rows: the build wrote what
    # meterapp takes of them into it), which no board imports
    firmware = {f for f in os.listdir(os.path.join(ROOT, "firmware")) if f.endswith(".py")} - {"catalogue.py"}
    assert firmware | {"link.py", "boardmain.py", "metrology.py", "board.py"} == frozen
    assert included == ["$(PORT_DIR)/boards/manifest.py"]


def test_make_deploy_without_a_port_says_how_to_find_it():
    result = subprocess.run(
        ["make", "-s", "deploy", "BOARD=rp2_pico"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode != 0
    assert "mpremote devs" in result.stdout and "make deploy BOARD=rp2_pico PORT=" in result.stdout
    result = subprocess.run(
        ["make", "-s", "deploy", "BOARD=nosuchboard", "PORT=/dev/null"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode != 0 and "one of: rp2_pico esp32 stm32_pyboard" in result.stdout


def test_board_glue_on_micropython(micropython):
    result = subprocess.run(
        [micropython, os.path.join(ROOT, "host_tests", "mpy_link_check.py")], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0 and result.stdout.strip() == "link ok", result.stdout + result.stderr


# --- metrology: the pulse input, the relay, the power-fail input (boards/common/metrology.py)


def credit_board(tmp_path, monkeypatch, amount):
    """The rp2 board with `amount` tenths of kWh of credit entered, its Link and clock."""
    from helpers import credit_token

    clock = Clock()
    board = load_board("rp2_pico", tmp_path, monkeypatch, clock)
    lnk = boardmain.build(board, clock, None)
    app = lnk.server.app
    app.submit(credit_token(0, amount), 0)
    app.step(0)
    return board, lnk, clock, app


def test_rp2_pulses_run_the_credit_down_and_open_the_relay(tmp_path, monkeypatch):
    board, lnk, clock, app = credit_board(tmp_path, monkeypatch, 3)  # 0.3 kWh
    pulses, relay = board_pin(board.PULSE_PIN), board_pin(board.RELAY_PIN)
    assert relay.value() == board.RELAY_CLOSED  # credit: closed (low credit: a warning)
    pulses.fall(250)  # 0.25 kWh at 1000 imp/kWh
    clock.ms = 1000
    lnk.service()
    assert app.credit[0] == 1 and app.usage[:1] == [2] and app.usage[4] == 500  # 0.05 kWh kept
    assert app.read_register(0x801B) == 900000  # 0.25 kWh in 1 s
    assert relay.value() == board.RELAY_CLOSED
    pulses.fall(50)  # the remainder and these make the third tenth
    clock.ms = 1500
    lnk.service()
    assert app.credit[0] == 0 and relay.value() == 1 - board.RELAY_CLOSED
    assert app.read_register(0x8019) == 2 and app.read_register(0x801A) == 2


def test_rp2_power_fail_input_stores_the_consumption(tmp_path, monkeypatch):
    from meterapp import MeterApplication
    from storage import FileStore

    board, lnk, clock, app = credit_board(tmp_path, monkeypatch, 100)
    board_pin(board.PULSE_PIN).fall(123)
    clock.ms = 10
    lnk.service()
    assert MeterApplication(FileStore(board.STATE_DIR), {}).usage[0] == 0  # under SAVE_TENTHS
    board_pin(board.POWER_FAIL_PIN).fall()
    clock.ms = 20
    lnk.service()
    again = MeterApplication(FileStore(board.STATE_DIR), {})
    assert again.usage[0] == 1 and again.usage[4] == 230 and again.credit[0] == 99


def test_the_pulse_counter_wraps_without_growing(tmp_path, monkeypatch):
    import metrology

    board, lnk, clock, app = credit_board(tmp_path, monkeypatch, 100)
    m = lnk.metrology
    m.count = m.taken = metrology._MASK - 1  # a counter near its wrap
    board_pin(board.PULSE_PIN).fall(102)
    assert m.count == 100
    clock.ms = 10
    lnk.service()
    assert app.usage[0] == 1 and app.usage[4] == 20


@pytest.mark.parametrize("name", sorted(BOARDS))
def test_every_board_names_its_metrology_pins(name, tmp_path, monkeypatch):
    clock = Clock()
    board = load_board(name, tmp_path, monkeypatch, clock)
    lnk = boardmain.build(board, clock, None)
    assert lnk.metrology is not None and board.METER_CONSTANT > 0
    for pin in (board.PULSE_PIN, board.RELAY_PIN, board.POWER_FAIL_PIN):
        board_pin(pin)


def test_a_token_is_worked_on_when_the_next_request_is_already_waiting(tmp_path, monkeypatch):
    """The HHU's TokenStatus read is complete in the UART the moment the ACK has gone out:
    the board polls the core first, so the token is worked on before that read is taken."""
    from helpers import credit_token

    clock = Clock()
    later = []

    class EagerUART(FakeUART):
        def write(self, data, n=-1):
            data = data[:n] if n >= 0 else data
            n = FakeUART.write(self, data)
            if bytes(data) == b"\x06" and later:  # the ACK is out: the next request is in
                self.rx += later.pop(0)
            return n

    board = load_board("rp2_pico", tmp_path, monkeypatch, clock, EagerUART)
    lnk = boardmain.build(board, clock, None)
    uart = lnk.uart
    uart.rx += SIGN_ON
    run_until(lnk, clock, 1000)
    later.append(tracefile.command(b"R1\x020005()"))
    uart.rx += tracefile.command(b"W1\x020004(%017X)" % credit_token(0, 7))
    run_until(lnk, clock, 3000)
    answers = [data for _, data in uart.written]
    assert answers[1] == b"\x06" and b"0005(01)" in answers[2], answers
    assert lnk.server.app.credit[0] == 7


def test_the_loop_guard_counts_a_fault_and_the_meter_carries_on(tmp_path, monkeypatch, capsys):
    """Whatever raises out of the loop is one console line and one stored count in
    LoopFaults (8021); the loop runs again on the same meter; a machine.WDT is armed and fed
    on every pass, whose wait is cut to FEED_MS. Ctrl-C leaves the watchdog fed by a timer."""
    clock = Clock()
    board = load_board("rp2_pico", tmp_path, monkeypatch, clock)
    fed, timers = [], []
    machine = sys.modules["machine"]
    machine.WDT = lambda timeout: types.SimpleNamespace(timeout=timeout, feed=lambda: fed.append(clock.ms))
    machine.Timer = lambda *a, **kw: timers.append(kw)
    fake_time = types.ModuleType("time")
    fake_time.ticks_ms, fake_time.sleep_ms = clock, lambda ms: None
    monkeypatch.setitem(sys.modules, "time", fake_time)
    waits = []

    def wait(self, ms):  # the real loop (Link.run, Server.run) sleeps here after each pass
        waits.append((self, ms))
        assert 0 <= ms <= boardmain.FEED_MS and fed  # fed before, the sleep cut to FEED_MS
        if len(waits) < 3:
            raise RuntimeError("a board callback failed")
        raise KeyboardInterrupt

    monkeypatch.setattr(link.Link, "wait", wait)
    with pytest.raises(KeyboardInterrupt):
        boardmain.main(board)
    runs = [lnk for lnk, _ in waits]
    out = capsys.readouterr().out
    assert out.count("fault ") == 2 and "RuntimeError a board callback failed" in out
    assert runs[0] is runs[2]  # the same meter carries on
    assert runs[0].server.app.read_register(0x8021) == 2 and timers  # fed after Ctrl-C
    again = boardmain.build(board, clock, None)  # a restart: the count was stored
    assert again.server.app.read_register(0x8021) == 2
