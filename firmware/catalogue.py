"""The companion RegisterTable 8001 (profile section 7 and this firmware's additions): one
row per register, written once, read by the firmware and by the HHU.

A row is (ID, name, format, width, unit, access, meaning). The unit "0.1 kWh" means the
value counts tenths of a kWh. Access "R" is read-only (every companion register is).

The meter speaks only IDs, so the names must not reach its RAM: the firmware imports only
COMPACT (the rows as firmware/registers.py takes them: ID, format, width, access), and tools/build_firmware.py
builds this module for a board as that one bytes constant, the rows left out. The HHU
(tools/hhu.py) reads ROWS whole.
"""
ROWS = (
    (0x8000, "MeterNumber", "D", 18, "", "R", "the meter number (IIN, DRN, check digit)"),
    (0x8001, "CreditElectricity", "D", 10, "0.1 kWh", "R", "credit left; 0 when exhausted"),
    (0x8002, "CreditWater", "D", 10, "0.1 m3", "R", "credit left"),
    (0x8003, "CreditGas", "D", 10, "0.1 m3", "R", "credit left"),
    (0x8004, "CreditTime", "D", 10, "0.1 min", "R", "credit left"),
    (0x8005, "MaximumPowerLimit", "D", 10, "W", "R", "the switch opens above it after a hold time; 0: none"),
    (0x8006, "TariffIndex", "D", 2, "", "R", "TI of the decoder key"),
    (0x8007, "SupplyGroupCode", "D", 6, "", "R", "SGC of the decoder key"),
    (0x8008, "KeyRevisionNumber", "D", 1, "", "R", "KRN of the decoder key"),
    (0x8009, "KeyType", "D", 1, "", "R", "0 DITK, 1 DDTK, 2 DUTK, 3 DCTK"),
    (0x800A, "KeyExpiryNumber", "D", 3, "", "R", "KEN; 255 never expires"),
    (0x800B, "LastTID", "D", 8, "min after the base date", "R", "TID of the last accepted token"),
    (0x800C, "TamperStatus", "D", 1, "", "R", "1: tamper (or metrology fault) seen"),
    (0x800D, "TotalEnergyConsumed", "D", 10, "0.1 kWh", "R", "electricity consumed"),
    (0x800E, "LastTokenClass", "D", 1, "", "R", "class of the last token"),
    (0x800F, "LastTokenSubclass", "D", 2, "", "R", "subclass of the last token"),
    (0x8010, "LastTokenAmount", "D", 10, "", "R", "decoded value of the last token"),
    (0x8011, "TariffRate", "D", 5, "", "R", "from a SetTariffRate token"),
    (0x8012, "WaterMeterFactor", "D", 5, "", "R", "from a SetWaterMeterFactor token"),
    (0x8013, "MaximumPhasePowerUnbalanceLimit", "D", 10, "W", "R", "the switch opens above it after a hold time; 0: none"),
    (0x8014, "BaseDate", "D", 4, "", "R", "TID base date year"),
    (0x8015, "EncryptionAlgorithm", "D", 2, "", "R", "7 EA07, 9 EA09, 11 EA11"),
    (0x8016, "KeyChangeHalfWaiting", "D", 1, "", "R", "subclass of a waiting key change section"),
    (0x8017, "CreditCurrency", "D", 10, "0.00001", "R", "currency balance"),
    (0x8018, "StorageFault", "D", 1, "", "R", "0 ok, else the fault (docs/storage.md)"),
    (0x8019, "SwitchState", "D", 1, "", "R", "0 closed, 1 closed with low credit, 2 open"),
    (0x801A, "SwitchReason", "D", 1, "", "R",
     "0 none, 1 low credit, 2 credit exhausted, 3 over power, 4 phase unbalance, 5 relay fault"),
    (0x801B, "Power", "D", 6, "W", "R", "present power, as the metrology last measured it"),
    (0x801C, "LowCreditThreshold", "D", 10, "0.1 kWh", "R", "at or below it: the low-credit warning"),
    (0x801D, "WaterConsumed", "D", 10, "0.1 m3", "R", "water consumed"),
    (0x801E, "GasConsumed", "D", 10, "0.1 m3", "R", "gas consumed"),
    (0x801F, "TimeConsumed", "D", 10, "0.1 min", "R", "time consumed"),
    (0x8020, "PhaseUnbalance", "D", 6, "W", "R", "present unbalance between phases (0: one phase)"),
    (0x8021, "LoopFaults", "D", 5, "", "R", "exceptions the board loop's guard caught, ever (stored)"),
)


def compact(rows=ROWS):
    """registers.py's rows: ID (2 bytes), format letter, width, access bits."""
    from registers import READ, WRITE

    return bytes(b for r in rows for b in (r[0] >> 8, r[0] & 0xFF, ord(r[2]), r[3],
                                           (READ if "R" in r[5] else 0) | (WRITE if "W" in r[5] else 0)))


COMPACT = compact()
