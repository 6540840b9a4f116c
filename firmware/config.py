"""Every key of a meter's configuration, what it accepts, and the check of a config.

A config is a dict of strings, as a board's flags, its config file (parse_config) or
a trace's @ settings give it. meter.build runs `check` before it builds anything, so a
board or tool cannot start a meter on a key it does not know or a value out of range (the
device holds money: a typo must not quietly leave a default in place). The error is one
line that names the key and what it accepts. meter.check drops this module again once it
has run: the table is needed once, at start.

  key              default                 accepts
  address          the meter number        0..32 characters 0-9 A-Z a-z (profile section 2)
  ident            MPY-VTC07               1..16 characters of an A value (no ( ) / ! *)
  manufacturer     STS                     3 letters
  tr               200                     200..1500 ms (profile section 5)
  ta               1500                    100..1500 ms
  recovery         1500                    200..1500 ms (its NAK is a response: tr's window)
  session_timeout  120000                  500..120000 ms
  baud             2400                    300, 600, 1200, 2400, 4800, 9600 (tables.BAUD_CHARS)
  parity           soft                    soft or uart
  app              sts                     sts (the token engine) or stub (answers 8)
  exec_ms          0                       0..60000 ms, the stub's processing time
  meter_number     600727000000000009      18 digits, the last the Luhn check digit
  dk               E653341F9D5BF36F        16 hex digits (sta, des) or 32 (misty1)
  algorithm        sta                     sta (EA07), des (EA09) or misty1 (EA11)
  key_type         2                       0..3 (DITK, DDTK, DUTK, DCTK)
  sgc              123456                  6 digits
  ti               1                       0..99
  krn              1                       1..9
  ken              255                     0..255 (255: the key never expires)
  base_date        1993                    1993, 2014 or 2035
  mfr_code         0                       0..65535
  currency         0                       0 or 1
The defaults are those of firmware/server.py and firmware/meterapp.py (a missing key is
left to them; host_tests/test_config.py checks that they agree with this table).
"""

from formats import ascii_ok
from meterapp import ALGORITHMS, DEFAULT_DK
from micropython import const
from tables import (
    ADDRESS_MAX,
    BASE_DATES,
    BAUD_CHARS,
    EA_MISTY1,
    EXEC_MS_MAX,
    IDENT_MAX,
    KEN_NEVER,
    KEY_DIGITS,
    KRN_MAX,
    KRN_MIN,
    KT_DCTK,
    KT_DITK,
    METER_DIGITS,
    MFR_CODE_MAX,
    SESSION_LEAST,
    SESSION_TIMEOUT,
    SGC_DIGITS,
    TA,
    TA_LEAST,
    TI_MAX,
    TR_MAX,
    TR_MIN,
)

# what a key accepts: a kind and its two arguments
_RANGE = const(0)  # a decimal number a..b
_ONE_OF = const(1)  # one of the values in a
_DIGITS = const(2)  # exactly a decimal digits
_ALNUM = const(3)  # a..b characters 0-9 A-Z a-z
_LETTERS = const(4)  # a..b letters A-Z a-z
_TEXT = const(5)  # a..b characters allowed in an A value
_METER_NUMBER = const(6)  # 18 digits with the Luhn check digit last
_KEY = const(7)  # hex digits, as many as the algorithm's key has


