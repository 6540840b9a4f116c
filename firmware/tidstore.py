"""The TID store (IEC 62055-41; sts-tokens.md section 4): the token identifiers of the
accepted class 0 and 2 tokens, so that no token is applied twice.

It keeps at least the last TID_STORE_MIN TIDs, ascending in `tids[:count]`; when one more
is taken the oldest goes, and from then on a token older than the oldest kept is Old,
since the meter can no longer tell whether it was used. Its room is taken once, when the
meter starts: a list growing in mid-life needs a contiguous block that a small,
fragmented heap may no longer have. It is stored in the meter's record (meterapp.py), 3
bytes a TID.
"""
from tables import TID_STORE_MIN, TS_OLD, TS_USED


class TidStore:
    def __init__(self):
        self.tids = [0] * (TID_STORE_MIN + 1)
        self.count = 0

    def check(self, tid):
        """0 when a token of this TID may be applied, else its tokenStatus (Used, Old)."""
        tids = self.tids
        for i in range(self.count):
            if tids[i] == tid:
                return TS_USED
        if self.count >= TID_STORE_MIN and tid < tids[0]:
            return TS_OLD
        return 0

    def remember(self, tid):
        """Take the TID of a token just applied."""
        tids = self.tids
        i = self.count
        while i > 0 and tids[i - 1] > tid:
            tids[i] = tids[i - 1]
            i -= 1
        tids[i] = tid
        if self.count < TID_STORE_MIN:
            self.count += 1
        else:  # one over: the oldest goes
            for i in range(TID_STORE_MIN):
                tids[i] = tids[i + 1]

    def pack_into(self, rec, n):
        """Write the TIDs into rec[n:], 3 bytes each; return where they end."""
        tids = self.tids
        for i in range(self.count):
            t = tids[i]
            rec[n] = t >> 16
            rec[n + 1] = (t >> 8) & 0xFF
            rec[n + 2] = t & 0xFF
            n += 3
        return n

    def unpack_from(self, data, pos, count):
        """Take `count` (at most TID_STORE_MIN, checked by the caller) TIDs from data[pos:]."""
        for i in range(count):
            p = pos + 3 * i
            self.tids[i] = data[p] << 16 | data[p + 1] << 8 | data[p + 2]
        self.count = count
