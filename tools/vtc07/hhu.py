"""The hand-held unit (HHU): a VTC07 client on the host, over pyserial.

`Hhu(url)` talks to a meter on a serial port (`/dev/ttyUSB0`), a pty, or the simulated
meter (`socket://127.0.0.1:7001`). The line carries 7E1 characters. With `parity="soft"`
(the default) the port runs 8N1 and the client makes and checks parity in bit 7, which
puts the same bits on the wire as a 7E1 UART and is what the unix board speaks; with
`parity="uart"` the port itself runs 7E1.

Client rules (profile sections 4-5): a response must start within tr max, or within the
recovery wait when the meter NAKs a transmission error (so 2 s in all), and no gap inside
it may pass ta. A garbled response is answered with NAK so the meter repeats it, at most
3 times; a NAK from the meter makes the client send its request again, at most 3 times.
Every failure is an `HhuError` whose text says what happened in plain words.
"""

from __future__ import annotations

import datetime
import time
from typing import Any, Callable, Iterable, Optional, Sequence, Union

import catalogue  # the companion registers' names and units (firmware/catalogue.py)
import serial
from formats import FMT_A, FMT_B, FMT_D, FMT_H, parse_number, valid_ascii
from frames import bcc
from registers import ACCESS, FORMAT, READ, WIDTH, WRITE
from tables import (
    ACK,
    CR,
    ETX,
    LF,
    NAK,
    RECOVERY_WAIT,
    REG_BINARY_TOKEN_ENTRY,
    REG_LOCKOUT_REMAINING,
    REG_TOKEN_STATUS,
    REPEATS_MAX,
    STX,
    TA,
    TOKEN_CLASS_NON_ENCRYPTED,
    TOKEN_DIGITS_HEX,
    TR_MAX,
    TS_NOT_READY,
)
from tokens import Token, digits_to_number

from . import tracefile

FIRST_CHAR_S = (max(TR_MAX, RECOVERY_WAIT) + 500) / 1000  # + the host's and line's latency
GAP_S = TA / 1000
TOKEN_WAIT_S = 15.0  # longest the client polls TokenStatus for a result
TOKEN_POLL_S = 0.25

ERRORS = {
    1: "unknown register",
    2: "register not writable",
    3: "register not readable",
    4: "value has the wrong length or characters",
    5: "value out of range",
    6: "meter busy with a token",
    7: "token entry locked out",
    8: "storage fault: the meter refuses tokens until an operator resets its storage",
}
TOKEN_STATUS = {
    0: "no token entered yet",
    1: "Accept: token accepted",
    2: "1stKCT: first half of a key change accepted; enter the other half",
    3: "2ndKCT: key change complete; the meter uses the new key",
    4: "Overflow: the credit register would overflow",
    5: "KeyType: the meter's key type does not allow this token",
    6: "Format: not a token",
    7: "Range: a value in the token is out of range",
    8: "Function: the meter does not support this token",
    9: "Old: the token is older than the meter's oldest remembered token",
    10: "Used: the token was entered before",
    11: "KeyExpired: the meter's key has expired for this token",
    12: "DDTK: credit tokens are not accepted under a default key",
    13: "CRC: wrong meter, wrong key or a mistyped token",
    14: "MfrCode: test token for another manufacturer",
    15: "Lockout: the last token came while token entry was locked out (whether it still is: "
    "TokenLockoutTimeRemaining)",
    16: "not ready: still being processed",
    17: "storage fault: the result could not be stored, the token was not applied",
}
# SwitchState and SwitchReason values (firmware/loadswitch.py)
SWITCH = ("closed", "closed, low credit", "open")
SWITCH_REASONS = ("", "low credit", "credit exhausted", "over MaximumPowerLimit", "phase unbalance", "relay fault")
STORAGE_FAULTS = (
    "ok",
    "a damaged copy of the record was recovered from the other",
    "a save failed: the stored state stands",
    "the record cannot be read: tokens refused",
    "no valid copy of the record: tokens refused",
    "a record of another format: tokens refused",
)
SERVER_STATUS_BITS = ("busy with a token", "token lockout active", "storage fault", "tamper", "credit exhausted")
KEY_TYPES = ("DITK (initialisation)", "DDTK (default)", "DUTK (unique)", "DCTK (common)")
ALGORITHMS = {7: "EA07 STA", 9: "EA09 DES", 11: "EA11 MISTY1"}
# registers whose D value is in tenths, and their unit; the others' units (the catalogue's)
TENTHS = {r[1]: r[4][4:] for r in catalogue.ROWS if r[4].startswith("0.1 ")}
UNITS = {r[1]: r[4] for r in catalogue.ROWS if r[4] and not r[4].startswith("0.")}
UNITS["TokenLockoutTimeRemaining"] = "s"
CREDITS = ("CreditElectricity", "CreditWater", "CreditGas", "CreditTime")


