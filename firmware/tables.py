"""Every number the firmware takes from a standard or from the project's profile.

One place, each with its source, so that someone holding IEC 62055-52 can correct a value
without hunting for it. Sources as in ../shared/spec/vtc07-profile.md:
  STD  structure of IEC 62055-52 (clause given)
  21   taken from IEC 62056-21, which 62055-52 cuts down
  OWN  this profile's own choice where the standard's text is not public
  41   IEC 62055-41 (token standard), as ../shared/spec/sts-tokens.md states it
"""

from micropython import const

# --- Characters (clause 6.4; 21: ISO/IEC 646 control characters) ---
SOH = const(0x01)
STX = const(0x02)
ETX = const(0x03)
ACK = const(0x06)
NAK = const(0x15)
CR = const(0x0D)
LF = const(0x0A)
START = const(0x2F)  # '/'  starts IDRequest and IDResponse
REQUEST = const(0x3F)  # '?'
END = const(0x21)  # '!'
OPEN = const(0x28)  # '('
CLOSE = const(0x29)  # ')'
# command message identifier and type (21: R1 read, W1 write, B0 break = sign off)
CMD_READ = const(0x52)  # 'R'
CMD_WRITE = const(0x57)  # 'W'
CMD_BREAK = const(0x42)  # 'B'
CMD_TYPE_DATA = const(0x31)  # '1' after R and W: the value travels as data
CMD_TYPE_BREAK = const(0x30)  # '0' after B: complete sign-off

# --- Message limits ---
ADDRESS_MAX = const(32)  # STD 6.4 table: IDRequest device address 0..32 characters
IDENT_MAX = const(16)  # STD 6.4: IDResponse identification 1..16 characters
REGISTER_ID_DIGITS = const(4)  # STD 6.8: registerID is a 4-digit hexadecimal number
VALUE_MAX = const(32)  # OWN: longest value in a Read/Write command or Data message
# OWN: receive buffer; the longest command is SOH W 1 STX id ( value ) ETX = 11 + VALUE_MAX
# characters (the id is 4; the BCC after ETX is checked as it arrives, never stored)
RX_MAX = const(11 + VALUE_MAX)
TX_MAX = const(8 + VALUE_MAX)  # OWN: STX id ( value ) ETX BCC

# --- Speed (OWN, clause 6.2): baud rate -> IDResponse baud character (21 table) ---
BAUD_CHARS = ((300, 0x30), (600, 0x31), (1200, 0x32), (2400, 0x33), (4800, 0x34), (9600, 0x35))
BAUD_DEFAULT = const(2400)

# --- Timing (clause 6.7, tables 10-12), milliseconds ---
TR_MIN = const(200)  # 21: least reaction time, last request char -> first response char
TR_MAX = const(1500)  # 21: largest reaction time
TA = const(1500)  # 21: largest gap inside one message; larger drops the partial message
RECOVERY_WAIT = const(1500)  # OWN: line silence after a transmission error before NAK
SESSION_TIMEOUT = const(120000)  # 21: no complete message for this long -> Idle

# --- Repeat rules (clause 6.6, Annex A) ---
REPEATS_MAX = const(3)  # 21: the server repeats its last response for at most 3 client NAKs
NAKS_MAX = const(3)  # 21: after 3 NAKs in a row sent by the server it goes to Idle

# --- Error data message codes ERRnn (OWN, clause 6.4) ---
ERR_UNKNOWN_REGISTER = const(1)
ERR_NOT_WRITABLE = const(2)
ERR_NOT_READABLE = const(3)
ERR_VALUE_FORMAT = const(4)
ERR_VALUE_RANGE = const(5)
ERR_BUSY = const(6)
ERR_LOCKED = const(7)
ERR_STORAGE = const(8)  # token entry refused: the meter's stored state cannot be trusted

# --- Predefined registers (STD 6.8, Table 15) ---
REG_PROTOCOL_VERSION = const(0x0000)
REG_TABLE_ID = const(0x0001)
REG_SERVER_STATUS = const(0x0002)
REG_SOFTWARE_VERSION = const(0x0003)
REG_BINARY_TOKEN_ENTRY = const(0x0004)
REG_TOKEN_STATUS = const(0x0005)
REG_LOCKOUT_REMAINING = const(0x0006)
PROTOCOL_VERSION = const(0x01)  # STD Table 15: 01 = IEC 62055-52 edition 1.0
TABLE_ID_COMPANION = const(0x8001)  # OWN 6.9: the companion RegisterTable
TOKEN_DIGITS_HEX = const(17)  # STD Table 15: BinaryTokenEntry H17, 66 bits, top 2 bits 0
TOKEN_BITS = const(66)  # 41: TokenData is 66 bits
TOKEN_DIGITS = const(20)  # 41: a token is entered as 20 decimal digits

