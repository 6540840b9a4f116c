"""The VTC07 server (IEC 62055-52 clause 6.6, Annex A) as pure logic.

No I/O and no clock of its own. The board feeds it what the UART received with
`receive(data, now)` and asks `poll(now)` for what to send; `next_event(now)` says how many
ms may pass before `poll` has something to do (-1: nothing until more bytes arrive).
`now` is a `time.ticks_ms()` value, so everything is wrap-around safe.

States Idle and Session. Timing: a response goes out `tr` ms after the request's last
character; a message with a gap over `ta` is dropped silently; after a transmission error
in Session the server waits for `recovery` ms of line silence and then sends NAK.
"""
from application import token_class
from formats import FMT_A, FMT_B, FMT_D, FMT_H, digit_value, parse_number, put_number, valid_ascii
from frames import (
    EV_COMMAND,
    EV_ERROR,
    EV_ID,
    EV_NAK,
    EV_SYNTAX,
    Receiver,
    parity_ok,
    put_bytes,
    put_data_tail,
    put_id_response,
    with_parity,
)
from registers import ACCESS, FORMAT, READ, WIDTH, WRITE, RegisterTable
from tables import (
    ACK,
    BAUD_CHARS,
    BAUD_DEFAULT,
    CMD_BREAK,
    CMD_READ,
    CMD_TYPE_BREAK,
    CMD_TYPE_DATA,
    CMD_WRITE,
    ERR_BUSY,
    ERR_LOCKED,
    ERR_STORAGE,
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
    CLOSE,
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
    TOKEN_CLASS_NON_ENCRYPTED,
    TOKEN_DIGITS_HEX,
    TR_MIN,
    TS_LOCKED,
    TS_STORAGE_FAULT,
    TX_MAX,
    VALUE_MAX,
)
from ticks import ticks_add, ticks_diff

_ERR = b"ERR"
# SoftwareVersion (0003): this firmware's version, the one version of the project: the
# host package (tools/vtc07) and the mip package files (tools/harness/mip_package.py) read
# it from here, so the meter reports the version mip installed (two recorded traces read
# it too: a new version changes their SoftwareVersion answer and its BCC)
VERSION = b"0.2.0"
# The predefined registers (clause 6.8.2; IDs below 0x100, so the high byte is 0), as
# registers.py's rows: ID, format, width, access
_PREDEFINED = bytes((
    0, REG_PROTOCOL_VERSION, FMT_H, 2, READ,
    0, REG_TABLE_ID, FMT_H, 4, READ,
    0, REG_SERVER_STATUS, FMT_B, 8, READ,
    0, REG_SOFTWARE_VERSION, FMT_A, 16, READ,
    0, REG_BINARY_TOKEN_ENTRY, FMT_H, TOKEN_DIGITS_HEX, WRITE,
    0, REG_TOKEN_STATUS, FMT_D, 2, READ,
    0, REG_LOCKOUT_REMAINING, FMT_D, LOCKOUT_REMAINING_DIGITS, READ,
))


