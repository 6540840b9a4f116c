"""TokenLockout (IEC 62055-52 clause 6.6.7; values are the profile's, section 8).

Counts meter-specific tokens rejected in a row. From the LOCKOUT_AFTER-th on, each one
locks token entry, first for LOCKOUT_FIRST_S, then twice as long each time, up to
LOCKOUT_MAX_S. An accepted meter-specific token clears the count.

The count and the lock's remaining time are saved to `store` whenever they change and
when a lock runs out, so a power cycle neither clears nor (after expiry) renews a lock.
Time with the power off does not count: a meter without a running clock cannot know how
long it was off, so after a restart the saved remaining time is served in full.
"""
import struct

from tables import LOCKOUT_AFTER, LOCKOUT_FIRST_S, LOCKOUT_MAX_S
from ticks import ticks_add, ticks_diff

_RECORD = "lockout"
_FMT = ">HI"  # count, remaining ms


def record_bytes(count, remaining_ms):
    """The stored form of the lockout state (also used to preset it in replays)."""
    return struct.pack(_FMT, min(count, 0xFFFF), remaining_ms)


def lock_seconds(count):
    """Lock length after `count` rejections in a row (0 below the threshold)."""
    if count < LOCKOUT_AFTER:
        return 0
    shift = count - LOCKOUT_AFTER
    if shift >= 8:  # 10 s << 7 = 1280 s already; avoid huge shifts
        return LOCKOUT_MAX_S
    return min(LOCKOUT_FIRST_S << shift, LOCKOUT_MAX_S)


class TokenLockout:
    def __init__(self, store, now):
        self._store = store
        self.count = 0
        self._until = now
        self._locked = False
        data = store.load(_RECORD) if store else None
        if data and len(data) == struct.calcsize(_FMT):
            count, remaining = struct.unpack(_FMT, data)
            self.count = count
            if remaining:
                self._until = ticks_add(now, min(remaining, LOCKOUT_MAX_S * 1000))
                self._locked = True

    def _save(self, now):
        if self._store:
            self._store.save(_RECORD, record_bytes(self.count, self.remaining_ms(now)))

    def remaining_ms(self, now):
        if not self._locked:
            return 0
        left = ticks_diff(self._until, now)
        return left if left > 0 else 0

    def remaining_s(self, now):
        return (self.remaining_ms(now) + 999) // 1000

    def locked(self, now):
        return self.remaining_ms(now) > 0

    def record(self, accepted, now):
        """Count the result of a meter-specific token that was evaluated."""
        if accepted:
            if self.count == 0 and not self._locked:
                return
            self.count = 0
            self._locked = False
        else:
            self.count += 1
            seconds = lock_seconds(self.count)
            if seconds:
                self._until = ticks_add(now, seconds * 1000)
                self._locked = True
        self._save(now)

    def deadline(self, now):
        """ms until the lock runs out, or -1 when there is nothing to wait for."""
        return self.remaining_ms(now) if self._locked else -1

    def poll(self, now):
        if self._locked and self.remaining_ms(now) == 0:
            self._locked = False
            self._save(now)