# --- ServerStatus B8 bits (STD Table 15) ---
STATUS_BUSY = const(0x01)
STATUS_LOCKOUT = const(0x02)
STATUS_STORAGE_FAULT = const(0x04)
STATUS_TAMPER = const(0x08)
STATUS_CREDIT_EXHAUSTED = const(0x10)

# --- tokenStatus (STD Table 24) ---
TS_RESERVED = const(0)
TS_ACCEPT = const(1)
TS_1ST_KCT = const(2)
TS_2ND_KCT = const(3)
TS_OVERFLOW = const(4)
TS_KEY_TYPE = const(5)
TS_FORMAT = const(6)
TS_RANGE = const(7)
TS_FUNCTION = const(8)
TS_OLD = const(9)
TS_USED = const(10)
TS_KEY_EXPIRED = const(11)
TS_DDTK = const(12)
TS_CRC = const(13)
TS_MFR_CODE = const(14)
TS_LOCKED = const(15)
TS_NOT_READY = const(16)
# OWN (Table 24 keeps 17-255 reserved): the token was not applied because its result could
# not be stored; nothing of it happened (docs/storage.md)
TS_STORAGE_FAULT = const(17)

# --- Storage fault reasons (OWN): companion register StorageFault (docs/storage.md) ---
STORE_OK = const(0)
STORE_REPAIRED = const(1)  # one copy of a record was missing or damaged: the other was used
STORE_WRITE = const(2)  # a save failed (full, read-only, I/O error): the stored state stands
STORE_UNREADABLE = const(3)  # a record exists but cannot be read: token entry refused
STORE_DAMAGED = const(4)  # no copy of a record passes its CRC: token entry refused
STORE_FORMAT = const(5)  # a valid record this firmware cannot take: token entry refused
STORE_DEGRADED = const(6)  # one copy cannot be written: tokens are stored in the other alone
STORE_MISSING = const(7)  # a store in use holds no record at all: token entry refused
STORE_LOCK = const(8)  # the state directory cannot be held for this meter: token entry refused

# --- The meter's stored record (OWN; docs/storage.md): where each field starts ---
# The one description of the record: each field runs from its offset to the next one's,
# big-endian; storage.field packs, unpacks and (from a new meter's record) resets each,
# in application.py (the lockout's part) and meterapp.py (the rest). Version 4's layout.
REC_VERSION = const(0)
REC_COUNT = const(1)  # lockout: rejections in a row
REC_LEFT = const(3)  # lockout: ms of the lock remaining
REC_STATE = const(7)  # the application's own state from here
REC_CREDIT = const(7)  # credit per service, tenths, 4 x 8 bytes, signed (below 0: owed)
REC_BALANCE = const(39)  # currency, 0.00001 units
REC_MPL = const(47)
REC_TARIFF_RATE = const(51)
REC_WATER_FACTOR = const(53)
REC_MPPUL = const(55)
REC_TAMPER = const(59)
REC_LAST_STATUS = const(60)  # the last token's tokenStatus, class, subclass, value, TID
REC_LAST_CLASS = const(61)
REC_LAST_SUBCLASS = const(62)
REC_LAST_VALUE = const(63)
REC_LAST_TID = const(71)
REC_KEY_CHANGED = const(75)  # 1: the key below came from a key change (else: configured)
REC_DK = const(76)  # 16 bytes: a 64-bit key is the first 8
REC_KEY_TYPE = const(92)
REC_KRN = const(93)
REC_KEN = const(94)
REC_TI = const(95)
REC_SGC = const(96)
REC_BASE_DATE = const(100)
REC_KEYCHANGE = const(102)  # a waiting key change set (keychange.SIZE bytes)
REC_TID_COUNT = const(127)
REC_TIDS = const(128)  # the TID store, 3 bytes per TID; then per service, consumption:
REC_CONSUMED = const(5)  # tenths used, 5 bytes each (2**40 tenths: past any D10 register)
REC_REMAINDER = const(4)  # the remainder below a tenth, 4 bytes each (meter constant < 2**32)
REC_TAIL = const(36)  # both, for 4 services

# --- TokenLockout (OWN values, clause 6.6.7) ---
LOCKOUT_AFTER = const(3)  # rejected meter-specific tokens in a row before entry locks
LOCKOUT_FIRST_S = const(10)  # first lockout, seconds; each further rejection doubles it
LOCKOUT_MAX_S = const(1280)
LOCKOUT_REMAINING_DIGITS = const(5)  # STD Table 15: D5

