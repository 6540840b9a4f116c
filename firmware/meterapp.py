"""The meter application process: execute IEC 62055-41 tokens (sts-tokens.md section 4).

Checks in the order of section 4 and answers each rejection with its tokenStatus. The
whole application state (credit per service, TID store, settings, the decoder key and a
waiting key change half, last result) is the application's part of the meter's one
storage record (application.py), saved after every token together with the lockout
count: a power cut before the save leaves the token unapplied (the HHU sees no Accept and
may enter it again), a cut after it leaves it applied once; the TID store then refuses it
as Used.

The decoder key comes from the configuration (the key the meter was made with) until a
key change replaces it; from then on the stored key rules. A key change is two tokens,
Set1stSectionDecoderKey (class 2 subclass 3) and Set2ndSectionDecoderKey (subclass 4),
both under the current key, in either order, within KCT_WINDOW_MS of each other: the
first to arrive answers 2 (1stKCT) and waits, the one that completes the pair answers
3 (2ndKCT) and the new key is in use.
"""
import struct

from application import Application
from formats import FMT_D
from registers import Register
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
    KCT_WINDOW_MS,
    KEN_NEVER,
    KRN_MAX,
    KRN_MIN,
    KT_DDTK,
    KT_DITK,
    SC_CLEAR_CREDIT,
    SC_CLEAR_TAMPER,
    SC_KCT1,
    SC_KCT2,
    SC_MPL,
    SC_MPPUL,
    SC_TARIFF_RATE,
    SC_WATER_FACTOR,
    STATUS_CREDIT_EXHAUSTED,
    STATUS_TAMPER,
    TI_MAX,
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
    TS_NOT_READY,
    TS_OLD,
    TS_OVERFLOW,
    TS_RANGE,
    TS_USED,
)
from ticks import ticks_add, ticks_diff
from tokens import Token, amount_value, bits_from_bytes

METER_NUMBER = "600727000000000009"  # the unix board's identity (sts-tokens.md vectors)
DEFAULT_DK = "E653341F9D5BF36F"  # and its decoder key (EA07, the vectors' key)
ALGORITHMS = {"sta": EA_STA, "des": EA_DES, "misty1": EA_MISTY1}
# credit x4, MPL, tariff rate, water factor, MPPUL, tamper; last status, class,
# subclass, value, TID; key from a key change (0/1), key, KT, KRN, KEN, TI, base date;
# waiting key change half: subclass (0 none), KEN nibble, KRN|RO|KT or TI, key half;
# TID count; then the TIDs, 3 bytes each
_HEAD = ">4QIHHIBBBBIIB8sBBBBHBBBIB"
_HEAD_SIZE = struct.calcsize(_HEAD)