class HhuError(Exception):
    """A failure, worded for the person holding the HHU."""


class MeterRefused(HhuError):
    """The line worked and the meter said no (an error data message)."""


# The registers' names: IEC 62055-52 Table 15 for 0000-0006, the companion table's from
# firmware/catalogue.py. The meter speaks only IDs and keeps no names (each would be a
# string in its RAM); everything else about a register comes from the firmware.
NAMES = {
    0x0000: "ProtocolVersion",
    0x0001: "TableID",
    0x0002: "ServerStatus",
    0x0003: "SoftwareVersion",
    0x0004: "BinaryTokenEntry",
    0x0005: "TokenStatus",
    0x0006: "TokenLockoutTimeRemaining",
}
NAMES.update((r[0], r[1]) for r in catalogue.ROWS)


class Register:
    """A register as the HHU knows it: the firmware's row for it, and its name."""

    def __init__(self, table: Any, rid: int, name: str) -> None:
        at = table.find(rid)
        self.rid = rid
        self.name = name
        self.fmt = table.field(at, FORMAT)
        self.width = table.field(at, WIDTH)
        self.readable = bool(table.field(at, ACCESS) & READ)
        self.writable = bool(table.field(at, ACCESS) & WRITE)
        self._table = table
        self._at = at

    def value_length_ok(self, n: int) -> bool:
        return self._table.value_length_ok(self._at, n)


def _register_table() -> list[Register]:
    """The registers our firmware has, from the firmware itself (one source of truth)."""
    import sys

    import meter
    from storage import MemoryStore

    theirs = sys.modules.get("config")  # meter.check drops "config" after use (a board's RAM): not the program's
    table = meter.build({}, MemoryStore(), 0).registers
    if theirs is not None:
        sys.modules["config"] = theirs
    return [Register(table, rid, NAMES[rid]) for rid in table.ids()]


_TABLE: dict[str, Any] = {}  # built when first asked (a default meter is built to read it): importing hhu stays light


def registers() -> list[Register]:
    """Every register the firmware has, as `Register`s, in ID order."""
    if not _TABLE:
        regs = _register_table()
        _TABLE.update(REGISTERS=regs, BY_ID={r.rid: r for r in regs}, BY_NAME={r.name.lower(): r for r in regs})
    return _TABLE["REGISTERS"]


def by_id() -> dict[int, Register]:
    registers()
    return _TABLE["BY_ID"]


def by_name() -> dict[str, Register]:
    """The registers by lower-case name."""
    registers()
    return _TABLE["BY_NAME"]


def __getattr__(name: str) -> Any:  # hhu.REGISTERS, hhu.BY_ID, hhu.BY_NAME, as before, built when first used
    if name in ("REGISTERS", "BY_ID", "BY_NAME"):
        registers()
        return _TABLE[name]
    raise AttributeError("module %r has no attribute %r" % (__name__, name))


def lookup(name: str) -> Register:
    """A register by 4-hex-digit ID or by name (any case)."""
    reg = by_name().get(name.lower())
    if reg is None and len(name) == 4:
        try:
            reg = by_id().get(int(name, 16))
        except ValueError:
            pass
    if reg is None:
        raise ValueError("no register %r (give a 4-digit ID such as 8001 or a name such as CreditElectricity)" % name)
    return reg


