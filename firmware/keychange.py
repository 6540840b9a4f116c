"""Key change sets: class 2 subclasses 3, 4, 8 and 9 (sts-edition3.md section 3).

A set is two tokens (Set1st and Set2ndSectionDecoderKey, a 64-bit key), three (the same
with 3KCT set in the first, and Set3rdSectionDecoderKey carrying the new supply group
code) or four (a 128-bit key: sections 3, 4, 8 and 9, the SGC in 8 and 9). Every section
is encrypted under the meter's current key; they come in any order. Each section that
does not complete its set answers 2 (1stKCT) and waits; the one that completes it answers
3 (2ndKCT) and the whole set is applied at once (docs/profile-choices.md).

The waiting sections are kept as they came: the first 48 bits of each block (6 bytes, the
subclass in the top nibble, so an empty slot is all zero), one slot per subclass, and the
subclass of the latest. That is the whole state, `SIZE` bytes, which the meter record
carries (`pack_into`, `unpack_from`) so that a set survives a power cut; the window is not
stored, and a waiting set gets a full one from power-up. The new key is taken straight
from the slots' bytes: no 32-bit integer is made.

A meter's key length is fixed by its configuration (EA07/EA09 64 bits, EA11 128): a
section of the other kind of set is 8 (Function), so no key change moves a meter between
EA07 and EA11.
"""

from micropython import const
from tables import (
    BASE_DATES,
    KCT_3KCT,
    KCT_RO,
    KCT_WINDOW_MS,
    KRN_MAX,
    KRN_MIN,
    KT_DITK,
    SC_KCT1,
    SC_KCT2,
    SC_KCT3,
    SC_KCT4,
    SGC_MAX,
    TI_MAX,
    TS_1ST_KCT,
    TS_2ND_KCT,
    TS_FUNCTION,
    TS_KEY_TYPE,
    TS_RANGE,
)
from ticks import ticks_add, ticks_diff

SIZE = const(25)  # four 6-byte slots (sections 3, 4, 8, 9), then the latest subclass
_S3 = const(0)  # slot offsets in the state
_S4 = const(6)
_S8 = const(12)
_S9 = const(18)
_LATEST = const(24)