class MeterApplication(Application):
    RECORD = "meter"
    VERSION = 3  # 2: the record before redundant copies and the lockout in it
    STATE_SIZE = _HEAD_SIZE + 3 * TID_STORE_MIN

    def __init__(self, store, config, now=0, lockout=None):
        self.meter_number = config.get("meter_number", METER_NUMBER)
        algorithm = config.get("algorithm", "sta")
        if algorithm not in ALGORITHMS:
            raise ValueError("algorithm must be sta, des or misty1, not " + algorithm)
        self.algorithm = ALGORITHMS[algorithm]
        self.sgc = int(config.get("sgc", 123456))
        self.mfr_code = int(config.get("mfr_code", 0))
        self.currency = config.get("currency", "0") == "1"
        dk = bytes.fromhex(config.get("dk", DEFAULT_DK))
        if len(dk) != 8 and (len(dk) != 16 or self.algorithm != EA_MISTY1):
            raise ValueError("dk must be 16 hex digits (misty1: 32)")
        self._factory = (dk, int(config.get("key_type", 2)), int(config.get("krn", 1)),
                         int(config.get("ken", KEN_NEVER)), int(config.get("ti", 1)),
                         int(config.get("base_date", BASE_DATES[0])))
        if self._factory[5] not in BASE_DATES:
            raise ValueError("base_date must be one of 1993, 2014, 2035")
        self._token = Token()
        # The TID store, ascending in _tids[:_tid_count]; the oldest is dropped when there are
        # more than TID_STORE_MIN. Its room is taken once: a list growing in mid-life needs a
        # contiguous block that a small, fragmented heap may no longer have.
        self._tids = [0] * (TID_STORE_MIN + 1)
        super().__init__(store, now, lockout)
        self.load(now)
        self.token_status = self.last[0]
        self._pending_at = now  # a half waiting since before a restart gets a full window

    def reset_state(self):
        self.credit = [0, 0, 0, 0]
        self.mpl = 0
        self.tariff_rate = 0
        self.water_factor = 0
        self.mppul = 0
        self.tamper = 0
        self.last = [0, 0, 0, 0, 0]  # status, class, subclass, decoded value, TID
        self.key_changed = 0
        self.dk, self.key_type, self.krn, self.ken, self.ti, self.base_date = self._factory
        self.pending = [0, 0, 0, 0]  # waiting key change half: subclass, KEN nibble, byte, key half
        self._tid_count = 0
        self._new_cipher()

    def _new_cipher(self):
        key = bytearray(8 * len(self.dk))  # an EA11 key has 128 bits
        bits_from_bytes(self.dk, key)
        # imported here so that a meter loads only the algorithm its key uses
        if self.algorithm == EA_STA:
            from sta import Sta

            self._cipher = Sta(key)
        elif self.algorithm == EA_DES:
            from des import Des

            self._cipher = Des(key)
        else:
            self._cipher = None  # EA11 MISTY1 is not built in

    # --- the record (application.py stores it) ---------------------------------------

    def unpack_state(self, data, pos):
        if len(data) < pos + _HEAD_SIZE:
            return False
        f = struct.unpack_from(_HEAD, data, pos)
        count = f[25]
        if count > TID_STORE_MIN or len(data) != pos + _HEAD_SIZE + 3 * count:
            return False  # checked before anything is taken from it
        self.credit = list(f[0:4])
        self.mpl, self.tariff_rate, self.water_factor, self.mppul, self.tamper = f[4:9]
        self.last = list(f[9:14])
        self.key_changed = f[14]
        if self.key_changed:
            self.dk, self.key_type, self.krn, self.ken, self.ti, self.base_date = f[15:21]
            self._new_cipher()
        self.pending = list(f[21:25])
        pos += _HEAD_SIZE
        for i in range(count):
            p = pos + 3 * i
            self._tids[i] = data[p] << 16 | data[p + 1] << 8 | data[p + 2]
        self._tid_count = count
        self.token_status = self.last[0]
        return True

    def pack_state(self, rec, pos):
        c = self.credit
        last = self.last
        p = self.pending
        struct.pack_into(_HEAD, rec, pos, c[0], c[1], c[2], c[3],
                         self.mpl, self.tariff_rate, self.water_factor, self.mppul, self.tamper,
                         last[0], last[1], last[2], last[3], last[4],
                         self.key_changed, self.dk, self.key_type, self.krn, self.ken, self.ti,
                         self.base_date, p[0], p[1], p[2], p[3], self._tid_count)
        n = pos + _HEAD_SIZE
        tids = self._tids
        for i in range(self._tid_count):
            t = tids[i]
            rec[n] = t >> 16
            rec[n + 1] = (t >> 8) & 0xFF
            rec[n + 2] = t & 0xFF
            n += 3
        return n

    # --- the Application contract ------------------------------------------------------

    def status_bits(self):
        bits = super().status_bits()
        if self.tamper:
            bits |= STATUS_TAMPER
        if self.credit[0] == 0:
            bits |= STATUS_CREDIT_EXHAUSTED
        return bits

    def deadline(self, now):
        if self.busy:
            return 0  # no processing time of its own: the engine works at once
        if self.pending[0]:  # the waiting half's window closes then
            left = ticks_diff(ticks_add(self._pending_at, KCT_WINDOW_MS), now)
            return left if left > 0 else 0
        return -1

    def step(self, now):
        if self.busy:
            self.last[0] = status = self._execute(self._number, now)
            return self.finish(status, now)
        if self.pending[0] and self.deadline(now) == 0:
            self.pending = [0, 0, 0, 0]  # the window closed: the half is forgotten
            self.save(now)
        return -1

    # --- token execution, in the order of sts-tokens.md section 4 ----------------------

    def _execute(self, number, now):
        t = self._token
        if not t.load(number):
            return TS_FORMAT
        token_class = t.token_class
        if token_class == TOKEN_CLASS_NON_ENCRYPTED:
            return self._class1(t)
        if self._cipher is None:  # EA11: this meter cannot decrypt any class 0 or 2 token
            return TS_FUNCTION
        self._cipher.decrypt(t.bits)
        if not t.crc_ok():
            return TS_CRC
        subclass = t.field(63, 4)
        if not self._supported(token_class, subclass):
            return TS_FUNCTION
        if token_class == CLASS_MANAGEMENT and (subclass == SC_KCT1 or subclass == SC_KCT2):
            return self._key_change(t, subclass, now)  # no TID: only its own rules apply
        if self.key_type == KT_DITK:
            return TS_KEY_TYPE  # an initialisation key only carries key changes
        tid = t.field(55, 24)
        if (tid >> 16) > self.ken:
            return TS_KEY_EXPIRED
        if token_class == CLASS_CREDIT and self.key_type == KT_DDTK:
            return TS_DDTK
        tids = self._tids
        count = self._tid_count
        for i in range(count):
            if tids[i] == tid:
                return TS_USED
        if count >= TID_STORE_MIN and tid < tids[0]:
            return TS_OLD
        value = t.field(31, 16)
        if token_class == CLASS_CREDIT or subclass in (SC_MPL, SC_MPPUL):
            value = amount_value(value)
        if token_class == CLASS_CREDIT:
            status = self._credit(subclass, value)
        else:
            status = self._management(subclass, value)
        if status == TS_ACCEPT:
            self._remember(tid)
            self.last[1:] = [token_class, subclass, value, tid]
        return status

    def _supported(self, token_class, subclass):
        if token_class == CLASS_CREDIT:
            return subclass < CREDIT_SUBCLASSES or self.currency
        if token_class == CLASS_MANAGEMENT:
            return subclass <= SC_WATER_FACTOR  # all of 0-7 (sts-tokens.md section 3)
        return False

    def _key_change(self, t, subclass, now):
        """One half of a key change: 1st `3 | KENHO | KRN | RO | res | KT | NKHO`,
        2nd `4 | KENLO | TI | NKLO` (sts-tokens.md section 3)."""
        nibble = t.field(59, 4)
        byte = t.field(55, 8)
        if subclass == SC_KCT1:
            if byte & 3 == KT_DITK:
                return TS_KEY_TYPE  # a meter is never put back to its initialisation key
            if not KRN_MIN <= byte >> 4 <= KRN_MAX:
                return TS_RANGE
            if byte & 8 and self.base_date == BASE_DATES[-1]:
                return TS_RANGE  # a TID rollover with no later base date
        elif byte > TI_MAX:
            return TS_RANGE
        half = t.field(47, 32)
        p = self.pending
        self.last[1:4] = [CLASS_MANAGEMENT, subclass, 0]  # no TID: LastTID stays
        if p[0] == 0 or p[0] == subclass or ticks_diff(now, self._pending_at) >= KCT_WINDOW_MS:
            self.pending = [subclass, nibble, byte, half]  # a newer half replaces a waiting one
            self._pending_at = now
            return TS_1ST_KCT
        if subclass == SC_KCT2:
            p, nibble, byte, half = [SC_KCT2, nibble, byte, half], p[1], p[2], p[3]
        # now (nibble, byte, half) is the 1st section and p the 2nd
        self.dk = half.to_bytes(4, "big") + p[3].to_bytes(4, "big")
        self.ken = nibble << 4 | p[1]
        self.krn = byte >> 4
        self.key_type = byte & 3
        self.ti = p[2]
        if byte & 8:  # rollover: TIDs count from the next base date, the old ones mean nothing
            self.base_date = BASE_DATES[BASE_DATES.index(self.base_date) + 1]
            self.forget_tids()
        self.key_changed = 1
        self.pending = [0, 0, 0, 0]
        self._new_cipher()
        return TS_2ND_KCT

    def _credit(self, subclass, amount):
        register = subclass if subclass < CREDIT_SUBCLASSES else 0  # currency: one register
        if self.credit[register] + amount > CREDIT_MAX:
            return TS_OVERFLOW
        self.credit[register] += amount
        return TS_ACCEPT

    def _management(self, subclass, value):
        if subclass == SC_MPL:
            self.mpl = value
        elif subclass == SC_CLEAR_CREDIT:
            if value == CLEAR_ALL:
                self.credit = [0, 0, 0, 0]
            elif value < CREDIT_SUBCLASSES:
                self.credit[value] = 0
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
        self.last[1:4] = [TOKEN_CLASS_NON_ENCRYPTED, subclass, 0]  # no TID: LastTID stays that of class 0/2
        return TS_ACCEPT

    def _remember(self, tid):
        tids = self._tids
        i = self._tid_count
        while i > 0 and tids[i - 1] > tid:
            tids[i] = tids[i - 1]
            i -= 1
        tids[i] = tid
        if self._tid_count < TID_STORE_MIN:
            self._tid_count += 1
        else:  # one over: the oldest goes
            for i in range(TID_STORE_MIN):
                tids[i] = tids[i + 1]

    @property
    def tids(self):
        """The TID store, oldest first (a copy, for host tools and tests)."""
        return self._tids[:self._tid_count]

    def forget_tids(self):
        """Empty the TID store (a rollover key change; the benchmark's repeated token)."""
        self._tid_count = 0

    # --- companion RegisterTable 8001 (profile section 7) ------------------------------

    def add_registers(self, table):
        """Readable values for the HHU. No register ever reads or writes key material."""
        d = FMT_D
        read = self.read_register
        for rid, width in (
            (0x8000, 18),  # MeterNumber
            (0x8001, 10),  # CreditElectricity
            (0x8002, 10),  # CreditWater
            (0x8003, 10),  # CreditGas
            (0x8004, 10),  # CreditTime
            (0x8005, 10),  # MaximumPowerLimit
            (0x8006, 2),  # TariffIndex
            (0x8007, 6),  # SupplyGroupCode
            (0x8008, 1),  # KeyRevisionNumber
            (0x8009, 1),  # KeyType
            (0x800A, 3),  # KeyExpiryNumber
            (0x800B, 8),  # LastTID
            (0x800C, 1),  # TamperStatus
            (0x800D, 10),  # TotalEnergyConsumed
            (0x800E, 1),  # LastTokenClass
            (0x800F, 2),  # LastTokenSubclass
            (0x8010, 10),  # LastTokenAmount (decoded value)
            (0x8011, 5),  # TariffRate
            (0x8012, 5),  # WaterMeterFactor
            (0x8013, 10),  # MaximumPhasePowerUnbalanceLimit
            (0x8014, 4),  # BaseDate
            (0x8015, 2),  # EncryptionAlgorithm
            (0x8016, 1),  # KeyChangeHalfWaiting
            (0x8017, 1),  # StorageFault: reason (tables STORE_*), 0 when all is well
        ):
            table.add(Register(rid, d, width, read))

    def read_register(self, rid):
        """The value of companion register `rid`, in the order of the table above."""
        n = rid - 0x8000
        if n == 0:
            return int(self.meter_number)
        if n <= 4:
            return self.credit[n - 1]
        if n <= 0x0A:
            return (self.mpl, self.ti, self.sgc, self.krn, self.key_type, self.ken)[n - 5]
        if n == 0x0B:
            return self.last[4]  # TID
        if n == 0x0C:
            return self.tamper
        if n == 0x0D:
            return 0  # no metrology in this firmware
        if n <= 0x10:
            return self.last[n - 0x0D]  # class, subclass, decoded value
        if n <= 0x15:
            return (self.tariff_rate, self.water_factor, self.mppul, self.base_date, self.algorithm)[n - 0x11]
        if n == 0x16:
            return self.pending[0]  # a key change half is waiting: its subclass, else 0
        return self.fault