def describe(reg: Register, value: str) -> str:
    """What a register's value means, in words and units ("" when the value says it all); a
    value that does not fit the register's format is said to be so (never an exception)."""
    try:
        return _describe(reg, value)
    except (ValueError, IndexError):
        return "not a value this register has: a garbled answer or a meter built wrong"


def _describe(reg: Register, value: str) -> str:
    name = reg.name
    if value.startswith("ERR"):
        return ERRORS.get(int(value[3:]), "unknown error")
    if name == "TokenStatus":
        return TOKEN_STATUS.get(int(value), "unknown")
    if name == "ServerStatus":
        int(value, 2)
        bits = [SERVER_STATUS_BITS[i] for i in range(len(SERVER_STATUS_BITS)) if value[-1 - i] == "1"]
        return ", ".join(bits) if bits else "ok"
    if name == "KeyType":
        return KEY_TYPES[int(value)] if int(value) < 4 else ""
    if name == "EncryptionAlgorithm":
        return ALGORITHMS.get(int(value), "")
    if name == "StorageFault":
        return STORAGE_FAULTS[int(value)] if int(value) < len(STORAGE_FAULTS) else ""
    if name == "SwitchState":
        return SWITCH[int(value)] if int(value) < len(SWITCH) else ""
    if name == "SwitchReason":
        return SWITCH_REASONS[int(value)] if int(value) < len(SWITCH_REASONS) else ""
    if name in TENTHS:
        return tenths(int(value), TENTHS[name])
    if name == "CreditCurrency":  # in 0.00001 units (sts-edition3.md section 4)
        return "%d.%05d" % divmod(int(value), 100000)
    if name in UNITS:
        return "%d %s" % (int(value), UNITS[name])
    return ""


NO_SWITCH = "closed: no load switch acts here (credit exhausted would open one)"


def no_switch(values: dict[str, str]) -> bool:
    """A meter without a load switch (the unix board without --load-w) says "credit
    exhausted" in ServerStatus while SwitchState reads 0 closed: True when the registers
    read so far (values by name) show exactly that."""
    status, state = values.get("ServerStatus", ""), values.get("SwitchState", "")
    return len(status) == 8 and status[-5] == "1" and state == "0"


def format_words(reg: Register) -> str:
    """What a register's values are, in words ("exactly 10 decimal digits")."""
    kind = {FMT_H: "hex digits", FMT_D: "decimal digits", FMT_B: "binary digits", FMT_A: "printable characters"}[
        reg.fmt
    ]
    return ("1 to %d %s" if reg.fmt == FMT_A else "exactly %d %s") % (reg.width, kind)


# what a token of each class may change, read before and after it (a class 2 token's
# subclass is encrypted: the HHU cannot tell which management register it sets)
CHANGES = {
    0: CREDITS + ("CreditCurrency",),
    2: CREDITS
    + (
        "CreditCurrency",
        "MaximumPowerLimit",
        "TariffRate",
        "MaximumPhasePowerUnbalanceLimit",
        "WaterMeterFactor",
        "TamperStatus",
        "KeyRevisionNumber",
        "KeyType",
        "SupplyGroupCode",
        "TariffIndex",
        "KeyExpiryNumber",
        "BaseDate",
        "EncryptionAlgorithm",
    ),
}


def change_words(name: str, before: str, after: str) -> str:
    """A register's change over a token, in words."""
    if name in TENTHS and before.isdigit() and after.isdigit():
        unit = TENTHS[name]
        delta = int(after) - int(before)
        return "%s: %s -> %s (%s%s)" % (
            name,
            tenths(int(before), unit),
            tenths(int(after), unit),
            "+" if delta >= 0 else "",
            tenths(delta, unit),
        )
    reg = by_name()[name.lower()]
    words = lambda v: (v + " " + describe(reg, v)).strip()  # noqa: E731
    return "%s: %s -> %s" % (name, words(before), words(after))


