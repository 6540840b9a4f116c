"""The meter application process as the VTC07 server sees it.

The server hands a BinaryTokenEntry value to `submit` after it has decided to ACK the
write; the token is worked on in `step`, which the server calls from `poll` once the ACK
is out (IEC 62055-52 6.7.3: processing may outlast tr). While `busy`, TokenStatus reads
16 and ServerStatus bit 0 is set.

`Application` is the contract and also the stub used until a token engine is plugged in:
it answers every token with tokenStatus 8 (Function), after `exec_ms`.
"""
from tables import STATUS_STORAGE_FAULT, TABLE_ID_COMPANION, TS_FUNCTION, TS_NOT_READY, TS_RESERVED
from ticks import ticks_add, ticks_diff


class Application:
    table_id = TABLE_ID_COMPANION

    def __init__(self, store=None, exec_ms=0):
        self.store = store
        self.exec_ms = exec_ms
        self.busy = False
        self.token_status = TS_RESERVED  # no token entered yet
        self._due = 0

    def add_registers(self, table):
        """Add the application's own registers (the companion table) to `table`."""

    def status_bits(self):
        """ServerStatus bits the application owns (storage fault, tamper, credit)."""
        return STATUS_STORAGE_FAULT if self.store and self.store.fault else 0

    def submit(self, token, now):
        """Start work on the 66-bit TokenData `token` (an int)."""
        self.busy = True
        self.token_status = TS_NOT_READY
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
        self.busy = False
        self.token_status = TS_FUNCTION
        return TS_FUNCTION

    def refuse(self, status):
        """A token the server refused itself (lockout): record it as the last result."""
        self.token_status = status
