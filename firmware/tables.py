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

# --- EA09: DES (41 names it; the tables are FIPS 46-3's "Enciphering", "Key schedule
# calculation" and Appendix 1). Bits are numbered 1..64 from the most significant. ---
# IP, initial permutation: output bit i = input bit DES_IP[i] (bits 1..64, MSB first)
DES_IP = bytes((58, 50, 42, 34, 26, 18, 10, 2, 60, 52, 44, 36, 28, 20, 12, 4, 62, 54, 46, 38, 30, 22,
                14, 6, 64, 56, 48, 40, 32, 24, 16, 8, 57, 49, 41, 33, 25, 17, 9, 1, 59, 51, 43, 35, 27,
                19, 11, 3, 61, 53, 45, 37, 29, 21, 13, 5, 63, 55, 47, 39, 31, 23, 15, 7))
# E, the expansion of R to 48 bits
DES_E = bytes((32, 1, 2, 3, 4, 5, 4, 5, 6, 7, 8, 9, 8, 9, 10, 11, 12, 13, 12, 13, 14, 15, 16, 17, 16,
               17, 18, 19, 20, 21, 20, 21, 22, 23, 24, 25, 24, 25, 26, 27, 28, 29, 28, 29, 30, 31, 32,
               1))
# P, the permutation of the S-box outputs
DES_P = bytes((16, 7, 20, 21, 29, 12, 28, 17, 1, 15, 23, 26, 5, 18, 31, 10, 2, 8, 24, 14, 32, 27, 3, 9,
               19, 13, 30, 6, 22, 11, 4, 25))
# PC-1, key bits into C (first 28) and D
DES_PC1 = bytes((57, 49, 41, 33, 25, 17, 9, 1, 58, 50, 42, 34, 26, 18, 10, 2, 59, 51, 43, 35, 27, 19, 11,
                 3, 60, 52, 44, 36, 63, 55, 47, 39, 31, 23, 15, 7, 62, 54, 46, 38, 30, 22, 14, 6, 61, 53,
                 45, 37, 29, 21, 13, 5, 28, 20, 12, 4))
# PC-2, C and D into the 48-bit round key
DES_PC2 = bytes((14, 17, 11, 24, 1, 5, 3, 28, 15, 6, 21, 10, 23, 19, 12, 4, 26, 8, 16, 7, 27, 20, 13, 2,
                 41, 52, 31, 37, 47, 55, 30, 40, 51, 45, 33, 48, 44, 49, 39, 56, 34, 53, 46, 42, 50, 36,
                 29, 32))
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

