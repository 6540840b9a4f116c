"""The meter application process: execute IEC 62055-41 tokens (sts-tokens.md section 4).

Checks in the order of section 4 and answers each rejection with its tokenStatus. The
whole application state (credit per service, TID store, settings, the decoder key and a
waiting key change set, last result) is the application's part of the meter's one
storage record (application.py), saved after every token together with the lockout
count: a power cut before the save leaves the token unapplied (the HHU sees no Accept and
may enter it again), a cut after it leaves it applied once; the TID store then refuses it
as Used.

The decoder key comes from the configuration (the key the meter was made with) until a
key change set replaces it; from then on the stored key rules. The sets (two, three or four
tokens) are firmware/keychange.py's. Currency tokens (class 0 subclasses 4-7) carry CRC_C
instead of the token CRC and a 20-bit signed amount (sts-edition3.md section 4).
"""

from application import Application
from catalogue import AT_LEAST_0, CALL, COMPACT, PLACES, SOURCES, WHOLE
from keychange import SIZE  # the build folds it in: keychange itself is imported when needed
from storage import field
from tables import (
    BASE_DATES,
    CLASS_CREDIT,
    CLASS_MANAGEMENT,
    CLEAR_ALL,
    CREDIT_MAX,
    CREDIT_SUBCLASSES,
    EA_DES,
    EA_MISTY1,
    EA_STA,
    KEN_NEVER,
    KT_DDTK,
    KT_DITK,
    LOW_CREDIT_TENTHS,
    REC_BALANCE,
    REC_BASE_DATE,
    REC_CONSUMED,
    REC_CREDIT,
    REC_DK,
    REC_KEN,
    REC_KEY_CHANGED,
    REC_KEY_TYPE,
    REC_KEYCHANGE,
    REC_KRN,
    REC_LAST_CLASS,
    REC_LAST_STATUS,
    REC_LAST_SUBCLASS,
    REC_LAST_TID,
    REC_LAST_VALUE,
    REC_MPL,
    REC_MPPUL,
    REC_REMAINDER,
    REC_SGC,
    REC_STATE,
    REC_TAIL,
    REC_TAMPER,
    REC_TARIFF_RATE,
    REC_TI,
    REC_TID_COUNT,
    REC_TIDS,
    REC_WATER_FACTOR,
    SC_CLEAR_CREDIT,
    SC_CLEAR_TAMPER,
    SC_KCT1,
    SC_KCT2,
    SC_KCT3,
    SC_KCT4,
    SC_MPL,
    SC_MPPUL,
    SC_TARIFF_RATE,
    SC_WATER_FACTOR,
    STATUS_CREDIT_EXHAUSTED,
    STATUS_TAMPER,
    TID_STORE_MIN,
    TOKEN_CLASS_NON_ENCRYPTED,
    TS_1ST_KCT,
    TS_2ND_KCT,
    TS_ACCEPT,
    TS_CRC,
    TS_DDTK,
    TS_FORMAT,
    TS_FUNCTION,
    TS_KEY_EXPIRED,
    TS_KEY_TYPE,
    TS_MFR_CODE,
    TS_OLD,
    TS_OVERFLOW,
    TS_RANGE,
    TS_USED,
)
from tokens import Token, amount_value, bits_from_bytes

METER_NUMBER = "600727000000000009"  # the unix board's identity (sts-tokens.md vectors)
DEFAULT_DK = "E653341F9D5BF36F"  # and its decoder key (EA07, the vectors' key)
ALGORITHMS = {"sta": EA_STA, "des": EA_DES, "misty1": EA_MISTY1}
# The record (application.py stores it) is described in tables.py (REC_*) and walked by
# _state; credit is signed: it may stand below 0 by the last increment that crossed it.