# --- Token classes (41, sts-tokens.md section 1) ---
TOKEN_CLASS_SHIFT = const(27)  # class bits 28..27 of the 66-bit TokenData
TOKEN_CLASS_NON_ENCRYPTED = const(1)

# --- EA07 Standard Transfer Algorithm (41, sts-tokens.md section 2): encrypt tables ---
STA_S1 = b"\x0e\x0a\x07\x09\x0c\x03\x02\x05\x0d\x00\x0f\x01\x04\x08\x06\x0b"
STA_S2 = b"\x0c\x08\x02\x0d\x07\x06\x01\x03\x0b\x05\x09\x0f\x00\x04\x0a\x0e"
# output bit STA_P[i] = input bit i
STA_P = bytes(
    (
        55,
        42,
        10,
        18,
        24,
        21,
        44,
        35,
        2,
        22,
        56,
        43,
        27,
        58,
        9,
        50,
        6,
        36,
        12,
        61,
        37,
        38,
        53,
        16,
        62,
        3,
        7,
        4,
        32,
        20,
        63,
        25,
        51,
        52,
        54,
        33,
        49,
        19,
        46,
        29,
        48,
        31,
        23,
        30,
        41,
        28,
        13,
        5,
        40,
        60,
        39,
        11,
        15,
        17,
        1,
        0,
        57,
        34,
        59,
        8,
        47,
        14,
        45,
        26,
    )
)
STA_ROUNDS = const(16)