# --- EA11: MISTY1 (41 edition 3 names it; sts-edition3.md section 1): RFC 2994's S7 and S9
# tables, index -> value, as bytes constants (in flash when frozen; no list on the heap).
# S9's 9-bit values are two bytes each, big-endian. host_tests/test_misty1.py checks both
# are permutations of the degree the RFC's equations give (S7 3, S9 2) and the RFC vectors. ---
MISTY1_S7 = (
    b"\x1b\x32\x33\x5a\x3b\x10\x17\x54\x5b\x1a\x72\x73\x6b\x2c\x66\x49\x1f\x24\x13\x6c\x37\x2e\x3f\x4a\x5d\x0f\x40\x56\x25\x51\x1c\x04"
    b"\x0b\x46\x20\x0d\x7b\x35\x44\x42\x2b\x1e\x41\x14\x4b\x79\x15\x6f\x0e\x55\x09\x36\x74\x0c\x67\x53\x28\x0a\x7e\x38\x02\x07\x60\x29"
    b"\x19\x12\x65\x2f\x30\x39\x08\x68\x5f\x78\x2a\x4c\x64\x45\x75\x3d\x59\x48\x03\x57\x7c\x4f\x62\x3c\x1d\x21\x5e\x27\x6a\x70\x4d\x3a"
    b"\x01\x6d\x6e\x63\x18\x77\x23\x05\x26\x76\x00\x31\x2d\x7a\x7f\x61\x50\x22\x11\x06\x47\x16\x52\x4e\x71\x3e\x69\x43\x34\x5c\x58\x7d"
)
MISTY1_S9 = (
    b"\x01\xc3\x00\xcb\x01\x53\x01\x9f\x01\xe3\x00\xe9\x00\xfb\x00\x35\x01\x81\x00\xb9\x01\x17\x01\xeb\x01\x33\x00\x09\x00\x2d\x00\xd3"
    b"\x00\xc7\x01\x4a\x00\x37\x00\x7e\x00\xeb\x01\x64\x01\x93\x01\xd8\x00\xa3\x01\x1e\x00\x55\x00\x2c\x00\x1d\x01\xa2\x01\x63\x01\x18"
    b"\x01\x4b\x01\x52\x01\xd2\x00\x0f\x00\x2b\x00\x30\x01\x3a\x00\xe5\x01\x11\x01\x38\x01\x8e\x00\x63\x00\xe3\x00\xc8\x01\xf4\x00\x1b"
    b"\x00\x01\x00\x9d\x00\xf8\x01\xa0\x01\x6d\x01\xf3\x00\x1c\x01\x46\x00\x7d\x00\xd1\x00\x82\x01\xea\x01\x83\x01\x2d\x00\xf4\x01\x9e"
    b"\x01\xd3\x00\xdd\x01\xe2\x01\x28\x01\xe0\x00\xec\x00\x59\x00\x91\x00\x11\x01\x2f\x00\x26\x00\xdc\x00\xb0\x01\x8c\x01\x0f\x01\xf7"
    b"\x00\xe7\x01\x6c\x00\xb6\x00\xf9\x00\xd8\x01\x51\x01\x01\x01\x4c\x01\x03\x00\xb8\x01\x54\x01\x2b\x01\xae\x00\x17\x00\x71\x00\x0c"
    b"\x00\x47\x00\x58\x00\x7f\x01\xa4\x01\x34\x01\x29\x00\x84\x01\x5d\x01\x9d\x01\xb2\x01\xa3\x00\x48\x00\x7c\x00\x51\x01\xca\x00\x23"
    b"\x01\x3d\x01\xa7\x01\x65\x00\x3b\x00\x42\x00\xda\x01\x92\x00\xce\x00\xc1\x00\x6b\x00\x9f\x01\xf1\x01\x2c\x01\x84\x00\xfa\x01\x96"
    b"\x01\xe1\x01\x69\x01\x7d\x00\x31\x01\x80\x01\x0a\x00\x94\x01\xda\x01\x86\x01\x3e\x01\x1c\x00\x60\x01\x75\x01\xcf\x00\x67\x01\x19"
    b"\x00\x65\x00\x68\x00\x99\x01\x50\x00\x08\x00\x07\x01\x7c\x00\xb7\x00\x24\x00\x19\x00\xde\x01\x27\x00\xdb\x00\xe4\x01\xa9\x00\x52"
    b"\x01\x09\x00\x90\x01\x9c\x01\xc1\x00\x28\x01\xb3\x01\x35\x01\x6a\x01\x76\x00\xdf\x01\xe5\x01\x88\x00\xc5\x01\x6e\x01\xde\x01\xb1"
    b"\x00\xc3\x01\xdf\x00\x36\x00\xee\x01\xee\x00\xf0\x00\x93\x00\x49\x00\x9a\x01\xb6\x00\x69\x00\x81\x01\x25\x00\x0b\x00\x5e\x00\xb4"
    b"\x01\x49\x01\xc7\x01\x74\x00\x3e\x01\x3b\x01\xb7\x00\x8e\x01\xc6\x00\xae\x00\x10\x00\x95\x01\xef\x00\x4e\x00\xf2\x01\xfd\x00\x85"
    b"\x00\xfd\x00\xf6\x00\xa0\x01\x6f\x00\x83\x00\x8a\x01\x56\x00\x9b\x01\x3c\x01\x07\x01\x67\x00\x98\x01\xd0\x01\xe9\x00\x03\x01\xfe"
    b"\x00\xbd\x01\x22\x00\x89\x00\xd2\x01\x8f\x00\x12\x00\x33\x00\x6a\x01\x42\x00\xed\x01\x70\x01\x1b\x00\xe2\x01\x4f\x01\x58\x01\x31"
    b"\x01\x47\x00\x5d\x01\x13\x01\xcd\x00\x79\x01\x61\x01\xa5\x01\x79\x00\x9e\x01\xb4\x00\xcc\x00\x22\x01\x32\x00\x1a\x00\xe8\x00\x04"
    b"\x01\x87\x01\xed\x01\x97\x00\x39\x01\xbf\x01\xd7\x00\x27\x01\x8b\x00\xc6\x00\x9c\x00\xd0\x01\x4e\x00\x6c\x00\x34\x01\xf2\x00\x6e"
    b"\x00\xca\x00\x25\x00\xba\x01\x91\x00\xfe\x00\x13\x01\x06\x00\x2f\x01\xad\x01\x72\x01\xdb\x00\xc0\x01\x0b\x01\xd6\x00\xf5\x01\xec"
    b"\x01\x0d\x00\x76\x01\x14\x01\xab\x00\x75\x01\x0c\x01\xe4\x01\x59\x00\x54\x01\x1f\x00\x4b\x00\xc4\x01\xbe\x00\xf7\x00\x29\x00\xa4"
    b"\x00\x0e\x01\xf0\x00\x77\x00\x4d\x01\x7a\x00\x86\x00\x8b\x00\xb3\x01\x71\x00\xbf\x01\x0e\x01\x04\x00\x97\x01\x5b\x01\x60\x01\x68"
    b"\x00\xd7\x00\xbb\x00\x66\x01\xce\x00\xfc\x00\x92\x01\xc5\x00\x6f\x00\x16\x00\x4a\x00\xa1\x01\x39\x00\xaf\x00\xf1\x01\x90\x00\x0a"
    b"\x01\xaa\x01\x43\x01\x7b\x00\x56\x01\x8d\x01\x66\x00\xd4\x01\xfb\x01\x4d\x01\x94\x01\x9a\x00\x87\x01\xf8\x01\x23\x00\xa7\x01\xb8"
    b"\x01\x41\x00\x3c\x01\xf9\x01\x40\x00\x2a\x01\x55\x01\x1a\x01\xa1\x01\x98\x00\xd5\x01\x26\x01\xaf\x00\x61\x01\x2e\x01\x57\x01\xdc"
    b"\x00\x72\x01\x8a\x00\xaa\x00\x96\x01\x15\x00\xef\x00\x45\x00\x7b\x00\x8d\x01\x45\x00\x53\x00\x5f\x01\x78\x00\xb2\x00\x2e\x00\x20"
    b"\x01\xd5\x00\x3f\x01\xc9\x01\xe7\x01\xac\x00\x44\x00\x38\x00\x14\x00\xb1\x01\x6b\x00\xab\x00\xb5\x00\x5a\x01\x82\x01\xc8\x01\xd4"
    b"\x00\x18\x01\x77\x00\x64\x00\xcf\x00\x6d\x01\x00\x01\x99\x01\x30\x01\x5a\x00\x05\x01\x20\x01\xbb\x01\xbd\x00\xe0\x00\x4f\x00\xd6"
    b"\x01\x3f\x01\xc4\x01\x2a\x00\x15\x00\x06\x00\xff\x01\x9b\x00\xa6\x00\x43\x00\x88\x00\x50\x01\x5f\x01\xe8\x01\x21\x00\x73\x01\x7e"
    b"\x00\xbc\x00\xc2\x00\xc9\x01\x73\x01\x89\x01\xf5\x00\x74\x01\xcc\x01\xe6\x01\xa8\x01\x95\x00\x1f\x00\x41\x00\x0d\x01\xba\x00\x32"
    b"\x00\x3d\x01\xd1\x00\x80\x00\xa8\x00\x57\x01\xb9\x01\x62\x01\x48\x00\xd9\x01\x05\x00\x62\x00\x7a\x00\x21\x01\xff\x01\x12\x01\x08"
    b"\x01\xc0\x00\xa9\x01\x1d\x01\xb0\x01\xa6\x00\xcd\x00\xf3\x00\x5c\x01\x02\x00\x5b\x01\xd9\x01\x44\x01\xf6\x00\xad\x00\xa5\x00\x3a"
    b"\x01\xcb\x01\x36\x01\x7f\x00\x46\x00\xe1\x00\x1e\x01\xdd\x00\xe6\x01\x37\x01\xfa\x01\x85\x00\x8c\x00\x8f\x00\x40\x01\xb5\x00\xbe"
    b"\x00\x78\x00\x00\x00\xac\x01\x10\x01\x5e\x01\x24\x00\x02\x01\xbc\x00\xa2\x00\xea\x00\x70\x01\xfc\x01\x16\x01\x5c\x00\x4c\x01\xc2"
)

# --- Edition 3 key change sets and currency tokens (41 edition 3, sts-edition3.md 3-4) ---
SC_KCT3 = const(8)  # Set3rdSectionDecoderKey: SGC-low and NK3, or the 3-token set's SGC
SC_KCT4 = const(9)  # Set4thSectionDecoderKey: SGC-high and NK4
KCT_RO = const(8)  # in the 1st section's KRN:4 RO:1 3KCT:1 KT:2 byte: rollover
KCT_3KCT = const(4)  # and the 3-token set flag
SGC_MAX = const(999999)  # a supply group code is 6 decimal digits
CRC_C_BYTE = const(1)  # CRC_C: the token CRC over the 7 bytes followed by this byte
