"""The VTC07 server (IEC 62055-52 clause 6.6, Annex A) as pure logic.

No I/O and no clock of its own. The board feeds it what the UART received with
`receive(data, now)` and asks `poll(now)` for what to send; `next_event(now)` says how many
ms may pass before `poll` has something to do (-1: nothing until more bytes arrive).
`now` is a `time.ticks_ms()` value, so everything is wrap-around safe.

The line machine (Annex A, profile section 4) is one state, `state`, and one table,
`TRANSITIONS`: rows of (state, event, next state, action). Every event, from the bytes
received (a sign-on, a command, a transmission error) or from the timers (the recovery wait
over, the session timeout, the third NAK in a row), goes through `_fire`; a (state, event)
with no row is ignored. docs/architecture.md draws the table (tools/harness/build/state_diagram.py).
Recovering is Session after a transmission error, waiting for `recovery` ms of line silence
before its NAK. Timing: a response goes out `tr` ms after the request's last character; a
message with a gap over `ta` is dropped silently.

The response waiting for its time (`_pending`, `_due`, the last one kept for repeats) is the
transmitter's, beside the line machine; the NAK count and repeat count are the machine's
counters.
"""

from formats import FMT_A, FMT_B, FMT_D, FMT_H, digit_value, parse_number, put_number, valid_ascii
from frames import (
    EV_ACK,
    EV_COMMAND,
    EV_ERROR,
    EV_ID,
    EV_NAK,
    EVEN,
    Receiver,
    put_bytes,
    put_data_tail,
    put_id_response,
    with_parity,
)
from micropython import const
from registers import ACCESS, FORMAT, READ, WIDTH, WRITE, RegisterTable
from tables import (
    ACK,
    BAUD_CHARS,
    BAUD_DEFAULT,
    CLOSE,
    CMD_BREAK,
    CMD_READ,
    CMD_TYPE_BREAK,
    CMD_TYPE_DATA,
    CMD_WRITE,
    ERR_NOT_READABLE,
    ERR_NOT_WRITABLE,
    ERR_UNKNOWN_REGISTER,
    ERR_VALUE_FORMAT,
    ERR_VALUE_RANGE,
    IDENT_MAX,
    LOCKOUT_REMAINING_DIGITS,
    NAK,
    NAKS_MAX,
    OPEN,
    PROTOCOL_VERSION,
    RECOVERY_WAIT,
    REG_BINARY_TOKEN_ENTRY,
    REG_LOCKOUT_REMAINING,
    REG_PROTOCOL_VERSION,
    REG_SERVER_STATUS,
    REG_SOFTWARE_VERSION,
    REG_TABLE_ID,
    REG_TOKEN_STATUS,
    REPEATS_MAX,
    SESSION_TIMEOUT,
    STATUS_BUSY,
    STATUS_LOCKOUT,
    STX,
    TA,
    TOKEN_BITS,
    TOKEN_DIGITS_HEX,
    TR_MIN,
    TX_MAX,
    VALUE_MAX,
)
from ticks import ticks_add, ticks_diff

_ERR = b"ERR"
# SoftwareVersion (0003): this firmware's version, the one version of the project: the
# host package (tools/vtc07) and the mip package files (tools/harness/build/mip_package.py) read
# it from here, so the meter reports the version mip installed (two recorded traces read
# it too: a new version changes their SoftwareVersion answer and its BCC)
VERSION = b"0.2.0"
# The predefined registers (clause 6.8.2; IDs below 0x100, so the high byte is 0), as
# registers.py's rows: ID, format, width, access
_PREDEFINED = bytes(
    (
        0,
        REG_PROTOCOL_VERSION,
        FMT_H,
        2,
        READ,
        0,
        REG_TABLE_ID,
        FMT_H,
        4,
        READ,
        0,
        REG_SERVER_STATUS,
        FMT_B,
        8,
        READ,
        0,
        REG_SOFTWARE_VERSION,
        FMT_A,
        16,
        READ,
        0,
        REG_BINARY_TOKEN_ENTRY,
        FMT_H,
        TOKEN_DIGITS_HEX,
        WRITE,
        0,
        REG_TOKEN_STATUS,
        FMT_D,
        2,
        READ,
        0,
        REG_LOCKOUT_REMAINING,
        FMT_D,
        LOCKOUT_REMAINING_DIGITS,
        READ,
    )
)


