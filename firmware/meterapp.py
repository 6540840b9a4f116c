"""The meter application process: execute IEC 62055-41 tokens (sts-tokens.md section 4).

Checks in the order of section 4 and answers each rejection with its tokenStatus. The
whole application state (credit per service, TID store, settings, last result) is one
storage record, replaced atomically after every token: a power cut before the replace
leaves the token unapplied (the HHU sees no Accept and may enter it again), a cut after
it leaves it applied once; the TID store then refuses it as Used.

Not yet here (issue 3 continues): EA09 DES decryption and the two-token key change;
such tokens are answered with tokenStatus 8 (Function).
"""
import struct

from application import Application
from formats import FMT_D
from registers import Register
from sta import Sta
from tables import (
    CLASS_CREDIT,
    CLASS_MANAGEMENT,
    CLEAR_ALL,
    CREDIT_MAX,
    CREDIT_SUBCLASSES,
    KT_DDTK,
    KT_DITK,
    STATUS_CREDIT_EXHAUSTED,
    STATUS_TAMPER,
    TID_STORE_MIN,
    TOKEN_CLASS_NON_ENCRYPTED,
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
from tokens import Token, amount_value, bits_from_bytes

METER_NUMBER = "600727000000000009"  # the unix board's identity (sts-tokens.md vectors)
_RECORD = "meter"
# credit x4, MPL, tariff rate, water factor, MPPUL, tamper, last status/class/subclass,
# last value, last TID, TID count; then the TIDs, 3 bytes each
_HEAD = ">4QIHHIBBBBIIB"
_HEAD_SIZE = struct.calcsize(_HEAD)

# Class 2 subclasses this meter executes (sts-tokens.md section 3)
_MPL = 0
_CLEAR_CREDIT = 1
_TARIFF_RATE = 2
_CLEAR_TAMPER = 5
_MPPUL = 6
_WATER_FACTOR = 7


class MeterApplication(Application):
    def __init__(self, store, config):
        super().__init__(store)
        self.meter_number = config.get("meter_number", METER_NUMBER)
        self.algorithm = config.get("algorithm", "sta")
        self.key_type = int(config.get("key_type", "2"))
        self.sgc = int(config.get("sgc", "123456"))
        self.ti = int(config.get("ti", "1"))
        self.krn = int(config.get("krn", "1"))
        self.ken = int(config.get("ken", "255"))
        self.base_date = int(config.get("base_date", "1993"))
        self.mfr_code = int(config.get("mfr_code", "0"))
        self.currency = config.get("currency", "0") == "1"
        key = bytearray(64)
        bits_from_bytes(bytes.fromhex(config.get("dk", "E653341F9D5BF36F")), key)
        self._cipher = Sta(key) if self.algorithm == "sta" else None
        self._token = Token()
        self._number = 0
        self._reset_state()
        self._load()

    def _reset_state(self):
        self.credit = [0, 0, 0, 0]
        self.mpl = 0
        self.tariff_rate = 0
        self.water_factor = 0
        self.mppul = 0
        self.tamper = 0
        self.last = [0, 0, 0, 0, 0]  # status, class, subclass, decoded value, TID
        self.tids = []  # ascending; the oldest is dropped when more than TID_STORE_MIN

    # --- persistence -------------------------------------------------------------------

    def _load(self):
        data = self.store.load(_RECORD) if self.store else None
        if not data or len(data) < _HEAD_SIZE:
            return
        f = struct.unpack(_HEAD, data[:_HEAD_SIZE])
        self.credit = list(f[0:4])
        self.mpl, self.tariff_rate, self.water_factor, self.mppul, self.tamper = f[4:9]
        self.last = list(f[9:14])
        count = f[14]
        tids = []
        for i in range(count):
            p = _HEAD_SIZE + 3 * i
            tids.append(data[p] << 16 | data[p + 1] << 8 | data[p + 2])
        self.tids = tids
        self.token_status = self.last[0]

    def _save(self):
        if not self.store:
            return
        last = self.last
        head = struct.pack(_HEAD, self.credit[0], self.credit[1], self.credit[2], self.credit[3],
                           self.mpl, self.tariff_rate, self.water_factor, self.mppul, self.tamper,
                           last[0], last[1], last[2], last[3], last[4], len(self.tids))
        body = bytearray(3 * len(self.tids))
        for i in range(len(self.tids)):
            t = self.tids[i]
            body[3 * i] = t >> 16
            body[3 * i + 1] = (t >> 8) & 0xFF
            body[3 * i + 2] = t & 0xFF
        self.store.save(_RECORD, head + body)

    # --- the Application contract ------------------------------------------------------

    def status_bits(self):
        bits = super().status_bits()
        if self.tamper:
            bits |= STATUS_TAMPER
        if self.credit[0] == 0:
            bits |= STATUS_CREDIT_EXHAUSTED
        return bits

    def submit(self, token, now):
        self._number = token
        self.busy = True
        self.token_status = TS_NOT_READY

    def deadline(self, now):
        return 0 if self.busy else -1

    def step(self, now):
        if not self.busy:
            return -1
        status = self._execute(self._number)
        self.last[0] = status
        try:
            self._save()
        except Exception:
            # the record was not replaced: nothing of this token happened, as stored
            self.busy = False
            self._reset_state()
            self._load()
            self.token_status = self.last[0]
            raise
        self.busy = False
        self.token_status = status
        return status

    # --- token execution, in the order of sts-tokens.md section 4 ----------------------

    def _execute(self, number):
        t = self._token
        if not t.load(number):
            return TS_FORMAT
        token_class = t.token_class
        if token_class == TOKEN_CLASS_NON_ENCRYPTED:
            return self._class1(t)
        if self._cipher is None:  # EA09 and EA11 are not built in yet
            return TS_FUNCTION
        self._cipher.decrypt(t.bits)
        if not t.crc_ok():
            return TS_CRC
        subclass = t.field(63, 4)
        if not self._supported(token_class, subclass):
            return TS_FUNCTION
        if self.key_type == KT_DITK:
            return TS_KEY_TYPE  # an initialisation key only carries key changes
        tid = t.field(55, 24)
        if (tid >> 16) > self.ken:
            return TS_KEY_EXPIRED
        if token_class == CLASS_CREDIT and self.key_type == KT_DDTK:
            return TS_DDTK
        if tid in self.tids:
            return TS_USED
        if len(self.tids) >= TID_STORE_MIN and tid < self.tids[0]:
            return TS_OLD
        value = t.field(31, 16)
        if token_class == CLASS_CREDIT or subclass in (_MPL, _MPPUL):
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
            return subclass in (_MPL, _CLEAR_CREDIT, _TARIFF_RATE, _CLEAR_TAMPER, _MPPUL, _WATER_FACTOR)
        return False

    def _credit(self, subclass, amount):
        register = subclass if subclass < CREDIT_SUBCLASSES else 0  # currency: one register
        if self.credit[register] + amount > CREDIT_MAX:
            return TS_OVERFLOW
        self.credit[register] += amount
        return TS_ACCEPT

    def _management(self, subclass, value):
        if subclass == _MPL:
            self.mpl = value
        elif subclass == _CLEAR_CREDIT:
            if value == CLEAR_ALL:
                self.credit = [0, 0, 0, 0]
            elif value < CREDIT_SUBCLASSES:
                self.credit[value] = 0
            else:
                return TS_RANGE
        elif subclass == _TARIFF_RATE:
            self.tariff_rate = value
        elif subclass == _CLEAR_TAMPER:
            self.tamper = 0
        elif subclass == _MPPUL:
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
        self.last[1:4] = [1, subclass, 0]  # no TID: LastTID stays that of class 0/2
        return TS_ACCEPT

    def _remember(self, tid):
        tids = self.tids
        i = len(tids)
        while i > 0 and tids[i - 1] > tid:
            i -= 1
        tids.insert(i, tid)
        if len(tids) > TID_STORE_MIN:
            tids.pop(0)

    # --- companion RegisterTable 8001 (profile section 7) ------------------------------

    def add_registers(self, table):
        """Readable values for the HHU. No register ever reads or writes key material."""
        d = FMT_D
        regs = (
            (0x8000, "MeterNumber", 18, lambda: int(self.meter_number)),
            (0x8001, "CreditElectricity", 10, lambda: self.credit[0]),
            (0x8002, "CreditWater", 10, lambda: self.credit[1]),
            (0x8003, "CreditGas", 10, lambda: self.credit[2]),
            (0x8004, "CreditTime", 10, lambda: self.credit[3]),
            (0x8005, "MaximumPowerLimit", 10, lambda: self.mpl),
            (0x8006, "TariffIndex", 2, lambda: self.ti),
            (0x8007, "SupplyGroupCode", 6, lambda: self.sgc),
            (0x8008, "KeyRevisionNumber", 1, lambda: self.krn),
            (0x8009, "KeyType", 1, lambda: self.key_type),
            (0x800A, "KeyExpiryNumber", 3, lambda: self.ken),
            (0x800B, "LastTID", 8, lambda: self.last[4]),
            (0x800C, "TamperStatus", 1, lambda: self.tamper),
            (0x800D, "TotalEnergyConsumed", 10, lambda: 0),
            (0x800E, "LastTokenClass", 1, lambda: self.last[1]),
            (0x800F, "LastTokenSubclass", 2, lambda: self.last[2]),
            (0x8010, "LastTokenAmount", 10, lambda: self.last[3]),  # decoded value
            (0x8011, "TariffRate", 5, lambda: self.tariff_rate),
            (0x8012, "WaterMeterFactor", 5, lambda: self.water_factor),
            (0x8013, "MaximumPhasePowerUnbalanceLimit", 10, lambda: self.mppul),
            (0x8014, "BaseDate", 4, lambda: self.base_date),
        )
        for rid, name, width, read in regs:
            table.add(Register(rid, name, d, width, read))