def check(config, board_keys=()):
    """Raise ValueError for the first key of `config` that is not known or whose value is
    not accepted. `board_keys`: the board's own keys (not the meter's), known but not
    checked here."""
    # in this order: the key's rule needs the algorithm checked first
    rules = (
        ("address", _ALNUM, 0, ADDRESS_MAX),
        ("ident", _TEXT, 1, IDENT_MAX),
        ("manufacturer", _LETTERS, 3, 3),
        ("tr", _RANGE, TR_MIN, TR_MAX),
        ("ta", _RANGE, TA_LEAST, TA),
        ("recovery", _RANGE, TR_MIN, TR_MAX),
        ("session_timeout", _RANGE, SESSION_LEAST, SESSION_TIMEOUT),
        ("baud", _ONE_OF, [rate for rate, _ in BAUD_CHARS], 0),
        ("parity", _ONE_OF, ("soft", "uart"), 0),
        ("app", _ONE_OF, ("sts", "stub"), 0),
        ("exec_ms", _RANGE, 0, EXEC_MS_MAX),
        ("meter_number", _METER_NUMBER, METER_DIGITS, 0),
        ("algorithm", _ONE_OF, sorted(ALGORITHMS), 0),
        ("dk", _KEY, 0, 0),
        ("key_type", _RANGE, KT_DITK, KT_DCTK),
        ("sgc", _DIGITS, SGC_DIGITS, 0),
        ("ti", _RANGE, 0, TI_MAX),
        ("krn", _RANGE, KRN_MIN, KRN_MAX),
        ("ken", _RANGE, 0, KEN_NEVER),
        ("base_date", _ONE_OF, BASE_DATES, 0),
        ("mfr_code", _RANGE, 0, MFR_CODE_MAX),
        ("currency", _ONE_OF, (0, 1), 0),
    )
    names = [rule[0] for rule in rules]
    for key in sorted(config):
        if key not in names and key not in board_keys:
            raise ValueError(
                "config key %r is not known; valid keys: %s" % (key, ", ".join(sorted(names + list(board_keys))))
            )
    algorithm = config.get("algorithm", "sta")
    size = 2 * KEY_DIGITS if ALGORITHMS.get(algorithm) == EA_MISTY1 else KEY_DIGITS
    for key, kind, a, b in rules:
        # the decoder key is checked when left to its default too: misty1 has no default
        value = config.get(key, DEFAULT_DK if kind == _KEY else None)
        if value is None:
            continue
        n = len(value)
        # by their codes, not as 1-character strs (MicroPython interns each: RAM for good)
        # and not with isdigit() and isalpha() (CPython's take other scripts' characters)
        codes = value.encode()
        digits = n > 0
        letters = alnum = text = True
        for o in codes:
            digit = 47 < o < 58
            letter = 64 < o < 91 or 96 < o < 123
            digits = digits and digit
            letters = letters and letter
            alnum = alnum and (digit or letter)
            text = text and o < 128 and ascii_ok(o)
        if kind == _RANGE:
            if digits and n < 12 and a <= int(value) <= b:  # n: no giant int() for garbage
                continue
            what = "a number from %d to %d" % (a, b)
        elif kind == _ONE_OF:
            choices = [str(choice) for choice in a]
            if value in choices:
                continue
            raise ValueError(
                "config key %r must be %s or %s, not %r" % (key, ", ".join(choices[:-1]), choices[-1], value)
            )
        elif kind == _DIGITS:
            if digits and n == a:
                continue
            what = "%d decimal digits" % a
        elif kind == _METER_NUMBER:
            total = 0  # Luhn: every second digit from the right doubled, digits summed
            for i in range(n if digits else 0):
                d = codes[n - 1 - i] - 48
                total += d * 2 - 9 if i & 1 and d > 4 else d << (i & 1)
            if digits and n == a and total % 10 == 0:
                continue
            what = "%d digits, the last the Luhn check digit of the others" % a
        elif kind == _KEY:
            if n == size and all(o in b"0123456789ABCDEFabcdef" for o in codes):
                continue
            # a decoder key is a secret: it is not repeated on a console or in a log
            raise ValueError("config key 'dk' must be %d hex digits with algorithm %s" % (size, algorithm))
        else:
            if a <= n <= b and (alnum, letters, text)[kind - _ALNUM]:
                continue
            what = ("characters 0-9 A-Z a-z", "letters A-Z a-z", "printable characters other than ( ) / ! *")[
                kind - _ALNUM
            ]
            what = "%d to %d %s" % (a, b, what) if a < b else str(a) + " " + what
        raise ValueError("config key %r must be %s, not %r" % (key, what, value))


def parse_config(text):
    """`key = value` lines (`#` starts a comment; `-` in a key reads as `_`) -> dict."""
    config = {}
    for line in text.split("\n"):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise ValueError("config line without key = value: " + line)
        config[key.strip().replace("-", "_")] = value.strip()
    return config