# _take_digits' buffer: what it holds is taken before the call that filled it returns (the
# token's bits, at submit), so one serves every server. Not an attribute: the server's 26
# attributes fill its dict, and one more made every attribute lookup slower.
_WIDE = bytearray(TOKEN_DIGITS_HEX)


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
        self.lockout = app.lockout  # the application stores it with each token's result
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
        self._tx = bytearray(TX_MAX)
        self._txv = memoryview(self._tx)  # poll's answers (a board's Link takes poll_len's)
        self._tx_len = 0  # length of the last response, kept for repeats
        self._pending = False  # the response in _tx waits for _due
        self._due = now
        self._last_rx = now
        self._last_msg = now
        self._now = now
        self.session = False
        self._recovering = False
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
        return self.lockout.remaining_s(self._now)  # REG_LOCKOUT_REMAINING

    def write_register(self, rid, token):
        """BinaryTokenEntry, the one writable register: ACK means "taken for processing"
        (6.7.3). `token`: its 17 hex digits' values (_take_value)."""
        now = self._now
        if token[0] >> (TOKEN_BITS - 64):  # the top digit holds TokenData's 2 top bits
            return ERR_VALUE_RANGE
        if self.app.busy:
            return ERR_BUSY
        if self.app.refusing:  # its stored state cannot be trusted: no token at all
            self.app.refuse(TS_STORAGE_FAULT)
            return ERR_STORAGE
        if token_class(token) != TOKEN_CLASS_NON_ENCRYPTED and self.lockout.locked(now):
            self.app.refuse(TS_LOCKED)
            return ERR_LOCKED
        self.app.submit(token, now)
        return 0

    def server_status(self):
        bits = self.app.status_bits()
        if self.app.busy:
            bits |= STATUS_BUSY
        if self.lockout.locked(self._now):
            bits |= STATUS_LOCKOUT
        return bits

    # --- input -------------------------------------------------------------------------

    def receive(self, data, now, n=-1):
        """Take the characters the UART received at `now` (bytes-like, any chunking; `n`:
        only the first n, so a board hands over its receive buffer with no slice of it)."""
        for i in range(len(data) if n < 0 else n):  # range allocates no iterator object on MicroPython
            self._char(data[i], now)

    def _char(self, b, now):
        rx = self._rx
        if self._recovering:  # everything is discarded until the line has been quiet
            self._last_rx = now
            return
        if rx.busy() and ticks_diff(now, self._last_rx) > self.ta:
            rx.reset()  # ta exceeded: the partial message is dropped without an answer
        self._last_rx = now
        if self.soft_parity:
            ok = parity_ok(b)
        else:  # the UART checked parity; a set 8th bit cannot be a 7-bit character
            ok = b < 0x80
        ev = rx.feed(b & 0x7F) if ok else EV_ERROR
        if ev:
            self._event(ev, now)

    def _event(self, ev, now):
        if ev == EV_ERROR:
            self._rx.reset()
            # Idle answers nothing, so it just drops the message; Session NAKs later
            self._recovering = self.session
            return
        if not self.session:
            if ev == EV_ID:
                self._id_request(now)
            return
        self._last_msg = now
        if ev == EV_COMMAND:
            self._command(now)
        elif ev == EV_ID:
            self._id_request(now)
        elif ev == EV_NAK:
            self._repeat(now)
        elif ev == EV_SYNTAX:
            self._nak(now)
        # EV_ACK: nothing to do, the server never waits for one

    def _id_request(self, now):
        buf = self._rx.buf
        n = self._rx.n - 5  # address length: / ? address ! CR LF
        if n and not self._address_matches(buf, n):
            self.session = False  # a sign-on for another meter ends ours
            return
        self.session = True
        self._last_msg = now
        self._naks = 0
        self._respond(put_id_response(self._tx, self.manufacturer, self.baud_char, self.ident), now)

    def _address_matches(self, buf, n):
        address = self.address
        if n != len(address):
            return False
        for i in range(n):
            if buf[2 + i] != address[i]:
                return False
        return True

    def _command(self, now):
        buf = self._rx.buf
        n = self._rx.n  # buf[0] SOH ... buf[n - 1] ETX
        if n == 4 and buf[1] == CMD_BREAK and buf[2] == CMD_TYPE_BREAK:
            self._idle()
            return
        if (
            n >= 11
            and buf[2] == CMD_TYPE_DATA
            and buf[3] == STX
            and buf[8] == OPEN
            and buf[n - 2] == CLOSE
            and n - 11 <= VALUE_MAX
        ):
            rid = parse_number(buf, 4, 8, FMT_H)
            if rid >= 0:
                if buf[1] == CMD_READ and n == 11:
                    self._naks = 0
                    self._read(rid, now)
                    return
                if buf[1] == CMD_WRITE:
                    self._naks = 0
                    self._write(rid, n - 2, now)
                    return
        self._nak(now)  # undefined command or bad syntax (6.6.6)

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

    def _nak(self, now):
        self._tx[0] = NAK
        self._respond(1, now)
        self._naks += 1
        if self._naks >= NAKS_MAX:  # the NAK still goes out, then the session ends
            self.session = False

    def _respond(self, n, now):
        self._tx_len = n
        self._repeats = 0
        self._pending = True
        self._due = ticks_add(now, self.tr)

    def _repeat(self, now):
        if self._tx_len and self._repeats < REPEATS_MAX:
            self._repeats += 1
            self._pending = True
            self._due = ticks_add(now, self.tr)

    def _idle(self):
        self.session = False
        self._pending = False
        self._recovering = False
        self._tx_len = 0
        self._naks = 0

    def line_replaced(self):
        """Another HHU is on the line (the board's connection was replaced): nothing of the
        old conversation carries over: no partial message, session, response or recovery
        wait. A token already taken for processing still completes."""
        self._rx.reset()
        self._idle()

    def poll(self, now):
        """Run the timers; return the bytes to send now (a memoryview) or None."""
        n = self.poll_len(now)
        return self._txv[:n] if n else None

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
        if self._recovering and ticks_diff(now, self._last_rx) >= self.recovery:
            self._recovering = False
            self._nak(now)
            self._pending = False
            return self._out()
        if self.session and ticks_diff(now, self._last_msg) >= self.session_timeout:
            self._idle()
        if self.lockout.poll(now):
            self.app.save(now)  # a restart must not renew a lock that ran out
        if self.app.deadline(now) == 0:
            self.app.step(now)  # counts the result for the lockout and stores both
        return 0

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
        if self._recovering:
            wait = max(0, ticks_diff(ticks_add(self._last_rx, self.recovery), now))
        if self.session:
            left = ticks_diff(ticks_add(self._last_msg, self.session_timeout), now)
            wait = _sooner(wait, max(0, left))
        wait = _sooner(wait, self.lockout.deadline(now))
        wait = _sooner(wait, self.app.deadline(now))
        return wait


def _sooner(a, b):
    """The smaller of two waits where -1 means "none"."""
    if a < 0:
        return b
    if b < 0:
        return a
    return min(a, b)