# --- EA09: DES (41 names it; the tables are FIPS 46-3's "Enciphering", "Key schedule
# calculation" and Appendix 1). Bits are numbered 1..64 from the most significant. ---
# IP, initial permutation: output bit i = input bit DES_IP[i] (bits 1..64, MSB first)
DES_IP = bytes(
    (
        58,
        50,
        42,
        34,
        26,
        18,
        10,
        2,
        60,
        52,
        44,
        36,
        28,
        20,
        12,
        4,
        62,
        54,
        46,
        38,
        30,
        22,
        14,
        6,
        64,
        56,
        48,
        40,
        32,
        24,
        16,
        8,
        57,
        49,
        41,
        33,
        25,
        17,
        9,
        1,
        59,
        51,
        43,
        35,
        27,
        19,
        11,
        3,
        61,
        53,
        45,
        37,
        29,
        21,
        13,
        5,
        63,
        55,
        47,
        39,
        31,
        23,
        15,
        7,
    )
)
# E, the expansion of R to 48 bits
DES_E = bytes(
    (
        32,
        1,
        2,
        3,
        4,
        5,
        4,
        5,
        6,
        7,
        8,
        9,
        8,
        9,
        10,
        11,
        12,
        13,
        12,
        13,
        14,
        15,
        16,
        17,
        16,
        17,
        18,
        19,
        20,
        21,
        20,
        21,
        22,
        23,
        24,
        25,
        24,
        25,
        26,
        27,
        28,
        29,
        28,
        29,
        30,
        31,
        32,
        1,
    )
)
# P, the permutation of the S-box outputs
DES_P = bytes(
    (
        16,
        7,
        20,
        21,
        29,
        12,
        28,
        17,
        1,
        15,
        23,
        26,
        5,
        18,
        31,
        10,
        2,
        8,
        24,
        14,
        32,
        27,
        3,
        9,
        19,
        13,
        30,
        6,
        22,
        11,
        4,
        25,
    )
)
# PC-1, key bits into C (first 28) and D
DES_PC1 = bytes(
    (
        57,
        49,
        41,
        33,
        25,
        17,
        9,
        1,
        58,
        50,
        42,
        34,
        26,
        18,
        10,
        2,
        59,
        51,
        43,
        35,
        27,
        19,
        11,
        3,
        60,
        52,
        44,
        36,
        63,
        55,
        47,
        39,
        31,
        23,
        15,
        7,
        62,
        54,
        46,
        38,
        30,
        22,
        14,
        6,
        61,
        53,
        45,
        37,
        29,
        21,
        13,
        5,
        28,
        20,
        12,
        4,
    )
)
# PC-2, C and D into the 48-bit round key
DES_PC2 = bytes(
    (
        14,
        17,
        11,
        24,
        1,
        5,
        3,
        28,
        15,
        6,
        21,
        10,
        23,
        19,
        12,
        4,
        26,
        8,
        16,
        7,
        27,
        20,
        13,
        2,
        41,
        52,
        31,
        37,
        47,
        55,
        30,
        40,
        51,
        45,
        33,
        48,
        44,
        49,
        39,
        56,
        34,
        53,
        46,
        42,
        50,
        36,
        29,
        32,
    )
)
# left rotations of C and D before each round
DES_SHIFTS = bytes((1, 1, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 1))
# S1..S8, 4 rows of 16 each, two entries per byte: the hex digits read in order are
# the standard's table (S1 row 0 = 14 4 13 1 ... = e4 d1 ...)
DES_S = (
    b"\xe4\xd1\x2f\xb8\x3a\x6c\x59\x07"  # S1
    b"\x0f\x74\xe2\xd1\xa6\xcb\x95\x38"
    b"\x41\xe8\xd6\x2b\xfc\x97\x3a\x50"
    b"\xfc\x82\x49\x17\x5b\x3e\xa0\x6d"
    b"\xf1\x8e\x6b\x34\x97\x2d\xc0\x5a"  # S2
    b"\x3d\x47\xf2\x8e\xc0\x1a\x69\xb5"
    b"\x0e\x7b\xa4\xd1\x58\xc6\x93\x2f"
    b"\xd8\xa1\x3f\x42\xb6\x7c\x05\xe9"
    b"\xa0\x9e\x63\xf5\x1d\xc7\xb4\x28"  # S3
    b"\xd7\x09\x34\x6a\x28\x5e\xcb\xf1"
    b"\xd6\x49\x8f\x30\xb1\x2c\x5a\xe7"
    b"\x1a\xd0\x69\x87\x4f\xe3\xb5\x2c"
    b"\x7d\xe3\x06\x9a\x12\x85\xbc\x4f"  # S4
    b"\xd8\xb5\x6f\x03\x47\x2c\x1a\xe9"
    b"\xa6\x90\xcb\x7d\xf1\x3e\x52\x84"
    b"\x3f\x06\xa1\xd8\x94\x5b\xc7\x2e"
    b"\x2c\x41\x7a\xb6\x85\x3f\xd0\xe9"  # S5
    b"\xeb\x2c\x47\xd1\x50\xfa\x39\x86"
    b"\x42\x1b\xad\x78\xf9\xc5\x63\x0e"
    b"\xb8\xc7\x1e\x2d\x6f\x09\xa4\x53"
    b"\xc1\xaf\x92\x68\x0d\x34\xe7\x5b"  # S6
    b"\xaf\x42\x7c\x95\x61\xde\x0b\x38"
    b"\x9e\xf5\x28\xc3\x70\x4a\x1d\xb6"
    b"\x43\x2c\x95\xfa\xbe\x17\x60\x8d"
    b"\x4b\x2e\xf0\x8d\x3c\x97\x5a\x61"  # S7
    b"\xd0\xb7\x49\x1a\xe3\x5c\x2f\x86"
    b"\x14\xbd\xc3\x7e\xaf\x68\x05\x92"
    b"\x6b\xd8\x14\xa7\x95\x0f\xe2\x3c"
    b"\xd2\x84\x6f\xb1\xa9\x3e\x50\xc7"  # S8
    b"\x1f\xd8\xa3\x74\xc5\x6b\x0e\x92"
    b"\x7b\x41\x9c\xe2\x06\xad\xf3\x58"
    b"\x21\xe7\x4a\x8d\xfc\x90\x35\x6b"
)
DES_ROUNDS = const(16)

# --- Configuration ranges (firmware/config.py checks a board's configuration with them) ---
# OWN: the least ta; 3 characters at 300 Bd, so a message from a normal HHU is never cut
TA_LEAST = const(100)
# OWN: the least session timeout (tests shorten it to watch it expire; a real HHU needs
# seconds between messages when a human enters a token, so keep the profile's 120 s there)
SESSION_LEAST = const(500)
EXEC_MS_MAX = const(60000)  # OWN: the stub's processing time, a minute at most
SGC_DIGITS = const(6)  # 41: supply group code, 6 decimal digits (DKGA02 control block)
METER_DIGITS = const(18)  # 41: IIN + DRN + check digit, the PAN of DKGA02
MFR_CODE_MAX = const(0xFFFF)  # 41: class 1 MfrCode, 8 bits in subclass 0, 16 in subclass 1
KEY_DIGITS = const(16)  # 41: a 64-bit decoder key (EA07, EA09) in hex; EA11: 128 bits

# --- Encryption algorithm codes of the decoder key (41, sts-tokens.md section 1) ---
EA_STA = const(7)  # EA07 Standard Transfer Algorithm
EA_DES = const(9)  # EA09 DES
EA_MISTY1 = const(11)  # EA11 MISTY1 (edition 3), 128-bit keys