class KeyChange:
    def __init__(self):
        self.state = bytearray(SIZE)
        self.at = 0  # ticks_ms of the latest section taken: its window runs from there
        self._sec = bytearray(6)

    def clear(self):
        state = self.state
        for i in range(SIZE):
            state[i] = 0

    def pack_into(self, buf, offset):
        state = self.state
        for i in range(SIZE):
            buf[offset + i] = state[i]

    def unpack_from(self, buf, offset):
        state = self.state
        for i in range(SIZE):
            state[i] = buf[offset + i]

    def deadline(self, now):
        """ms until the waiting set is forgotten (0: now), -1 if none waits."""
        if not self.state[_LATEST]:
            return -1
        left = ticks_diff(ticks_add(self.at, KCT_WINDOW_MS), now)
        return left if left > 0 else 0

    def take(self, app, t, subclass, now):
        """One section, decrypted in `t` with a good CRC: its tokenStatus. Changes `app`
        (the key and its data) only when it completes a set."""
        sec = self._sec
        for k in range(6):
            sec[k] = t.field(63 - 8 * k, 8)
        wide = len(app.dk) == 16  # the meter's key, so the set it takes, is 128-bit
        status = _rules(sec, subclass, wide, app.base_date)
        if status:
            return status  # a refused section is not kept; a waiting set stays as it was
        state = self.state
        if self.deadline(now) == 0:
            self.clear()  # too late for the waiting set: this section starts a new one
        slot = _S3 if subclass == SC_KCT1 else _S4 if subclass == SC_KCT2 else _S8 if subclass == SC_KCT3 else _S9
        if state[slot] and not _same(state, slot, sec):
            self.clear()  # another section of the same subclass: a new set starts with it
        if not wide:
            # a 2-token set (3KCT clear) has no 3rd section: one cannot join the other
            if subclass == SC_KCT3 and state[_S3] and not state[_S3 + 1] & KCT_3KCT:
                return TS_RANGE
            if subclass == SC_KCT1 and state[_S8] and not sec[1] & KCT_3KCT:
                return TS_RANGE
        elif subclass == SC_KCT3 and state[_S9] and _sgc(state[_S9], state[_S9 + 1], sec[0], sec[1]) > SGC_MAX:
            return TS_RANGE
        elif subclass == SC_KCT4 and state[_S8] and _sgc(sec[0], sec[1], state[_S8], state[_S8 + 1]) > SGC_MAX:
            return TS_RANGE
        for k in range(6):
            state[slot + k] = sec[k]
        state[_LATEST] = subclass
        self.at = now
        if not (state[_S3] and state[_S4]):
            return TS_1ST_KCT
        if wide:
            if not (state[_S8] and state[_S9]):
                return TS_1ST_KCT
        elif state[_S3 + 1] & KCT_3KCT and not state[_S8]:
            return TS_1ST_KCT
        self._apply(app, wide)
        self.clear()
        return TS_2ND_KCT

    def _apply(self, app, wide):
        s = self.state
        order = (_S3, _S8, _S9, _S4) if wide else (_S3, _S4)  # where the key's 4-byte parts are
        key = bytearray(4 * len(order))
        for i in range(len(order)):
            for k in range(4):
                key[4 * i + k] = s[order[i] + 2 + k]
        byte = s[_S3 + 1]
        sgc = -1  # a 2-token set leaves the SGC as it is
        if wide:
            sgc = _sgc(s[_S9], s[_S9 + 1], s[_S8], s[_S8 + 1])
        elif byte & KCT_3KCT:
            sgc = _sgc24(s, _S8)
        app.new_key(bytes(key), byte & 3, byte >> 4, (s[_S3] & 15) << 4 | (s[_S4] & 15), s[_S4 + 1], sgc, byte & KCT_RO)


def _rules(sec, subclass, wide, base_date):
    """The rules a section meets on its own (0: it does)."""
    byte = sec[1]
    if subclass == SC_KCT1:
        if byte & 3 == KT_DITK:
            return TS_KEY_TYPE  # a meter is never put back to its initialisation key
        if not KRN_MIN <= byte >> 4 <= KRN_MAX:
            return TS_RANGE
        if byte & KCT_RO and base_date == BASE_DATES[-1]:
            return TS_RANGE  # a TID rollover with no later base date
        if wide and byte & KCT_3KCT:
            return TS_RANGE  # there is no 3-token set for a 128-bit key
    elif subclass == SC_KCT2:
        if byte > TI_MAX:
            return TS_RANGE
    elif not wide:
        # 3rd section of a 3-token set: SGC:24 and 20 zero bits; anything else is a section
        # of a 128-bit key, which this meter cannot take
        if subclass == SC_KCT4 or sec[3] & 15 or sec[4] or sec[5]:
            return TS_FUNCTION
        if _sgc24(sec, 0) > SGC_MAX:
            return TS_RANGE
    elif subclass == SC_KCT4 and _sgc(sec[0], sec[1], 0, 0) > SGC_MAX:
        return TS_RANGE
    return 0


def _same(state, slot, sec):
    for k in range(6):
        if state[slot + k] != sec[k]:
            return False
    return True


def _sgc(h0, h1, l0, l1):
    """SGC = SGC-high:12 SGC-low:12, each the 12 bits after a section's subclass nibble."""
    return ((h0 & 15) << 8 | h1) << 12 | (l0 & 15) << 8 | l1


def _sgc24(b, at):
    """The 3-token set's SGC:24, after the subclass nibble of the section at b[at]."""
    return (b[at] & 15) << 20 | b[at + 1] << 12 | b[at + 2] << 4 | b[at + 3] >> 4