# _take_digits' buffer: what it holds is taken before the call that filled it returns (the
# token's bits, at submit), so one serves every server. Not an attribute: one more in the
# server's dict made every attribute lookup slower.
_WIDE = bytearray(TOKEN_DIGITS_HEX)

# The line machine's states (Annex A): Recovering is Session waiting for line silence
IDLE = const(0)
SESSION = const(1)
RECOVERING = const(2)
# Its events: a complete message as classified (a sign-on for this meter or another, a
# ReadCommand, a WriteCommand, a BreakCommand, anything else complete: undefined command or
# bad syntax; the client's NAK or ACK), a transmission error, and the timers and counters
E_SIGN_ON = const(1)
E_SIGN_ON_OTHER = const(2)
E_READ = const(3)
E_WRITE = const(4)
E_BREAK = const(5)
E_BAD = const(6)
E_NAK = const(7)
E_ACK = const(8)
E_ERROR = const(9)  # parity, BCC, overflow, a control character (frames.EV_ERROR)
E_QUIET = const(10)  # the line was quiet for `recovery` ms after a transmission error
E_THIRD_NAK = const(11)  # the NAKS_MAX-th NAK in a row was sent (it still goes out)
E_TIMEOUT = const(12)  # no complete message for `session_timeout` ms
E_REPLACED = const(13)  # another HHU on the line (the board's connection was replaced)
# Its actions
A_NONE = const(0)
A_IDENT = const(1)  # IDResponse after tr; the NAK count starts again
A_READ = const(2)  # data message or error data message after tr
A_WRITE = const(3)  # ACK or error data message after tr
A_NAK = const(4)  # NAK after tr (at once after the recovery wait); the third ends the session
A_REPEAT = const(5)  # the last response again, at most REPEATS_MAX times
A_FORGET = const(6)  # nothing of the conversation carries over: no response, no count
# (state, event, next state, action), 4 bytes a row; a (state, event) not here is ignored
TRANSITIONS = bytes(
    (
        IDLE,
        E_SIGN_ON,
        SESSION,
        A_IDENT,
        IDLE,
        E_REPLACED,
        IDLE,
        A_FORGET,
        SESSION,
        E_SIGN_ON,
        SESSION,
        A_IDENT,
        SESSION,
        E_SIGN_ON_OTHER,
        IDLE,
        A_NONE,  # a sign-on for another meter ends ours
        SESSION,
        E_READ,
        SESSION,
        A_READ,
        SESSION,
        E_WRITE,
        SESSION,
        A_WRITE,
        SESSION,
        E_BREAK,
        IDLE,
        A_FORGET,
        SESSION,
        E_BAD,
        SESSION,
        A_NAK,
        SESSION,
        E_NAK,
        SESSION,
        A_REPEAT,
        SESSION,
        E_ACK,
        SESSION,
        A_NONE,  # the server never waits for one
        SESSION,
        E_ERROR,
        RECOVERING,
        A_NONE,
        SESSION,
        E_THIRD_NAK,
        IDLE,
        A_NONE,
        SESSION,
        E_TIMEOUT,
        IDLE,
        A_FORGET,
        SESSION,
        E_REPLACED,
        IDLE,
        A_FORGET,
        RECOVERING,
        E_QUIET,
        SESSION,
        A_NAK,
        RECOVERING,
        E_TIMEOUT,
        IDLE,
        A_FORGET,
        RECOVERING,
        E_REPLACED,
        IDLE,
        A_FORGET,
    )
)


def baud_char(baud):
    for rate, char in BAUD_CHARS:
        if rate == baud:
            return char
    raise ValueError("unsupported baud rate %d" % baud)