# --- Token data (41, sts-tokens.md sections 3-4) ---
TID_STORE_MIN = const(50)  # the TID store keeps at least the last 50 TIDs
BASE_DATES = (1993, 2014, 2035)  # TID base dates (1 January, 00:00)
KEN_NEVER = const(255)  # key expiry number that never expires
KT_DITK = const(0)  # key types: initialisation, default, unique, common
KT_DDTK = const(1)
KT_DUTK = const(2)
KT_DCTK = const(3)
CLASS_CREDIT = const(0)
CLASS_MANAGEMENT = const(2)
CREDIT_SUBCLASSES = const(4)  # class 0 subclasses 0-3: electricity, water, gas, time
# class 2 (management) subclasses
SC_MPL = const(0)  # SetMaximumPowerLimit
SC_CLEAR_CREDIT = const(1)
SC_TARIFF_RATE = const(2)
SC_KCT1 = const(3)  # Set1stSectionDecoderKey
SC_KCT2 = const(4)  # Set2ndSectionDecoderKey
SC_CLEAR_TAMPER = const(5)
SC_MPPUL = const(6)  # SetMaximumPhasePowerUnbalanceLimit
SC_WATER_FACTOR = const(7)
CREDIT_MAX = const(9999999999)  # OWN 6.9: credit registers are D10 in tenths of a unit
CLEAR_ALL = const(0xFFFF)  # ClearCredit register value for all registers
KRN_MIN = const(1)  # key revision numbers 1..9: one DKGA02 control-block digit, 0 unused
KRN_MAX = const(9)
TI_MAX = const(99)  # tariff index: 2 decimal digits (DKGA02 control block)
KCT_WINDOW_MS = const(600000)  # OWN: the second key change half must come within 10 min

# --- EA11: MISTY1 (41 edition 3 names it; sts-edition3.md section 1): its S-boxes S7 and S9
# are in firmware/misty1.py, not here: this module is imported by every meter, and a
# .mpy's bytes constants are heap objects when loaded from a file (1.3 KB an EA07 meter
# would carry for nothing). ---

# --- Edition 3 key change sets and currency tokens (41 edition 3, sts-edition3.md 3-4) ---
SC_KCT3 = const(8)  # Set3rdSectionDecoderKey: SGC-low and NK3, or the 3-token set's SGC
SC_KCT4 = const(9)  # Set4thSectionDecoderKey: SGC-high and NK4
KCT_RO = const(8)  # in the 1st section's KRN:4 RO:1 3KCT:1 KT:2 byte: rollover
KCT_3KCT = const(4)  # and the 3-token set flag
SGC_MAX = const(999999)  # a supply group code is 6 decimal digits
CRC_C_BYTE = const(1)  # CRC_C: the token CRC over the 7 bytes followed by this byte

# --- Prepayment: consumption, load switch, consumption saves (OWN; docs/profile-choices.md
# "Consumption and the load switch") ---
# a consumption save once this many tenths of a unit (1.0 kWh) are billed and not stored:
# the most a power cut can leave unbilled, and at 23 kW (100 A at 230 V) 23 saves an hour
SAVE_TENTHS = const(10)
# or this long after the first unstored tenth (15 min): a small load is stored too
SAVE_MS = const(900000)
# power over MaximumPowerLimit (or unbalance over its limit) this long opens the switch:
# a kettle's or motor's inrush does not trip it
POWER_HOLD_MS = const(10000)
RECONNECT_MS = const(60000)  # then the switch closes again to retry after this long
LOW_CREDIT_TENTHS = const(50)  # credit at or below 5.0 units: the low-credit warning
POWER_MAX_W = const(999999)  # a power reading over this (its register is D6) is refused
# one consumption call may bill at most this many tenths (10.0 units): more is a
# metrology fault, refused and flagged as tamper, never billed
STEP_MAX_TENTHS = const(100)
# SwitchState (8019) and SwitchReason (801A)
SWITCH_CLOSED = const(0)
SWITCH_WARNING = const(1)  # closed, credit low
SWITCH_OPEN = const(2)
REASON_NONE = const(0)
REASON_LOW_CREDIT = const(1)
REASON_CREDIT = const(2)  # credit exhausted (ServerStatus bit 4)
REASON_POWER = const(3)  # over MaximumPowerLimit
REASON_UNBALANCE = const(4)  # over MaximumPhasePowerUnbalanceLimit
REASON_RELAY = const(5)  # the board's switch callback failed: tried again at every change