class MeterApplication(Application):
    RECORD = "meter"
    # 2: the one-file record before two copies and the lockout in it; 3: before
    # consumption (read still: it is a version 4 record with nothing consumed)
    VERSION = 4
    STATE_SIZE = REC_TIDS - REC_STATE + 3 * TID_STORE_MIN + REC_TAIL
    # firmware/keychange.py's KeyChange, made when a key change section first comes (or
    # the record holds a waiting set), and firmware/consumption.py's Consumption, which a
    # board with metrology makes (docs/porting.md): a meter that never needs one carries
    # neither, not even as an attribute (its dict: 38 entries take 47 slots, 37 take 37)
    keychange = None
    consumption = None

    def __init__(self, store, config, now=0, lockout=None):
        # as its 18 digits: a long int on a 32-bit port, made once, not per read
        self.meter_number = ("%018d" % int(config.get("meter_number", METER_NUMBER))).encode()
        algorithm = config.get("algorithm", "sta")
        if algorithm not in ALGORITHMS:
            raise ValueError("algorithm must be sta, des or misty1, not " + algorithm)
        self.algorithm = ALGORITHMS[algorithm]
        self.mfr_code = int(config.get("mfr_code", 0))
        self.currency = config.get("currency", "0") == "1"
        self.dk = bytes.fromhex(config.get("dk", DEFAULT_DK))
        if len(self.dk) != (16 if self.algorithm == EA_MISTY1 else 8):
            raise ValueError("dk must be 16 hex digits (32 for misty1)")
        self.key_type = int(config.get("key_type", 2))
        self.krn = int(config.get("krn", 1))
        self.ken = int(config.get("ken", KEN_NEVER))
        self.ti = int(config.get("ti", 1))
        self.base_date = int(config.get("base_date", BASE_DATES[0]))
        self.sgc = int(config.get("sgc", 123456))
        if self.base_date not in BASE_DATES:
            raise ValueError("base_date must be one of 1993, 2014, 2035")
        self._token = Token()
        # the rest of the state, as the record's fields are taken (reset_state, _state)
        self.balance = self.mpl = self.tariff_rate = self.water_factor = self.mppul = self.tamper = 0
        self.key_changed = 0
        self.credit = [0, 0, 0, 0]  # tenths; below 0: owed (firmware/consumption.py)
        # per service: tenths consumed, then the remainders below a tenth (consumption.py);
        # `usage` is a name the unix port has built in: it costs the 64 KB board no RAM
        self.usage = [0] * 8
        self.last = [0, 0, 0, 0, 0]  # status, class, subclass, decoded value, TID
        super().__init__(store, now, lockout)
        # the configured key as the record holds it: a new meter's, and the one an
        # unchanged key is taken from at every start (so the configuration rules it)
        self._key(self._record, True)
        self._factory = bytes(self._record[REC_DK:REC_KEYCHANGE])
        self.load(now)
        self.token_status = self.last[0]
        if self.keychange:
            self.keychange.at = now  # a set waiting since before a restart gets a full window

    def reset_state(self):
        """A new meter's record (all zero, no TIDs, the configured key), unpacked."""
        rec = self._record
        for i in range(REC_STATE, len(rec)):
            rec[i] = 0
        self._state(rec, False)
        self._new_cipher()

    def new_key(self, dk, key_type, krn, ken, ti, sgc, rollover):
        """A key change set is complete (keychange.py): the new key and its data at once;
        `sgc` -1 keeps the supply group code; a rollover moves TIDs to the next base date,
        where the old ones mean nothing."""
        self.dk, self.key_type, self.krn, self.ken, self.ti = dk, key_type, krn, ken, ti
        if sgc >= 0:
            self.sgc = sgc
        if rollover:
            self.base_date = BASE_DATES[BASE_DATES.index(self.base_date) + 1]
            self.forget_tids()
        self.key_changed = 1
        self._new_cipher()

    def _new_cipher(self):
        key = bytearray(8 * len(self.dk))
        bits_from_bytes(self.dk, key)
        # imported here so that a meter loads only the algorithm its key uses
        if self.algorithm == EA_STA:
            from sta import Sta

            self._cipher = Sta(key)
        elif self.algorithm == EA_DES:
            from des import Des

            self._cipher = Des(key)
        else:
            from misty1 import Misty1

            self._cipher = Misty1(key)

    # --- the record (application.py stores it) ---------------------------------------

    def unpack_state(self, n):
        rec = self._record  # the stored record, copied in (Application._take_stored)
        if n < REC_TIDS:
            return False
        count = rec[REC_TID_COUNT]
        end = REC_TIDS + 3 * count
        version = rec[0]
        if version < 3 or count > TID_STORE_MIN or n != end + (REC_TAIL if version > 3 else 0):
            return False  # checked before anything is taken from it
        if version == 3:
            for i in range(end, end + REC_TAIL):
                rec[i] = 0  # version 3 is a version 4 record with nothing consumed
        self._state(rec, False)
        if self.key_changed:
            self._new_cipher()
        self.token_status = self.last[0]
        return True

    def pack_state(self, rec):
        return self._state(rec, True)  # the TIDs are in the buffer already (the TID store)

    def _state(self, rec, pack):
        """The application's part of the record, field by field (tables REC_*): each value
        packed into `rec` (pack), or taken from it. Returns where the record ends."""
        c = self.credit
        for i in range(4):
            at = REC_CREDIT + 8 * i
            c[i] = field(rec, at, at + 8, c[i], pack)
            if not pack and c[i] >> 63:
                c[i] -= 1 << 64  # taken as signed: credit stands below 0 by what is owed
        self.balance = field(rec, REC_BALANCE, REC_MPL, self.balance, pack)
        self.mpl = field(rec, REC_MPL, REC_TARIFF_RATE, self.mpl, pack)
        self.tariff_rate = field(rec, REC_TARIFF_RATE, REC_WATER_FACTOR, self.tariff_rate, pack)
        self.water_factor = field(rec, REC_WATER_FACTOR, REC_MPPUL, self.water_factor, pack)
        self.mppul = field(rec, REC_MPPUL, REC_TAMPER, self.mppul, pack)
        self.tamper = field(rec, REC_TAMPER, REC_LAST_STATUS, self.tamper, pack)
        last = self.last
        last[0] = field(rec, REC_LAST_STATUS, REC_LAST_CLASS, last[0], pack)
        last[1] = field(rec, REC_LAST_CLASS, REC_LAST_SUBCLASS, last[1], pack)
        last[2] = field(rec, REC_LAST_SUBCLASS, REC_LAST_VALUE, last[2], pack)
        last[3] = field(rec, REC_LAST_VALUE, REC_LAST_TID, last[3], pack)
        last[4] = field(rec, REC_LAST_TID, REC_KEY_CHANGED, last[4], pack)
        self.key_changed = field(rec, REC_KEY_CHANGED, REC_DK, self.key_changed, pack)
        if not (pack or self.key_changed):  # the configured key rules until a key change
            for i in range(REC_KEYCHANGE - REC_DK):
                rec[REC_DK + i] = self._factory[i]
        self._key(rec, pack)
        if not pack:  # a waiting set (its latest section's subclass is not 0), or none
            if rec[REC_KEYCHANGE + SIZE - 1]:
                self._keychange().unpack_from(rec, REC_KEYCHANGE)
            elif self.keychange:
                self.keychange.clear()
        elif self.keychange:
            self.keychange.pack_into(rec, REC_KEYCHANGE)
        else:
            for i in range(REC_KEYCHANGE, REC_TID_COUNT):
                rec[i] = 0  # no set waiting
        end = REC_TIDS + 3 * rec[REC_TID_COUNT]  # the TIDs are in place (the TID store)
        u = self.usage
        for i in range(8):
            at = end
            end += REC_CONSUMED if i < 4 else REC_REMAINDER
            u[i] = field(rec, at, end, u[i], pack)
        return end

    def _key(self, rec, pack):
        """The decoder key and its data in the record; 16 bytes of key (a 64-bit key is
        the first 8: its length is the meter's)."""
        dk = self.dk
        if pack:
            for i in range(REC_KEY_TYPE - REC_DK):
                rec[REC_DK + i] = dk[i] if i < len(dk) else 0
        else:
            self.dk = bytes(rec[REC_DK : REC_DK + len(dk)])
        self.key_type = field(rec, REC_KEY_TYPE, REC_KRN, self.key_type, pack)
        self.krn = field(rec, REC_KRN, REC_KEN, self.krn, pack)
        self.ken = field(rec, REC_KEN, REC_TI, self.ken, pack)
        self.ti = field(rec, REC_TI, REC_SGC, self.ti, pack)
        self.sgc = field(rec, REC_SGC, REC_BASE_DATE, self.sgc, pack)
        self.base_date = field(rec, REC_BASE_DATE, REC_KEYCHANGE, self.base_date, pack)

    # --- the Application contract ------------------------------------------------------

    def distrust(self):
        c = self.credit  # in place: a new list is an allocation, and this is a failure path
        c[0] = c[1] = c[2] = c[3] = 0
        self.balance = 0
        if self.consumption:
            self.consumption.decide()  # the switch opens now (its timers are not run: no time here)

    def status_bits(self):
        bits = super().status_bits()
        if self.tamper:
            bits |= STATUS_TAMPER
        if (self.balance if self.currency else self.credit[0]) <= 0:  # below 0: owed
            bits |= STATUS_CREDIT_EXHAUSTED
        return bits

    def save(self, now):
        m = self.consumption  # it keeps billing what a failed save takes back (consumption.py)
        return m.save(now) if m else Application.save(self, now)

    def deadline(self, now):
        if self.busy:
            return 0  # no processing time of its own: the engine works at once
        wait = self.consumption.deadline(now) if self.consumption else -1
        if self.keychange:  # a waiting set's window
            left = self.keychange.deadline(now)
            if left >= 0:  # -1: no set waiting, nothing to take into account
                wait = left if wait < 0 else min(wait, left)
        return wait

    def submit(self, token, now):
        Application.submit(self, token, now)
        self._number = self._token.load(token)  # its bits, now: False when not 66 bits

    def step(self, now):
        if self.busy:
            status = self._work(now)
            if self.consumption:
                self.consumption.step(now)  # credit bought closes the switch at once
            return status
        if self.keychange and self.keychange.deadline(now) == 0:
            self.keychange.clear()  # the window closed: the waiting set is forgotten
            self.save(now)
        if self.consumption:
            self.consumption.step(now)
        return -1

    def _work(self, now):
        """The token, executed and its result stored: its tokenStatus. A handler and more
        than two locals would make its frame a heap object per token: the sequence number
        before the save is kept in `_due`, the stub's timer, which this engine has no use
        for (it works at once)."""
        self._due = self._seq()
        try:
            return self.finish(self._result(now), now)
        except Exception:  # out of memory: nothing of the token stays (application.py)
            return self._undo(self._due)

    def _result(self, now):
        self.last[0] = status = self._execute(self._number, now)
        return status

    # --- token execution, in the order of sts-tokens.md section 4 ----------------------

    def _execute(self, loaded, now):
        """The token submit loaded (`loaded`: False when it was not 66 bits). Each step
        below is a method of few locals: a call's frame of up to 11 words stays on the C
        stack, a larger one is a heap object per call (py/objfun.c)."""
        t = self._token
        if not loaded:
            return TS_FORMAT
        if t.token_class == TOKEN_CLASS_NON_ENCRYPTED:
            return self._class1(t)
        self._cipher.decrypt(t.bits)
        subclass = t.field(63, 4)
        currency = False
        if not t.crc_ok():
            # CRC_C marks a currency token: recognised whether or not this meter takes them
            if t.token_class != CLASS_CREDIT or subclass < CREDIT_SUBCLASSES or not t.crc_ok(True):
                return TS_CRC
            currency = True
        if not (self.currency if currency else self._supported(t.token_class, subclass)):
            return TS_FUNCTION
        if t.token_class == CLASS_MANAGEMENT and subclass in (SC_KCT1, SC_KCT2, SC_KCT3, SC_KCT4):
            return self._key_change(t, subclass, now)
        return self._apply(t, subclass, currency)

    def _key_change(self, t, subclass, now):
        status = self._keychange().take(self, t, subclass, now)  # no TID: only its own rules apply
        if status == TS_2ND_KCT or status == TS_1ST_KCT:
            self._last(subclass, 0)  # no TID: LastTID stays
        return status

    def _apply(self, t, subclass, currency):
        """The rules on the TID, then the token's value taken."""
        if self.key_type == KT_DITK:
            return TS_KEY_TYPE  # an initialisation key only carries key changes
        tid = t.field(55, 24)
        if (tid >> 16) > self.ken:
            return TS_KEY_EXPIRED
        if t.token_class == CLASS_CREDIT and self.key_type == KT_DDTK:
            return TS_DDTK
        status = self.used(tid)  # Used, Old (its own method: a loop here is a heap frame)
        if status:
            return status
        status = self._take(t, subclass, currency)  # the value taken, or -tokenStatus
        if status < 0:
            return -status
        self.remember(tid)
        self._last(subclass, status, tid)
        return TS_ACCEPT

    def _take(self, t, subclass, currency):
        """Apply the token's value: the value (LastTokenAmount), or -tokenStatus."""
        value = t.field(31, 16)
        if currency:  # sign:1 exponent:5 mantissa:14; its top 4 bits are where RND is
            value |= t.field(59, 4) << 16
            status = value >> 19  # negative
            value = amount_value(value & 0x7FFFF)  # the size; LastTokenAmount shows it
            status = self._currency(-value if status else value)
        elif t.token_class == CLASS_CREDIT:
            value = amount_value(value)
            status = self._credit(subclass, value)
        else:
            if subclass in (SC_MPL, SC_MPPUL):
                value = amount_value(value)
            status = self._management(subclass, value)
        return value if status == TS_ACCEPT else -status

    def _last(self, subclass, value, tid=-1):
        """The token just taken's class, subclass and value, and its TID (-1: it has none,
        LastTID stays): no list made per token."""
        last = self.last
        last[1] = self._token.token_class
        last[2] = subclass
        last[3] = value
        if tid >= 0:
            last[4] = tid

    def _keychange(self):
        if not self.keychange:
            from keychange import KeyChange

            self.keychange = KeyChange()
        return self.keychange

    def _supported(self, token_class, subclass):
        """Class 0 subclasses 4-7 are here only with the token CRC: edition 3 currency
        tokens carry CRC_C (see _execute)."""
        if token_class == CLASS_CREDIT:
            return subclass < CREDIT_SUBCLASSES
        if token_class == CLASS_MANAGEMENT:
            # all of 0-7 (sts-tokens.md section 3) and the key change sections 8, 9
            return subclass <= SC_WATER_FACTOR or subclass == SC_KCT3 or subclass == SC_KCT4
        return False

    def _currency(self, amount):
        """A credit to (or, negative, a debit from) the currency balance, which never goes
        below 0 (7 Range) nor over what its register shows (4 Overflow)."""
        balance = self.balance + amount
        if balance < 0:
            return TS_RANGE
        if balance > CREDIT_MAX:
            return TS_OVERFLOW
        self.balance = balance
        return TS_ACCEPT

    def _credit(self, subclass, amount):
        if self.credit[subclass] + amount > CREDIT_MAX:
            return TS_OVERFLOW
        self.credit[subclass] += amount
        return TS_ACCEPT

    def _management(self, subclass, value):
        if subclass == SC_MPL:
            self.mpl = value
        elif subclass == SC_CLEAR_CREDIT:
            if value == CLEAR_ALL:  # what is owed too; what was consumed stays counted
                self.credit = [0, 0, 0, 0]
                self.balance = 0
            elif value < CREDIT_SUBCLASSES:
                self.credit[value] = 0
            elif value < 8 and self.currency:  # 4-7: the one currency balance
                self.balance = 0
            else:
                return TS_RANGE
        elif subclass == SC_TARIFF_RATE:
            self.tariff_rate = value
        elif subclass == SC_CLEAR_TAMPER:
            self.tamper = 0
        elif subclass == SC_MPPUL:
            self.mppul = value
        else:
            self.water_factor = value
        return TS_ACCEPT

    def _class1(self, t):
        if not t.crc_ok():
            return TS_CRC
        subclass = t.field(63, 4)
        if subclass == 0:
            code = t.field(23, 8)
        elif subclass == 1:
            code = t.field(31, 16)
        else:
            return TS_FUNCTION
        if code != self.mfr_code:
            return TS_MFR_CODE
        self._last(subclass, 0)  # no TID: LastTID stays that of class 0/2
        return TS_ACCEPT

    # --- the TID store (IEC 62055-41; sts-tokens.md section 4) ---------------------------
    # The TIDs of the accepted class 0 and 2 tokens, so that no token is applied twice: at
    # least the last TID_STORE_MIN, ascending, 3 bytes each, where the record stores them
    # (record[REC_TIDS:], their count the byte before): a save copies nothing and the meter
    # keeps no second buffer or object for them. When one more is taken the oldest goes,
    # and from then on a token older than the oldest kept is Old.

    def tid(self, i):
        """The i-th TID kept, ascending."""
        b = self._record
        p = REC_TIDS + 3 * i
        return b[p] << 16 | b[p + 1] << 8 | b[p + 2]

    def used(self, tid):
        """0 when a token of this TID may be applied, else its tokenStatus (Used, Old)."""
        b = self._record
        # every one compared where it is kept, newest first, no call per TID: a Used token
        # is found whatever order the store is in (few locals: no heap frame)
        p = REC_TIDS + 3 * b[REC_TID_COUNT]
        while p > REC_TIDS:
            p -= 3
            if b[p] << 16 | b[p + 1] << 8 | b[p + 2] == tid:
                return TS_USED
        if b[REC_TID_COUNT] >= TID_STORE_MIN and tid < self.tid(0):
            return TS_OLD  # older than the oldest kept: the meter cannot tell it was unused
        return 0

    def remember(self, tid):
        """Take the TID of a token just applied (one over at first: the newest comes in
        first, over the start of what the record packs after the TIDs, which a save writes
        again)."""
        b = self._record  # few locals: more would make this a heap frame per token
        i = b[REC_TID_COUNT]
        while i > 0 and self.tid(i - 1) > tid:
            i -= 1
        for k in range(REC_TIDS + 3 * b[REC_TID_COUNT] - 1, REC_TIDS + 3 * i - 1, -1):  # the later ones up by one
            b[k + 3] = b[k]
        i = REC_TIDS + 3 * i
        b[i] = tid >> 16
        b[i + 1] = (tid >> 8) & 0xFF
        b[i + 2] = tid & 0xFF
        if b[REC_TID_COUNT] < TID_STORE_MIN:
            b[REC_TID_COUNT] += 1
        else:  # one over: the oldest goes
            for k in range(REC_TIDS, REC_TIDS + 3 * TID_STORE_MIN):
                b[k] = b[k + 3]

    @property
    def tids(self):
        """The TID store, oldest first (a copy, for host tools and tests)."""
        return [self.tid(i) for i in range(self._record[REC_TID_COUNT])]

    def forget_tids(self):
        """Empty the TID store (a rollover key change; the benchmark's repeated token)."""
        self._record[REC_TID_COUNT] = 0

    # --- companion RegisterTable 8001 (profile section 7; firmware/catalogue.py) --------

    def add_registers(self, table):
        """Readable values for the HHU. No register ever reads or writes key material."""
        table.add(COMPACT, self)

    low_credit = LOW_CREDIT_TENTHS  # LowCreditThreshold's source

    def key_change_waiting(self, k):
        """A key change set waits: its latest section's subclass (0: none)."""
        return self.keychange.state[-1] if self.keychange else 0

    def metrology(self, k):
        """SwitchState, SwitchReason, Power, PhaseUnbalance (k 0-3): 0 without metrology."""
        return self.consumption.values[k] if self.consumption else 0

    def read_register(self, rid):
        """The value of companion register `rid`: its row's source in the catalogue (an
        attribute, an element of one, or a method's answer), found by the row's place in
        the block. Methods, not properties: a property makes every attribute store on
        the object slower."""
        i = rid - 0x8000  # the row's place: registers.find checked the block holds it
        if PLACES[i] & CALL and PLACES[i] != WHOLE:  # the function, not a bound method (an object)
            return getattr(MeterApplication, SOURCES[i])(self, PLACES[i] & ~CALL)
        value = getattr(self, SOURCES[i])
        i = PLACES[i]
        if i == WHOLE:
            return value
        value = value[i & ~AT_LEAST_0]
        return 0 if i & AT_LEAST_0 and value < 0 else value