class Server:
    def __init__(
        self,
        app,
        now,
        manufacturer=b"STS",
        ident=b"MPY-VTC07",
        address=b"",
        version=VERSION,
        baud=BAUD_DEFAULT,
        soft_parity=True,
        tr=TR_MIN,
        ta=TA,
        recovery=RECOVERY_WAIT,
        session_timeout=SESSION_TIMEOUT,
    ):
        if len(manufacturer) != 3 or not 1 <= len(ident) <= IDENT_MAX or len(version) > IDENT_MAX:
            raise ValueError("manufacturer id is 3 letters, ident and version 1..16 characters")
        self.app = app
        self.manufacturer = manufacturer
        self.ident = ident
        self.address = address
        self.version = version
        self.baud_char = baud_char(baud)
        self.soft_parity = soft_parity
        self.tr = tr
        self.ta = ta
        self.recovery = recovery
        self.session_timeout = session_timeout

        self._rx = Receiver()
        # the answer's buffer, written through a view of it: poll's slices of a view are
        # one object, and the server keeps no second name for the same bytes (its dict at
        # 23 entries takes 23 slots, at 24 it took 29: 48 bytes on a 32-bit port)
        self._tx = memoryview(bytearray(TX_MAX))
        self._tx_len = 0  # length of the last response, kept for repeats
        self._pending = False  # the response in _tx waits for _due
        self._due = now
        self._last_rx = now
        self._last_msg = now
        self._now = now
        self.state = IDLE
        self._repeats = 0
        self._naks = 0

        self.registers = RegisterTable()
        self.registers.add(_PREDEFINED, self)
        app.add_registers(self.registers)

    def read_register(self, rid):
        """The value of predefined register `rid` (registers.py: the block's owner)."""
        if rid == REG_PROTOCOL_VERSION:
            return PROTOCOL_VERSION
        if rid == REG_TABLE_ID:
            return self.app.table_id
        if rid == REG_SERVER_STATUS:
            return self.server_status()
        if rid == REG_SOFTWARE_VERSION:
            return self.version
        if rid == REG_TOKEN_STATUS:
            return self.app.token_status
        return self.app.lockout.remaining_s(self._now)  # REG_LOCKOUT_REMAINING

    def write_register(self, rid, token):
        """BinaryTokenEntry, the one writable register: ACK means "taken for processing"
        (6.7.3); whether the application takes it (busy, storage, lockout) is its own.
        `token`: its 17 hex digits' values (_take_value): no long int."""
        if token[0] >> (TOKEN_BITS - 64):  # the top digit holds TokenData's 2 top bits
            return ERR_VALUE_RANGE
        return self.app.enter(token, self._now)

    def server_status(self):
        app = self.app
        bits = app.status_bits()
        if app.busy:
            bits |= STATUS_BUSY
        if app.lockout.locked(self._now):
            bits |= STATUS_LOCKOUT
        return bits

    # --- input -------------------------------------------------------------------------

    def receive(self, data, now, n=-1):
        """Take the characters the UART received at `now` (bytes-like, any chunking): the
        first `n` of `data`, or all of it.

        Work that is due runs first (a token held back behind its ACK, a lock that ran
        out, the session timeout), so a request the loop takes at once after an answer
        can never overtake it, however the loop is written."""
        if not self._pending:
            self._due_work(now)
        for i in range(len(data) if n < 0 else n):  # range allocates no iterator object on MicroPython
            self._char(data[i], now)

    def _char(self, b, now):
        rx = self._rx
        if self.state == RECOVERING:  # everything is discarded until the line has been quiet
            self._last_rx = now
            return
        if rx.state and ticks_diff(now, self._last_rx) > self.ta:  # a message partly received
            rx.reset()  # ta exceeded: the partial message is dropped without an answer
        self._last_rx = now
        if self.soft_parity:
            ok = EVEN[b >> 3] >> (b & 7) & 1  # frames.parity_ok, without the call
        else:  # the UART checked parity; a set 8th bit cannot be a 7-bit character
            ok = b < 0x80
        ev = rx.feed(b & 0x7F) if ok else EV_ERROR
        if ev:
            self._event(ev, now)

    def _event(self, ev, now):
        """A complete message (or a transmission error) from the Receiver, as an event."""
        if ev == EV_ERROR:
            self._rx.reset()
            return self._fire(E_ERROR, now)
        if self.state == SESSION:
            self._last_msg = now  # a complete message: the session timeout starts again
        if ev == EV_COMMAND:
            ev = self._command()
        elif ev == EV_ID:  # / ? address ! CR LF; no address: any meter
            n = self._rx.n - 5
            ev = E_SIGN_ON if n == 0 or self._address_matches(self._rx.buf, n) else E_SIGN_ON_OTHER
        elif ev == EV_NAK:
            ev = E_NAK
        elif ev == EV_ACK:
            ev = E_ACK
        else:  # EV_SYNTAX: a malformed IDRequest
            ev = E_BAD
        self._fire(ev, now)

    def _fire(self, event, now):
        """The one way the line machine moves: find the row for (state, event), take its
        next state, run its action. No row: the event is ignored."""
        i = _row(self.state, event)
        if i >= 0:
            self.state = TRANSITIONS[i + 2]
            self._act(TRANSITIONS[i + 3], now)

    def _act(self, action, now):
        """A row's action (few locals in each of these: no heap frame per message)."""
        if action == A_IDENT:
            self._ident(now)
        elif action == A_READ:
            self._naks = 0
            action = parse_number(self._rx.buf, 4, 8, FMT_H)
            self._read(action, now)
        elif action == A_WRITE:
            self._naks = 0
            action = parse_number(self._rx.buf, 4, 8, FMT_H)
            self._write(action, self._rx.n - 2, now)
        elif action == A_NAK:
            self._tx[0] = NAK
            self._respond(1, now)
            self._naks += 1
            if self._naks >= NAKS_MAX:  # the NAK still goes out, then the session ends
                self._fire(E_THIRD_NAK, now)
        elif action == A_REPEAT:
            if self._tx_len and self._repeats < REPEATS_MAX:
                self._repeats += 1
                self._pending = True
                self._due = ticks_add(now, self.tr)
        elif action == A_FORGET:
            self._pending = False
            self._tx_len = 0
            self._naks = 0

    def _ident(self, now):
        self._last_msg = now
        self._naks = 0
        n = put_id_response(self._tx, self.manufacturer, self.baud_char, self.ident)
        self._respond(n, now)

    def _command(self):
        """A SOH message with a good BCC, classified: E_READ, E_WRITE, E_BREAK or E_BAD
        (undefined command or bad syntax, 6.6.6)."""
        buf = self._rx.buf
        n = self._rx.n  # buf[0] SOH ... buf[n - 1] ETX
        if n == 4 and buf[1] == CMD_BREAK and buf[2] == CMD_TYPE_BREAK:
            return E_BREAK
        if (
            n >= 11
            and buf[2] == CMD_TYPE_DATA
            and buf[3] == STX
            and buf[8] == OPEN
            and buf[n - 2] == CLOSE
            and n - 11 <= VALUE_MAX
            and parse_number(buf, 4, 8, FMT_H) >= 0
        ):
            if buf[1] == CMD_READ and n == 11:
                return E_READ
            if buf[1] == CMD_WRITE:
                return E_WRITE
        return E_BAD

    def _address_matches(self, buf, n):
        address = self.address
        if n != len(address):
            return False
        for i in range(n):
            if buf[2 + i] != address[i]:
                return False
        return True

    def _read(self, rid, now):
        regs = self.registers
        at = regs.find(rid)
        if at < 0:
            return self._error(rid, ERR_UNKNOWN_REGISTER, now)
        if not regs.field(at, ACCESS) & READ:
            return self._error(rid, ERR_NOT_READABLE, now)
        self._now = now
        self._head(rid)
        at = self._put_value(regs.owner(at).read_register(rid), at)
        if at < 0:  # the application holds a value its register cannot show
            return self._error(rid, ERR_VALUE_RANGE, now)
        self._respond(put_data_tail(self._tx, at), now)

    def _put_value(self, value, at):
        """Put register `at`'s value in the response after its head (_head: 6 characters);
        the end, or -1. A number may come as its digits (bytes of the register's width:
        MeterNumber, which would be a long int on a 32-bit port). Five locals: a call's
        frame of up to 11 words stays off the heap (py/objfun.c, VM_MAX_STATE_ON_STACK)."""
        width = self.registers.field(at, WIDTH)
        if type(value) is not int:
            return put_bytes(self._tx, 6, value) if len(value) <= width else -1
        fmt = self.registers.field(at, FORMAT)
        return put_number(self._tx, 6, fmt, width, value)

    def _write(self, rid, end, now):
        """WriteCommand: the value is buf[9:end] (few locals: a frame off the heap)."""
        at = self.registers.find(rid)
        value = self._take_value(at, 9, end)
        if type(value) is int and value < 0:
            return self._error(rid, -value, now)
        self._now = now
        value = self.registers.owner(at).write_register(rid, value)  # 0 or an ERR_* code
        if value:
            return self._error(rid, value, now)
        self._tx[0] = ACK
        self._respond(1, now)

    def _take_value(self, at, start, end):
        """The value written to register `at` (-1: none), the message's buf[start:end], or
        -ERR_* when it cannot take it: an int; bytes for A; for H wider than a 32-bit
        port's small int (BinaryTokenEntry) the digits' values in `_wide`, most
        significant first, so that no long int is made."""
        if at < 0:
            return -ERR_UNKNOWN_REGISTER
        if not self.registers.field(at, ACCESS) & WRITE:
            return -ERR_NOT_WRITABLE
        if not self.registers.value_length_ok(at, end - start):
            return -ERR_VALUE_FORMAT
        fmt = self.registers.field(at, FORMAT)
        if fmt == FMT_A:
            if not valid_ascii(self._rx.buf, start, end):
                return -ERR_VALUE_FORMAT
            return bytes(self._rx.buf[start:end])
        if fmt == FMT_H and end - start == TOKEN_DIGITS_HEX:
            return self._take_digits(start, end)
        fmt = parse_number(self._rx.buf, start, end, fmt)
        return fmt if fmt >= 0 else -ERR_VALUE_FORMAT

    def _take_digits(self, start, end):
        buf = self._rx.buf
        wide = _WIDE
        i = 0
        while start < end:
            d = digit_value(buf[start], 16)
            if d < 0:
                return -ERR_VALUE_FORMAT
            wide[i] = d
            i += 1
            start += 1
        return wide

    # --- output ------------------------------------------------------------------------

    def _head(self, rid):
        """STX registerID ( : the value goes at the returned position."""
        tx = self._tx
        tx[0] = STX
        put_number(tx, 1, FMT_H, 4, rid)
        tx[5] = OPEN
        return 6

    def _error(self, rid, code, now):
        tx = self._tx
        pos = put_bytes(tx, self._head(rid), _ERR)
        self._respond(put_data_tail(tx, put_number(tx, pos, FMT_D, 2, code)), now)

    def _respond(self, n, now):
        self._tx_len = n
        self._repeats = 0
        self._pending = True
        self._due = ticks_add(now, self.tr)

    def line_replaced(self):
        """Another HHU is on the line (the board's connection was replaced): nothing of the
        old conversation carries over: no partial message, session, response or recovery
        wait. A token already taken for processing still completes."""
        self._rx.reset()
        self._fire(E_REPLACED, self._now)

    def poll(self, now):
        """Run the timers; return the bytes to send now (a memoryview) or None."""
        n = self.poll_len(now)
        return self._tx[:n] if n else None

    def tx_buffer(self):
        """The buffer `poll_len` counts in. (A method, not a property: a property on the
        class makes every attribute store on its objects take a slower path.)"""
        return self._tx

    def poll_len(self, now):
        """`poll` that makes no object: how many bytes of `tx_buffer()` to send now (0:
        none), for a board loop that writes them with `uart.write(buffer, n)`."""
        self._now = now
        if self._pending:
            if ticks_diff(now, self._due) < 0:
                return 0
            self._pending = False
            return self._out()
        if self.state == RECOVERING and ticks_diff(now, self._last_rx) >= self.recovery:
            self._fire(E_QUIET, now)
            self._pending = False  # the NAK goes out at once: the wait was longer than tr
            return self._out()
        self._due_work(now)
        return 0

    def _due_work(self, now):
        if self.state != IDLE and ticks_diff(now, self._last_msg) >= self.session_timeout:
            self._fire(E_TIMEOUT, now)
        self.app.poll(now)  # a token, a lock that ran out, the application's own timers

    def _out(self):
        n = self._tx_len
        tx = self._tx
        if self.soft_parity:
            for i in range(n):
                tx[i] = with_parity(tx[i])
        return n

    def next_event(self, now):
        """ms until `poll` has work, 0 if it has now, -1 if only new input can bring any."""
        if self._pending:
            return max(0, ticks_diff(self._due, now))
        wait = -1
        if self.state == RECOVERING:
            wait = max(0, ticks_diff(ticks_add(self._last_rx, self.recovery), now))
        if self.state != IDLE:
            left = ticks_diff(ticks_add(self._last_msg, self.session_timeout), now)
            wait = _sooner(wait, max(0, left))
        return _sooner(wait, self.app.next_event(now))


