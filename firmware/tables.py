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

# --- Message limits ---
ADDRESS_MAX = const(32)  # STD 6.4 table: IDRequest device address 0..32 characters
IDENT_MAX = const(16)  # STD 6.4: IDResponse identification 1..16 characters
REGISTER_ID_DIGITS = const(4)  # STD 6.8: registerID is a 4-digit hexadecimal number
VALUE_MAX = const(32)  # OWN: longest value in a Read/Write command or Data message
# OWN: receive buffer; the longest command is SOH W 1 STX id ( value ) ETX = 10 + VALUE_MAX
RX_MAX = const(10 + VALUE_MAX)
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
STA_P = bytes((55, 42, 10, 18, 24, 21, 44, 35, 2, 22, 56, 43, 27, 58, 9, 50, 6, 36, 12, 61, 37, 38,
               53, 16, 62, 3, 7, 4, 32, 20, 63, 25, 51, 52, 54, 33, 49, 19, 46, 29, 48, 31, 23, 30,
               41, 28, 13, 5, 40, 60, 39, 11, 15, 17, 1, 0, 57, 34, 59, 8, 47, 14, 45, 26))
STA_ROUNDS = const(16)

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
CREDIT_MAX = const(9999999999)  # OWN 6.9: credit registers are D10 in tenths of a unit
CLEAR_ALL = const(0xFFFF)  # ClearCredit register value for all registers
