"""The conformance kit's own test: a zoo of meters built wrong on purpose, each with the one
clause the kit must fail it in (host only; host_tests/test_conform.py and
tools/harness/reliability/conform_figures.py use it).

A wrong meter is the unix board with flags (its tr, ta, recovery wait, address, session
timeout, token execution time) or the correct unix board behind a Relay that changes what
it says (late, twice, not at all, a damaged BCC or parity, for another register, a wrong
tokenStatus).
"""

import threading
import time

from noisyline import Relay as LineRelay

STX, ETX = 0x02, 0x03


def _parity(c):
    p = c ^ (c >> 4)
    p ^= p >> 2
    p ^= p >> 1
    return c | 0x80 if p & 1 else c


def _message(chars):
    """7-bit characters -> soft-parity line bytes, BCC recomputed over STX..ETX."""
    bcc = 0
    for c in chars[1:-1]:
        bcc ^= c
    return bytes(_parity(c) for c in chars[:-1] + [bcc & 0x7F])


def _data(data):
    """The 7-bit characters of a Data message as it left the meter, or None."""
    chars = [b & 0x7F for b in data]
    if len(chars) >= 9 and chars[0] == STX and chars[-2] == ETX:
        return chars
    return None


class Relay(LineRelay):
    """A TCP relay in front of a meter. `to_hhu(data)` -> [(delay_s, bytes)]: what reaches
    the HHU for each chunk the meter sends, and when (after the chunk came). It runs in a
    process of its own, so its threads do not share the kit's interpreter lock."""

    def __init__(self, meter_port, to_hhu, host="127.0.0.1"):
        self.to_hhu = to_hhu
        self._lock = threading.Lock()
        super().__init__(meter_port, host)

    def _start(self):
        import multiprocessing

        self._proc = multiprocessing.get_context("fork").Process(target=self._accept, daemon=True)
        self._proc.start()

    def _accept(self):
        ends = self._connect(nodelay=True)
        if ends is None:
            return
        hhu, meter = ends
        threading.Thread(target=self._pump, args=(hhu, meter, None), daemon=True).start()
        self._pump(meter, hhu, self.to_hhu)

    def _send_later(self, dst, delay, data):
        time.sleep(delay)
        with self._lock:
            try:
                dst.sendall(data)
            except OSError:
                pass

    def _pump(self, src, dst, change):
        try:
            while True:
                data = src.recv(256)
                if not data:
                    break
                plan = change(data) if change else [(0, data)]
                for delay, out in plan:
                    if not out:
                        continue
                    if delay:
                        threading.Thread(target=self._send_later, args=(dst, delay, out), daemon=True).start()
                    else:
                        with self._lock:
                            dst.sendall(out)
        except OSError:
            pass

    def close(self):
        super().close()  # the listener (the sockets are the relay process's)
        self._proc.terminate()
        self._proc.join()


def every(n, change):
    """Apply `change` to every n-th Data message only."""
    count = [0]

    def apply(data):
        if _data(data) is None:
            return [(0, data)]
        count[0] += 1
        return change(data) if count[0] % n == 0 else [(0, data)]

    return apply


def late(data):
    return [(1.7, data)] if _data(data) else [(0, data)]


def twice(data):
    return [(0, data), (0.002, data)]


def dropped(data):
    return [(0, b"")] if _data(data) else [(0, data)]


def bad_bcc(data):
    # bit 0 and the parity bit: a wrong BCC with right parity
    return [(0, data[:-1] + bytes([data[-1] ^ 0x81]))] if _data(data) else [(0, data)]


def bad_parity(data):
    if not _data(data):
        return [(0, data)]
    b = bytearray(data)
    b[3] ^= 0x80
    return [(0, bytes(b))]


def other_register(data):
    """A Data message for register 0000 comes back as one for 0002, BCC made right."""
    chars = _data(data)
    if chars is None or bytes(chars[1:6]) != b"0000(":
        return [(0, data)]
    return [(0, _message([STX] + list(b"0002(") + chars[6:]))]


def wrong_token_status(data):
    """TokenStatus 13 (CRC) reads 01 (Accept): a meter that says it took a bad token."""
    chars = _data(data)
    if chars is None or bytes(chars[1:9]) != b"0005(13)":
        return [(0, data)]
    return [(0, _message([STX] + list(b"0005(01)") + chars[9:]))]


# name -> (board flags, relay change or None, kit options, the clause it must fail in)
ZOO = {
    "tr 100 ms": (("--test-tr", "100"), None, ("--only", "signon,read"), "tr"),
    "ta 500 ms": (("--ta", "500"), None, ("--only", "signon,read,ta"), "ta"),
    "recovery 500 ms": (("--recovery", "500"), None, ("--only", "signon,read,nak"), "nak"),
    "another address": (
        ("--address", "123456"),
        None,
        ("--only", "signon,read", "--address", "600727000000000009"),
        "signon",
    ),
    "session timeout 500 ms": (("--session-timeout", "500"), None, ("--only", "signon,session,read,nak,ta"), "session"),
    "slow execution 3 s": (
        ("--app", "stub", "--exec-ms", "3000"),
        None,
        ("--only", "signon,execution,lockout", "--token-time", "2", "--leave-locked"),
        "execution",
    ),
    "late answers 1.7 s": ((), every(3, late), ("--only", "signon,read,errors"), "tr"),
    "answers twice": ((), twice, ("--only", "signon,read,errors"), "answers"),
    "dropped answers": ((), every(4, dropped), ("--only", "signon,read,errors"), "answers"),
    "BCC damaged": ((), bad_bcc, ("--only", "signon,read,errors"), "answers"),
    "parity damaged": ((), bad_parity, ("--only", "signon,read,errors"), "answers"),
    "another register": ((), other_register, ("--only", "signon,read,errors"), "answers"),
    "wrong tokenStatus": ((), wrong_token_status, ("--only", "signon,read,lockout", "--leave-locked"), "lockout"),
}


def run_kit(argv):
    """`vtc07 conform ARGV --json` in this process: (exit status, report dict or None)."""
    import json

    from vtc07 import cli

    lines = []
    status = cli.main(["conform"] + list(argv) + ["--json"], out=lines.append)
    return status, (json.loads("\n".join(lines)) if lines else None)


def judge_meter(name, micropython, state_dir, only=None):
    """Run the kit against one wrong meter: (expected clause, (exit status, report));
    `only`: the clauses to run instead of the zoo's own."""
    from unixboard import UnixBoard

    flags, change, options, clause = ZOO[name]
    if only:
        at = list(options).index("--only")
        options = list(options[:at]) + list(options[at + 2 :]) + ["--only", only]
    board = UnixBoard(micropython, state_dir, *flags).start()
    try:
        if change is None:
            return clause, run_kit(["--port", "socket://127.0.0.1:%d" % board.port] + list(options))
        with Relay(board.port, change) as relay:
            return clause, run_kit(["--port", "socket://127.0.0.1:%d" % relay.port] + list(options))
    finally:
        board.stop()


def judge_sim(name):
    """The same on virtual time (tools/harness/sim/simline.py): the unix board's meter built in
    this process with the wrong meter's flags, its answers changed as the relay would.
    (expected clause, (exit status, report))."""
    import simline

    flags, change, options, clause = ZOO[name]
    url = simline.attach(simline.build_meter(flags), to_hhu=change)
    try:
        return clause, run_kit(["--port", url] + list(options))
    finally:
        del simline.PORTS[url]


def failed_clauses(report):
    return sorted({c["clause"] for c in report["cases"] if c["status"] == "fail"})