def tenths(n: int, unit: str) -> str:
    return "%s%d.%d %s" % ("-" if n < 0 else "", abs(n) // 10, abs(n) % 10, unit)


def token_number(text: str) -> int:
    """20 digits (dashes and spaces allowed) -> the 66-bit TokenData, or HhuError."""
    number = digits_to_number(text.encode())
    if number < 0:
        raise ValueError("a token is 20 digits (dashes and spaces allowed), not %r" % text)
    # the firmware's own TokenData checks the size, does the transposition and the CRC;
    # only a test token (class 1, not encrypted) can be checked without the meter's key
    token = Token()
    if not token.load(number):
        raise ValueError("%s is not a token: larger than 66 bits" % text)
    if token.token_class == TOKEN_CLASS_NON_ENCRYPTED and not token.crc_ok():
        raise ValueError("%s is a test token (class 1) with a wrong check (CRC): mistyped?" % text)
    return number


class Hhu:
    def __init__(
        self,
        url: Optional[str],
        baud: int = 2400,
        parity: str = "soft",
        address: str = "",
        trace: Optional[str] = None,
        port: Any = None,
        echo: bool = False,
        first_s: float = FIRST_CHAR_S,
        verbose: int = 0,
        log: Optional[Callable[[str], object]] = None,
    ) -> None:
        """`trace`: a file path; the session is recorded there in the trace format.
        `echo`: the adapter echoes every byte sent (half-duplex current loop, RS-485): the
        echo is read back after each send and must be what was sent. `first_s`: how long
        an answer may take to start. `verbose` 1: `log(text)` gets each message sent and
        received with a time stamp; 2: each character too."""
        self.soft = parity == "soft"
        self.address = address
        self.echo = echo
        self.first_s = first_s
        self.verbose = verbose if log else 0
        self._logline = log
        self._trace: Optional[list[str]] = [] if trace else None
        self._trace_path = trace
        if port is None:
            try:
                port = serial.serial_for_url(
                    url,
                    baudrate=baud,
                    timeout=0,
                    bytesize=serial.EIGHTBITS if self.soft else serial.SEVENBITS,
                    parity=serial.PARITY_NONE if self.soft else serial.PARITY_EVEN,
                )
            except (serial.SerialException, OSError, ValueError) as e:
                raise HhuError("cannot open %s: %s" % (url, _reason(e)))
            except Exception as e:  # termios.error: a pty cannot be set to 7E1
                if type(e).__name__ != "error":
                    raise
                raise HhuError(
                    "cannot set %s to %s: %s (a pty or the simulated meter needs --parity soft)"
                    % (url, "7E1" if not self.soft else "8N1", e.args[-1])
                )
        self.port = port
        # the clock: the host's, or the port's own where it keeps one (the line simulator,
        # tools/harness/sim/simline.py: its time is virtual, so the HHU's waits are too)
        self.clock: Any = port if hasattr(port, "monotonic") else time
        self._t0 = self.clock.monotonic()
        self.repeats = 0  # NAKs sent or requests sent again, over the session
        # the clock's time when the last send had left the port, and when the first byte of
        # the last answer arrived (None: silent): the conformance kit measures tr with them
        self.sent_at: Optional[float] = None
        self.first_at: Optional[float] = None
        self._sent: list[int] = []  # the characters of the last send: an answer that is them is an echo
        # --parity uart: received bytes with bit 7 set, and those of them whose bit 7 is the
        # even parity of the other seven (an adapter passing the parity bit through)
        self.bit7 = self.bit7_parity = 0
        self._notes: list[str] = []
        self._noted: set[str] = set()

    # --- the line -------------------------------------------------------------------

    def close(self) -> None:
        try:
            self.port.close()
        finally:
            if self._trace is not None:
                with open(self._trace_path, "w") as f:  # type: ignore[arg-type]  # set whenever _trace is
                    f.write("# recorded by the HHU (vtc07 --trace)\n")
                    f.write("\n".join(self._trace) + "\n")

    def __enter__(self) -> Hhu:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _ms(self) -> int:
        return int((self.clock.monotonic() - self._t0) * 1000)

    def _log(self, kind: str, ms: int, chars: list[int]) -> None:
        if self._trace is not None and chars:
            self._trace.append("%s %d %s" % (kind, ms, tracefile.escape(chars)))
        if self.verbose and chars:
            self._wire(kind, tracefile.escape(chars))

    def _wire(self, kind: str, text: str) -> None:
        stamp = datetime.datetime.now().strftime("%H:%M:%S.%f")[:-3]
        self._logline("%s %s %s" % (stamp, kind, text))  # type: ignore[misc]  # verbose is 0 without a log

    def _note(self, key: str, text: str) -> None:
        if key not in self._noted:
            self._noted.add(key)
            self._notes.append(text)

    def take_notes(self) -> list[str]:
        """What the HHU noticed about the line since last asked (a leaking parity bit)."""
        notes, self._notes = self._notes, []
        return notes

    def send(self, body: Union[bytes, Iterable[int]]) -> None:
        """Send characters (7-bit ints or bytes) as they are."""
        chars = list(body)
        self._log(">", self._ms(), chars)
        data = tracefile.to_line(chars, self.soft)
        if self.verbose > 1:
            for b, c in zip(data, chars):
                self._wire(">", "%02X %s" % (b, tracefile.escape([c])))
        try:
            self.port.write(data)
            self.port.flush()
        except (serial.SerialException, OSError) as e:
            raise HhuError("the line failed while sending: %s" % _reason(e))
        self.sent_at = self.clock.monotonic()
        self._sent = [c & 0x7F for c in chars]
        if self.echo:
            self._take_echo(data)

    def _take_echo(self, data: bytes) -> None:
        """Read back the echo of `data` and check it (--echo)."""
        echo = bytearray()
        deadline = self.clock.monotonic() + self.first_s
        while len(echo) < len(data):
            now = self.clock.monotonic()
            if now >= deadline:
                break
            try:
                self.port.timeout = deadline - now
                got = self.port.read(len(data) - len(echo))
            except (serial.SerialException, OSError) as e:
                raise HhuError("the line failed while reading the echo: %s" % _reason(e))
            if not got:
                break
            if self.verbose > 1:
                for b in got:
                    self._wire("=", "%02X echo" % b)
            echo += got
            deadline = self.clock.monotonic() + GAP_S
        mask = 0xFF if self.soft else 0x7F
        if not echo:
            raise HhuError(
                "no echo came back within %.1f s of what was sent: this adapter does not echo; "
                "leave out --echo" % self.first_s
            )
        if bytes(b & mask for b in echo) != bytes(b & mask for b in data):
            raise HhuError(
                "the echo differs from what was sent (sent %s, echoed %s): a collision on the line, "
                "or an adapter that does not echo (leave out --echo)" % (data.hex(" "), echo.hex(" "))
            )

    def receive(self, complete: Callable[[list[int]], bool], first_s: Optional[float] = None) -> Optional[list[int]]:
        """One answer as it comes, without repeats: its characters (RAW-flagged where the
        parity is wrong) until `complete(chars)`, or None if nothing starts within `first_s`."""
        return self._receive(complete, first_s)

    def _decode(self, data: bytes) -> list[int]:
        if self.soft:
            return tracefile.from_line(data, True)
        # a 7E1 port: its data is 7 bits; bit 7 is what some adapters leak (the parity bit:
        # CH340 in 7E1) or noise, and is not the character's
        out = []
        for b in data:
            if b & 0x80:
                self.bit7 += 1
                if tracefile.to_line([b & 0x7F], True)[0] == b:
                    self.bit7_parity += 1
            out.append(b & 0x7F)
        if self.bit7:
            if self.bit7 == self.bit7_parity:
                self._note(
                    "leak",
                    "the adapter passes the parity bit through as bit 7 (as a CH340 does in 7E1): "
                    "what comes back is taken as 7-bit data",
                )
            else:
                self._note(
                    "bit7",
                    "bit 7 was set on %d received characters that are not a leaked parity bit: "
                    "taken as 7-bit data" % self.bit7,
                )
        return out

    def _receive(self, complete: Callable[[list[int]], bool], first_s: Optional[float] = None) -> Optional[list[int]]:
        """Characters until `complete(chars)` says the message is whole. Returns (chars,
        clean): clean is False if a character had a parity error. None if silent."""
        chars: list[int] = []
        start_ms: Optional[int] = None
        self.first_at = None
        deadline = self.clock.monotonic() + (self.first_s if first_s is None else first_s)
        while True:
            now = self.clock.monotonic()
            if now >= deadline:
                break
            try:
                self.port.timeout = deadline - now
                data = self.port.read(1)
            except (serial.SerialException, OSError) as e:
                raise HhuError("the line failed while receiving: %s" % _reason(e))
            if not data:
                break
            if start_ms is None:
                start_ms = self._ms()
                self.first_at = self.clock.monotonic()
            got = self._decode(data)
            if self.verbose > 1:
                self._wire("<", "%02X %s" % (data[0], tracefile.escape(got)))
            chars.extend(got)
            if complete(chars):
                break
            deadline = self.clock.monotonic() + GAP_S
        self._log("<", start_ms or self._ms(), chars)
        return chars if chars else None

    def _not_an_echo(self, chars: list[int]) -> None:
        if not self.echo and chars == self._sent:
            raise HhuError(
                "what came back is what the HHU sent: the line echoes (a half-duplex current-loop "
                "or RS-485 adapter?); give --echo"
            )

    # --- messages -------------------------------------------------------------------

    def sign_on(self) -> str:
        """IDRequest; returns the IDResponse text (without CR LF)."""
        request = "/?%s!\r\n" % self.address
        for _ in range(REPEATS_MAX + 1):
            self.send(request.encode())
            chars = self._receive(id_response_complete)
            if chars is None:
                raise HhuError(
                    "the meter is silent: no answer to the sign-on within %.1f s "
                    "(wrong address, wrong port or speed, or not connected?)" % self.first_s
                )
            self._not_an_echo(chars)
            if _clean(chars) and chars[0] == ord("/") and chars[-2:] == [CR, LF] and len(chars) >= 8:
                return bytes(chars[:-2]).decode()
            self.repeats += 1  # garbled: sign on again (an IDResponse is not repeated on NAK)
        raise HhuError(
            "the meter's identification came garbled %d times: %s" % (REPEATS_MAX + 1, tracefile.escape(chars))  # type: ignore[arg-type]  # None raised above
        )

    def brk(self) -> None:
        self.send(tracefile.command(b"B0"))

    def _exchange(self, request: bytes) -> list[int]:
        """Send a command, return the response chars: ACK, or STX ... ETX BCC checked."""
        self.send(request)
        naks_sent = 0
        naks_received = 0
        while True:
            chars = self._receive(message_complete)
            if chars is None:
                raise HhuError(
                    "the meter is silent: no answer within %.1f s (session ended? sign on again)" % self.first_s
                )
            self._not_an_echo(chars)
            if chars == [ACK]:
                return chars
            if chars == [NAK]:
                naks_received += 1
                if naks_received >= REPEATS_MAX:  # the meter has gone Idle (profile section 4)
                    raise HhuError(
                        "the meter answered NAK %d times and ended the session: it "
                        "cannot read our messages (line noise, wrong speed?)" % naks_received
                    )
                self.repeats += 1
                self.send(request)
                continue
            if _clean(chars) and _bcc_ok(chars):
                return chars
            naks_sent += 1
            if naks_sent > REPEATS_MAX:
                raise HhuError(
                    "the meter's answer came garbled %d times (parity or BCC "
                    "wrong): %s" % (naks_sent, tracefile.escape(chars))
                )
            self.repeats += 1
            self.send(bytes([NAK]))

    def read(self, reg: Register) -> str:
        """The register's value as text ("ERRnn" for an error data message)."""
        chars = self._exchange(tracefile.read_request(reg.rid))
        return self._value(chars, reg)

    def write(self, reg: Register, value: Union[str, bytes]) -> Optional[str]:
        """None when the meter ACKs, else the "ERRnn" it answered."""
        chars = self._exchange(tracefile.write_request(reg.rid, value))
        if chars == [ACK]:
            return None
        return self._value(chars, reg)

    def _value(self, chars: list[int], reg: Register) -> str:
        text = bytes(chars[1:-2]).decode("ascii", "replace")  # rid(value)
        expected = "%04X(" % reg.rid
        if chars == [ACK] or not text.startswith(expected) or not text.endswith(")"):
            raise HhuError("the meter's answer is not for register %04X: %s" % (reg.rid, tracefile.escape(chars)))
        return text[len(expected) : -1]

    # --- token entry ----------------------------------------------------------------

    def enter_token(
        self, number: int, registers: Sequence[str] = CREDITS, progress: Optional[Callable[[float], object]] = None
    ) -> tuple[int, dict[str, str], dict[str, str]]:
        """Write the token and wait for its result: (tokenStatus, values before, after);
        the values are {name: value text} of those of `registers` (names) the meter has.
        `progress(seconds)` is called while the meter is busy with the token."""
        names, ids = by_name(), by_id()
        credits = [names[n.lower()] for n in registers if n.lower() in names]
        before = {r.name: self.read(r) for r in credits}
        answer = self.write(ids[REG_BINARY_TOKEN_ENTRY], "%0*X" % (TOKEN_DIGITS_HEX, number))
        if answer == "ERR07":
            left = self.read(ids[REG_LOCKOUT_REMAINING])
            raise MeterRefused(
                "token entry is locked out for another %s s after rejected tokens (ERR07)"
                % (int(left) if left.isdigit() else left)
            )
        if answer is not None:
            raise MeterRefused(
                "the meter refused the token entry: %s %s" % (answer, describe(ids[REG_BINARY_TOKEN_ENTRY], answer))
            )
        deadline = self.clock.monotonic() + TOKEN_WAIT_S
        status_reg = ids[REG_TOKEN_STATUS]
        while True:
            self.clock.sleep(TOKEN_POLL_S)
            value = self.read(status_reg)
            if value.startswith("ERR"):
                raise MeterRefused(
                    "the meter took the token but refused to read TokenStatus: %s %s"
                    % (value, describe(status_reg, value))
                )
            if not value.isdigit():
                raise HhuError("the meter's TokenStatus %r is not a number" % value)
            status = int(value)
            if status != TS_NOT_READY:
                break
            if progress:
                progress(TOKEN_WAIT_S - (deadline - self.clock.monotonic()))
            if self.clock.monotonic() > deadline:
                raise HhuError("the meter took more than %d s over the token" % TOKEN_WAIT_S)
        after = {r.name: self.read(r) for r in credits}
        return status, before, after


def _reason(e: BaseException) -> str:
    text = str(e)
    if "Connection refused" in text or "Errno 111" in text:
        return "connection refused (is the meter running on that port?)"
    if "No such file" in text:
        return "no such port"
    return text


def id_response_complete(chars: Sequence[int]) -> bool:
    """An IDResponse is whole at its LF (7-bit characters: a list or bytes)."""
    return len(chars) > 0 and chars[-1] == LF


def message_complete(chars: Sequence[int]) -> bool:
    """An ACK, a NAK, or a message whole at its BCC (7-bit characters: a list or bytes)."""
    if not chars:
        return False
    return chars[0] in (ACK, NAK) or (len(chars) >= 2 and chars[-2] == ETX)


def _clean(chars: list[int]) -> bool:
    for c in chars:
        if c & tracefile.RAW:
            return False
    return True


def _bcc_ok(chars: list[int]) -> bool:
    if chars[0] != STX or len(chars) < 3 or chars[-2] != ETX:
        return False
    return bcc(chars, 1, len(chars) - 1) == chars[-1]


def value_ok(reg: Register, value: str) -> bool:
    """A value the register's format and width accept (checked before it is sent), by the
    firmware's own format checks."""
    data = value.encode("latin-1", "replace")
    if not reg.value_length_ok(len(data)):
        return False
    if reg.fmt == FMT_A:
        return valid_ascii(data, 0, len(data))
    return parse_number(data, 0, len(data), reg.fmt) >= 0
