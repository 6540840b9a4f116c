"""The TID store (IEC 62055-41; sts-tokens.md section 4): the token identifiers of the
accepted class 0 and 2 tokens, so that no token is applied twice.

It keeps at least the last TID_STORE_MIN TIDs, ascending; when one more is taken the
oldest goes, and from then on a token older than the oldest kept is Old, since the meter
can no longer tell whether it was used. A TID is 24 bits, kept as 3 bytes, as the meter's
record stores them (meterapp.py), and where it stores them: they live in the record's
buffer (application.py), so a save copies nothing and the meter keeps no second buffer for
them (about 170 B on a 32-bit port). That room is taken once, when the meter starts: a
buffer growing in mid-life needs a contiguous block that a small, fragmented heap may no
longer have.
"""
from tables import TID_STORE_MIN, TS_OLD, TS_USED


class TidStore:
    def __init__(self, record, at):
        # record[at:] holds 3 * (TID_STORE_MIN + 1) bytes at least: one over, as the newest
        # comes in first (over the start of what the record packs after the TIDs, which a
        # save writes again)
        self._b = memoryview(record)[at:]
        self.count = 0

    def tid(self, i):
        """The i-th TID kept, ascending."""
        b = self._b
        p = 3 * i
        return b[p] << 16 | b[p + 1] << 8 | b[p + 2]

    def check(self, tid):
        """0 when a token of this TID may be applied, else its tokenStatus (Used, Old)."""
        for i in range(self.count):
            if self.tid(i) == tid:
                return TS_USED
        if self.count >= TID_STORE_MIN and tid < self.tid(0):
            return TS_OLD
        return 0

    def remember(self, tid):
        """Take the TID of a token just applied."""
        b = self._b
        i = self.count
        while i > 0 and self.tid(i - 1) > tid:
            i -= 1
        for k in range(3 * self.count - 1, 3 * i - 1, -1):  # the later ones up by one
            b[k + 3] = b[k]
        b[3 * i] = tid >> 16
        b[3 * i + 1] = (tid >> 8) & 0xFF
        b[3 * i + 2] = tid & 0xFF
        if self.count < TID_STORE_MIN:
            self.count += 1
        else:  # one over: the oldest goes
            for k in range(3 * TID_STORE_MIN):
                b[k] = b[k + 3]

    def unpack_from(self, data, pos, count):
        """Take `count` (at most TID_STORE_MIN, checked by the caller) TIDs from data[pos:]."""
        b = self._b
        for k in range(3 * count):
            b[k] = data[pos + k]
        self.count = count
