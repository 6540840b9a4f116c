"""The companion RegisterTable 8001 (profile section 7 and this firmware's additions): one
row per register, written once, read by the firmware and by the HHU.

A row is (ID, name, format, width, unit, access, meaning, source). The unit "0.1 kWh"
means the value counts tenths of a kWh. Access "R" is read-only (every companion register
is). The source binds the register to its value in the meter application
(firmware/meterapp.py): an attribute, element k of one ("credit[0]"; a trailing "+"
shows a value below 0 as 0), or what a method given k answers ("metrology(2)"). The value
travels with its row, so a row added anywhere
cannot shift another's value.

The meter speaks only IDs, so the names must not reach its RAM: the firmware imports only
COMPACT (the rows as firmware/registers.py takes them: ID, format, width, access) and the
sources (SOURCES, PLACES), and tools/build_firmware.py writes those into meterapp for a
board as constants, the rows left out. The HHU (tools/hhu.py) reads ROWS whole.
"""

ROWS = (
    (0x8000, "MeterNumber", "D", 18, "", "R", "the meter number (IIN, DRN, check digit)", "meter_number"),
    (0x8001, "CreditElectricity", "D", 10, "0.1 kWh", "R", "credit left; 0 when exhausted", "credit[0]+"),
    (0x8002, "CreditWater", "D", 10, "0.1 m3", "R", "credit left", "credit[1]+"),
    (0x8003, "CreditGas", "D", 10, "0.1 m3", "R", "credit left", "credit[2]+"),
    (0x8004, "CreditTime", "D", 10, "0.1 min", "R", "credit left", "credit[3]+"),
    (0x8005, "MaximumPowerLimit", "D", 10, "W", "R", "the switch opens above it after a hold time; 0: none", "mpl"),
    (0x8006, "TariffIndex", "D", 2, "", "R", "TI of the decoder key", "ti"),
    (0x8007, "SupplyGroupCode", "D", 6, "", "R", "SGC of the decoder key", "sgc"),
    (0x8008, "KeyRevisionNumber", "D", 1, "", "R", "KRN of the decoder key", "krn"),
    (0x8009, "KeyType", "D", 1, "", "R", "0 DITK, 1 DDTK, 2 DUTK, 3 DCTK", "key_type"),
    (0x800A, "KeyExpiryNumber", "D", 3, "", "R", "KEN; 255 never expires", "ken"),
    (0x800B, "LastTID", "D", 8, "min after the base date", "R", "TID of the last accepted token", "last[4]"),
    (0x800C, "TamperStatus", "D", 1, "", "R", "1: tamper (or metrology fault) seen", "tamper"),
    (0x800D, "TotalEnergyConsumed", "D", 10, "0.1 kWh", "R", "electricity consumed", "usage[0]"),
    (0x800E, "LastTokenClass", "D", 1, "", "R", "class of the last token", "last[1]"),
    (0x800F, "LastTokenSubclass", "D", 2, "", "R", "subclass of the last token", "last[2]"),
    (0x8010, "LastTokenAmount", "D", 10, "", "R", "decoded value of the last token", "last[3]"),
    (0x8011, "TariffRate", "D", 5, "", "R", "from a SetTariffRate token", "tariff_rate"),
    (0x8012, "WaterMeterFactor", "D", 5, "", "R", "from a SetWaterMeterFactor token", "water_factor"),
    (
        0x8013,
        "MaximumPhasePowerUnbalanceLimit",
        "D",
        10,
        "W",
        "R",
        "the switch opens above it after a hold time; 0: none",
        "mppul",
    ),
    (0x8014, "BaseDate", "D", 4, "", "R", "TID base date year", "base_date"),
    (0x8015, "EncryptionAlgorithm", "D", 2, "", "R", "7 EA07, 9 EA09, 11 EA11", "algorithm"),
    (
        0x8016,
        "KeyChangeHalfWaiting",
        "D",
        1,
        "",
        "R",
        "subclass of a waiting key change section",
        "key_change_waiting(0)",
    ),
    (0x8017, "CreditCurrency", "D", 10, "0.00001", "R", "currency balance", "balance"),
    (0x8018, "StorageFault", "D", 1, "", "R", "0 ok, else the fault (docs/storage.md)", "fault"),
    (0x8019, "SwitchState", "D", 1, "", "R", "0 closed, 1 closed with low credit, 2 open", "metrology(0)"),
    (
        0x801A,
        "SwitchReason",
        "D",
        1,
        "",
        "R",
        "0 none, 1 low credit, 2 credit exhausted, 3 over power, 4 phase unbalance, 5 relay fault",
        "metrology(1)",
    ),
    (0x801B, "Power", "D", 6, "W", "R", "present power, as the metrology last measured it", "metrology(2)"),
    (0x801C, "LowCreditThreshold", "D", 10, "0.1 kWh", "R", "at or below it: the low-credit warning", "low_credit"),
    (0x801D, "WaterConsumed", "D", 10, "0.1 m3", "R", "water consumed", "usage[1]"),
    (0x801E, "GasConsumed", "D", 10, "0.1 m3", "R", "gas consumed", "usage[2]"),
    (0x801F, "TimeConsumed", "D", 10, "0.1 min", "R", "time consumed", "usage[3]"),
    (0x8020, "PhaseUnbalance", "D", 6, "W", "R", "present unbalance between phases (0: one phase)", "metrology(3)"),
    (0x8021, "LoopFaults", "D", 5, "", "R", "exceptions the board loop's guard caught, ever (stored)", "faults"),
)


def compact(rows=ROWS):
    """registers.py's rows: ID (2 bytes), format letter, width, access bits."""
    from registers import READ, WRITE

    return bytes(
        b
        for r in rows
        for b in (r[0] >> 8, r[0] & 0xFF, ord(r[2]), r[3], (READ if "R" in r[5] else 0) | (WRITE if "W" in r[5] else 0))
    )


# PLACES: per row, what of its SOURCES attribute: WHOLE for the attribute itself, k for
# element k, k | AT_LEAST_0 for element k shown as 0 below 0, k | CALL for the method
# called with k
WHOLE = 0xFF
AT_LEAST_0 = 0x80
CALL = 0x40


def sources(rows=ROWS):
    """(SOURCES, PLACES): per row, in order, the attribute its value is read from and the
    element of it (meterapp.read_register)."""
    names = []
    places = bytearray()
    for r in rows:
        source = r[7]
        place = WHOLE
        clamp = source.endswith("+")
        if clamp:
            source = source[:-1]
        if source.endswith("]"):
            source, k = source[:-1].split("[")
            place = int(k) | (AT_LEAST_0 if clamp else 0)
        elif source.endswith(")"):
            source, k = source[:-1].split("(")
            place = int(k) | CALL
        names.append(source)
        places.append(place)
    return tuple(names), bytes(places)


COMPACT = compact()
SOURCES, PLACES = sources()
