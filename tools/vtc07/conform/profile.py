"""The conformance kit's own copy of the VTC07 profile's numbers, written from
../shared/spec/vtc07-profile.md (section in each comment), not taken from the firmware under
test: a wrong constant in firmware/tables.py must not move the judge with it.
host_tests/test_conform.py checks that the two agree.
"""

# section 2-3: characters
SOH, STX, ETX, ACK, NAK, CR, LF = 0x01, 0x02, 0x03, 0x06, 0x15, 0x0D, 0x0A
BITS_PER_CHAR = 10  # section 1: 1 start, 7 data, even parity, 1 stop (7E1)
BAUD_CHARS = ((300, 0x30), (600, 0x31), (1200, 0x32), (2400, 0x33), (4800, 0x34), (9600, 0x35))  # section 3
BAUDS = (300, 1200, 2400, 4800, 9600)  # section 1: the speeds a board may run
ADDRESS_MAX = 32  # section 2: IDRequest address, 0..32 characters
IDENT_MAX = 16  # section 3: IDResponse ident, 1..16 characters

# section 3: error data messages (ERRnn)
ERR_UNKNOWN_REGISTER = 1
ERR_NOT_WRITABLE = 2
ERR_NOT_READABLE = 3
ERR_VALUE_FORMAT = 4
ERR_VALUE_RANGE = 5
ERR_BUSY = 6
ERR_LOCKED = 7

# section 4: repeats
REPEATS_MAX = 3  # the last response repeated once per client NAK, at most 3 times
NAKS_TO_IDLE = 3  # 3 NAKs in a row from the server for the same message -> Idle

# section 5: timing, ms
TR_MIN = 200
TR_MAX = 1500
TA = 1500
RECOVERY_WAIT = 1500
SESSION_TIMEOUT = 120000  # section 4

# section 6: Table 15
REG_PROTOCOL_VERSION = 0x0000
REG_TABLE_ID = 0x0001
REG_SERVER_STATUS = 0x0002
REG_SOFTWARE_VERSION = 0x0003
REG_BINARY_TOKEN_ENTRY = 0x0004
REG_TOKEN_STATUS = 0x0005
REG_LOCKOUT_REMAINING = 0x0006
PROTOCOL_VERSION = 0x01  # 01 = IEC 62055-52 edition 1.0
TOKEN_DIGITS_HEX = 17  # BinaryTokenEntry H17: 66 bits, top 2 bits zero
TOKEN_BITS = 66
TOKEN_CLASS_SHIFT = 27  # sts-tokens.md: class in bits 28..27 of the 66-bit TokenData
STATUS_BUSY = 0x01  # ServerStatus bit 0
STATUS_LOCKOUT = 0x02  # ServerStatus bit 1
STATUS_RESERVED = 0xE0  # ServerStatus bits 5-7 zero
# Table 15's readable registers: (ID, name, format, width)
PREDEFINED = (
    (REG_PROTOCOL_VERSION, "ProtocolVersion", "H", 2),
    (REG_TABLE_ID, "TableID", "H", 4),
    (REG_SERVER_STATUS, "ServerStatus", "B", 8),
    (REG_SOFTWARE_VERSION, "SoftwareVersion", "A", 16),
    (REG_TOKEN_STATUS, "TokenStatus", "D", 2),
    (REG_LOCKOUT_REMAINING, "TokenLockoutTimeRemaining", "D", 5),
)

# section 6: tokenStatus (Table 24)
TS_ACCEPT, TS_1ST_KCT, TS_2ND_KCT = 1, 2, 3
TS_FUNCTION = 8
TS_LOCKED = 15
TS_NOT_READY = 16
ACCEPTED = (TS_ACCEPT, TS_1ST_KCT, TS_2ND_KCT)
TOKEN_STATUS_NAMES = {
    0: "reserved",
    1: "Accept",
    2: "1stKCT",
    3: "2ndKCT",
    4: "Overflow",
    5: "KeyType",
    6: "Format",
    7: "Range",
    8: "Function",
    9: "Old",
    10: "Used",
    11: "KeyExpired",
    12: "DDTK",
    13: "CRC",
    14: "MfrCode",
    15: "token lockout active",
    16: "not ready",
}

# section 8: TokenLockout
LOCKOUT_AFTER = 3  # rejected meter-specific tokens in a row
LOCKOUT_FIRST_S = 10
LOCKOUT_MAX_S = 1280
