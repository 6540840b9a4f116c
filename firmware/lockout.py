"""TokenLockout (IEC 62055-52 clause 6.6.7; values are the profile's, section 8).

Counts meter-specific tokens rejected in a row. From the LOCKOUT_AFTER-th on, each one
locks token entry, first for LOCKOUT_FIRST_S, then twice as long each time, up to
LOCKOUT_MAX_S. An accepted meter-specific token clears the count.

The count and the lock's remaining time are stored in the application's record, in the
same atomic save as the token's result (docs/storage.md): `record` and `poll` say when they
changed something, and the application saves. A power cycle neither clears nor (after
expiry) renews a lock. Time with the power off does not count: a meter without a running
clock cannot know how long it was off, so after a restart the saved remaining time is
served in full. A meter whose stored state is lost is `held`: locked with no end.
"""

from tables import LOCKOUT_AFTER, LOCKOUT_FIRST_S, LOCKOUT_MAX_S
from ticks import ticks_add, ticks_diff


def lock_seconds(count):
    """Lock length after `count` rejections in a row (0 below the threshold)."""
    if count < LOCKOUT_AFTER:
        return 0
    shift = count - LOCKOUT_AFTER
    if shift >= 8:  # 10 s << 7 = 1280 s already; avoid huge shifts
        return LOCKOUT_MAX_S
    return min(LOCKOUT_FIRST_S << shift, LOCKOUT_MAX_S)


class TokenLockout:
    def __init__(self, now):
        self.count = 0
        self._until = now
        self._locked = False
        self.held = False  # locked with no end: the meter cannot know its lockout state

    def restore(self, count, remaining_ms, now):
        """Take the stored state (at start, from the application's record)."""
        self.count = count
        self._locked = remaining_ms > 0
        self._until = ticks_add(now, min(remaining_ms, LOCKOUT_MAX_S * 1000))

    def remaining_ms(self, now):
        if self.held:
            return LOCKOUT_MAX_S * 1000
        if not self._locked:
            return 0
        left = ticks_diff(self._until, now)
        return left if left > 0 else 0

    def remaining_s(self, now):
        return (self.remaining_ms(now) + 999) // 1000

    def locked(self, now):
        return self.remaining_ms(now) > 0

    def record(self, accepted, now):
        """Count the result of a meter-specific token that was evaluated; True if the
        state changed (and must be saved with the result)."""
        if accepted:
            if self.count == 0 and not self._locked:
                return False
            self.count = 0
            self._locked = False
        else:
            self.count += 1
            seconds = lock_seconds(self.count)
            if seconds:
                self._until = ticks_add(now, seconds * 1000)
                self._locked = True
        return True

    def deadline(self, now):
        """ms until the lock runs out, or -1 when there is nothing to wait for."""
        return self.remaining_ms(now) if self._locked and not self.held else -1

    def poll(self, now):
        """True when the lock ran out just now (to be saved, so a restart does not renew it)."""
        if self._locked and not self.held and self.remaining_ms(now) == 0:
            self._locked = False
            return True
        return False
