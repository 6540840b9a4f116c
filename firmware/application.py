"""The meter application process as the VTC07 server sees it, and its stored record.

The server hands a BinaryTokenEntry value to `enter`, which takes it for processing (the
write is ACKed) or says why not: busy, a record that cannot be trusted, TokenLockout
(6.6.7: the gate is here, beside the lockout's count and its storage). The token is worked
on in `step`, which `poll` runs once the ACK is out (IEC 62055-52 6.7.3: processing may
outlast tr). While `busy`, TokenStatus reads 16 and ServerStatus bit 0 is set. `poll` and
`next_event` are the server's view of all the application's timers: the token, the
lockout running out (stored, so a restart does not renew it), and its own.

The application owns the meter's one stored record: `version | lockout count | lockout ms
remaining | the application's own state`. A token's result and the lockout count it
causes go into storage in one save, before the result can be read (docs/storage.md): no
power cut leaves a readable rejection uncounted. When the record cannot be trusted the
application `refusing` token entry, keeps its lockout held and never writes the record.
A new meter (a store that is `new` and holds no record) stores its first record at once, so
its store is in use from the first start on (storage.py).

Whatever raises while a token is worked on or saved (out of memory, most likely) leaves
nothing half-applied: RAM goes back to the stored record, the token reads TS_STORAGE_FAULT
and the meter goes on; when even that cannot be done, it refuses tokens until the record
can be read back (tried again at each token entry refused).

`Application` is the contract and also the stub used until a token engine is plugged in:
it answers every token with tokenStatus 8 (Function), after `exec_ms`.
"""

import gc

from lockout import TokenLockout
from storage import field
from tables import (
    ERR_BUSY,
    ERR_LOCKED,
    ERR_STORAGE,
    REC_COUNT,
    REC_LEFT,
    REC_STATE,
    REC_VERSION,
    STATUS_STORAGE_FAULT,
    STORE_DEGRADED,
    STORE_FORMAT,
    STORE_OK,
    STORE_REPAIRED,
    STORE_WRITE,
    TABLE_ID_COMPANION,
    TOKEN_CLASS_NON_ENCRYPTED,
    TOKEN_CLASS_SHIFT,
    TS_1ST_KCT,
    TS_2ND_KCT,
    TS_ACCEPT,
    TS_FUNCTION,
    TS_LOCKED,
    TS_NOT_READY,
    TS_RESERVED,
    TS_STORAGE_FAULT,
)
from ticks import ticks_add, ticks_diff


def token_class(token):
    """The class (bits 28..27) of the 66-bit TokenData `token`: an int, or its 17 hex
    digits' values, most significant first (as the server takes BinaryTokenEntry: bit 27
    is the top bit of digit 10, bit 28 the low bit of digit 9)."""
    if type(token) is int:
        return (token >> TOKEN_CLASS_SHIFT) & 3
    return (token[9] & 1) << 1 | token[10] >> 3