class Loop:
    """The one loop that drives the core, wherever it runs (boards/common/link.py for a
    UART, the unix board's socket, the tests' lines, the simulator): each pass sends what
    is due, takes what `line` holds into `buf` and gives it to the core, and says how many
    ms may pass before the next pass (-1: only input); `run` sleeps in `line.wait(ms)`
    between passes. `line` has a UART's `any`, `readinto`, `write(buf, n)` and a `wait`;
    `ticks()` gives ticks_ms; input is stamped `offset` ms after it (1 for ticks_ms, which
    truncates: the bytes came in somewhere inside this tick, so a minimum gap such as tr is
    never short; 0 for an exact clock). `other.feed(now)` (metrology, a simulated load) runs
    every pass and says when it wants the next, -1 never.
    Nothing is allocated per pass, and no call gets a heap frame: what the loop needs is
    held here once, so each method has few locals (a frame over 11 words comes from the
    heap, py/objfun.c). Its names are ones the firmware interns anyway: on a 32-bit port
    one new name can cost a new qstr pool, 2.3 KB."""

    def __init__(self, server, line, ticks, buf, offset=1, other=None):
        self.server = server
        self.line = line
        self.ticks = ticks
        self.buf = buf
        self.offset = offset
        self.other = other

    def step(self):
        """One pass; ms until the next one is needed (-1: only input)."""
        server = self.server
        line = self.line
        n = server.poll_len(self.ticks())
        if n:
            line.write(server.tx_buffer(), n)  # a stream's write(buf, n): no slice of it
        while line.any() and self._take():
            pass
        n = server.next_event(self.ticks())
        if self.other is None:
            return n
        return _sooner(n, self.other.feed(self.ticks()))

    def _take(self):
        n = self.line.readinto(self.buf) or 0
        if n > 0:
            self.server.receive(self.buf, ticks_add(self.ticks(), self.offset), n)
        return n > 0

    def run(self):
        """Passes until `line.wait` says the line is over (False: a simulated one)."""
        while self.line.wait(self.step()) is not False:
            pass


def _row(state, event):
    """Where the row for (state, event) starts in TRANSITIONS, or -1."""
    i = 0
    while i < len(TRANSITIONS):
        if TRANSITIONS[i] == state and TRANSITIONS[i + 1] == event:
            return i
        i += 4
    return -1


def _sooner(a, b):
    """The smaller of two waits where -1 means "none"."""
    if a < 0:
        return b
    if b < 0:
        return a
    return min(a, b)