class Application:
    table_id = TABLE_ID_COMPANION
    RECORD = "stub"  # the record's name in the store
    VERSION = 1  # the record version it writes; unpack_state says which older ones it reads
    # largest size of the application's own part of the record; the stub has none, so it
    # saves only when its lockout changes, not after every token
    STATE_SIZE = 0
    exec_ms = 0
    faults = 0  # LoopFaults: the board loop's guard counts (and stores) what it caught

    def __init__(self, store, now=0, lockout=None, exec_ms=0):
        self.store = store
        self.lockout = lockout or TokenLockout(now)
        if exec_ms:  # else the class's: the token engine has no processing time of its own
            self.exec_ms = exec_ms
        self.busy = False
        self.token_status = TS_RESERVED  # no token entered yet
        self.fault = STORE_OK  # StorageFault reason (tables STORE_*)
        self.refusing = False  # token entry refused: the stored state cannot be trusted
        self._due = 0
        self._number = 0  # the token submitted (a subclass may keep what it made of it)
        self._token_class = 0
        self._record = bytearray(REC_STATE + self.STATE_SIZE)

    # --- the record ---------------------------------------------------------------------

    # The record's fields are described once (tables REC_*, storage.field): each is one
    # call that packs it into the record's buffer or unpacks it from there, and a new
    # meter's state is a new meter's record unpacked.

    def reset_state(self):
        """The application's state as the configuration makes a new meter."""

    def pack_state(self, rec):
        """Write the application's state into rec[REC_STATE:]; return where it ends."""
        return REC_STATE

    def unpack_state(self, n):
        """Take the application's state from the stored record, copied into the record's
        buffer (its first n bytes); False (and nothing taken) when it is not a state this
        firmware can use."""
        return n == REC_STATE and self._record[REC_VERSION] == self.VERSION

    def _lockout(self, pack, now):
        """The lockout's part of the record: its count and the lock's ms remaining."""
        rec = self._record
        lock = self.lockout
        count = field(rec, REC_COUNT, REC_LEFT, min(lock.count, 0xFFFF), pack)
        left = field(rec, REC_LEFT, REC_STATE, lock.remaining_ms(now), pack)
        if not pack:
            lock.restore(count, left, now)

    def load(self, now):
        """Take the stored record at start. A record that cannot be read or used puts the
        meter in the refusing state; it is never taken for "no record"."""
        if not self.store:
            self.reset_state()
            return
        data = self._take_stored()
        if data is None and self.store.root and not self.refusing:
            self.save(now)  # a new meter: its store (not one in RAM) is in use from now on
        if data:
            self._lockout(False, now)
            if self.store.repaired:
                self.fault = STORE_REPAIRED

    def _take_stored(self):
        """The state as the store holds it (the lockout's part is the caller's to take):
        the record, or None for a new meter and for a record that cannot be used (then
        refusing)."""
        self.reset_state()
        rec = self._record
        data = self.store.load(self.RECORD, len(rec))
        if type(data) is int:
            self._refuse(data)
            return None
        if data is not None:
            n = len(data)  # at most the buffer's (the store reads no more)
            for i in range(n):
                rec[i] = data[i]  # the fields are unpacked from the record's buffer
            if n < REC_STATE or data[0] > self.VERSION or not self.unpack_state(n):
                self.reset_state()
                self._refuse(STORE_FORMAT)
                return None
        return data

    def _refuse(self, reason):
        self.fault = reason
        self.refusing = True  # for good: only an operator's reset ends it
        self.lockout.held = True  # a meter that cannot know its lockout state is locked

    def save(self, now):
        """Store the state; True when it reached storage. When it did not, the state in
        RAM goes back to what is stored (the lockout keeps what it counted: never weaker).
        Few locals: its frame stays on the C stack (the write, with its handler, is
        `_write`'s), so a meter without a store asks no heap per token."""
        if not self.store:
            return True
        if self.refusing:
            return False  # never write over a record that could not be read
        rec = self._record  # reused: a token's save makes no new buffer
        rec[REC_VERSION] = self.VERSION
        self._lockout(True, now)
        return self._write(self.pack_state(rec))

    def _write(self, end):
        """The record's first `end` bytes to the store; see save."""
        store = self.store
        before = store.seq.get(self.RECORD)
        before = before[0] if before else -1
        try:
            store.save(self.RECORD, memoryview(self._record)[:end])
        except Exception:  # full, read-only, I/O error, no memory: nothing may half-apply
            self.fault = STORE_WRITE
            self._reread()  # the lockout stays as counted: ahead of storage, never behind
            after = store.seq.get(self.RECORD)
            # the new state reached one copy (and the store could be read back)
            return not self.refusing and after is not None and after[0] != before
        if self.fault <= STORE_WRITE or self.fault == STORE_DEGRADED:
            # both copies are whole again, or one only (a copy that cannot be written)
            self.fault = STORE_DEGRADED if store.degraded else STORE_OK
        return True

    def _reread(self):
        """RAM back to the stored record after something failed; when even that fails
        (out of memory), RAM cannot be trusted: token entry is refused (`refuse` tries
        again)."""
        gc.collect()  # what the failed attempt made is garbage now: room to read
        try:
            self._take_stored()
        except Exception:
            self._refuse(STORE_WRITE)
            self.distrust()

    def distrust(self):
        """RAM holds what no record has (a failed save) and the record cannot be read back:
        nothing held in RAM may be paid out on until it is (no allocation: a failure path)."""

    def _seq(self):
        """The stored record's sequence number (-1: none yet), to tell a save that ran."""
        entry = self.store.seq.get(self.RECORD) if self.store else None
        return entry[0] if entry else -1

    def _undo(self, seq=None):
        """A token's work raised (out of memory): RAM goes back to the stored record. If
        its save had run (the sequence number is no longer `seq`) the stored result is
        the answer, else nothing of it stays and it reads 17."""
        self.busy = False
        self._reread()
        status = self.last[0] if seq is not None and seq != self._seq() and not self.refusing else TS_STORAGE_FAULT
        self.token_status = status
        return status

    # --- the contract ---------------------------------------------------------------------

    def add_registers(self, table):
        """Add the application's own registers (the companion table) to `table`."""

    def status_bits(self):
        """ServerStatus bits the application owns (storage fault, tamper, credit)."""
        return STATUS_STORAGE_FAULT if self.fault else 0

    def enter(self, token, now):
        """BinaryTokenEntry: 0 when the 66-bit `token` (an int, or its 17 hex digits'
        values as the server takes it) is taken for processing (the write
        is ACKed), else the error code the write answers."""
        if self.busy:
            return ERR_BUSY
        if self.refusing:  # its stored state cannot be trusted: no token at all
            self.refuse(TS_STORAGE_FAULT)
            return ERR_STORAGE
        if token_class(token) != TOKEN_CLASS_NON_ENCRYPTED and self.lockout.locked(now):
            self.refuse(TS_LOCKED)
            return ERR_LOCKED
        self.submit(token, now)
        return 0

    def poll(self, now):
        """Do all that is due: a lock that ran out is stored (a restart must not renew
        it), then the token or the application's own timer (`step`)."""
        if self.lockout.poll(now):
            self.save(now)
        if self.deadline(now) == 0:
            self.step(now)  # counts the result for the lockout and stores both

    def next_event(self, now):
        """ms until `poll` has work, 0 if it has now, -1 if none is waiting."""
        wait = self.lockout.deadline(now)
        left = self.deadline(now)
        if wait < 0 or 0 <= left < wait:
            return left
        return wait

    def submit(self, token, now):
        """Start work on the 66-bit TokenData `token`: an int, or its 17 hex digits' values
        (token_class) in the server's buffer, which the next write takes: what is needed
        of it is taken here."""
        self.busy = True
        self.token_status = TS_NOT_READY
        self._number = token
        self._token_class = token_class(token)
        self._due = ticks_add(now, self.exec_ms)

    def deadline(self, now):
        """ms until `step` has work to do (a token, or the application's own timer), or -1."""
        if not self.busy:
            return -1
        left = ticks_diff(self._due, now)
        return left if left > 0 else 0

    def step(self, now):
        """Do what is due; return the tokenStatus once a token is finished, else -1."""
        if not self.busy or ticks_diff(self._due, now) > 0:
            return -1
        return self.finish(TS_FUNCTION, now)  # the stub supports no token

    def finish(self, status, now):
        """Count the result for the lockout and store both in one save; only then can the
        result be read. A result that could not be stored reads TS_STORAGE_FAULT."""
        self.busy = False
        changed = False
        if self._token_class != TOKEN_CLASS_NON_ENCRYPTED:
            changed = self.lockout.record(status == TS_ACCEPT or status == TS_1ST_KCT or status == TS_2ND_KCT, now)
        if (changed or self.STATE_SIZE) and not self.save(now):
            status = TS_STORAGE_FAULT
        self.token_status = status
        return status

    def refuse(self, status):
        """A token the server refused itself (lockout, storage): record it as the last result.
        A meter refusing only because it had no memory to read its record back tries again
        now: if the record can be read, the next token is taken."""
        if self.refusing and self.fault == STORE_WRITE:
            self.refusing = False
            self._reread()  # refusing again (and held) if it still cannot
            self.lockout.held = self.refusing
        self.token_status = status  # after the record is read: it sets the stored one
