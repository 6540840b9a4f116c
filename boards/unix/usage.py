"""`boards/unix/main.py --help` (a module of its own: a board started without --help loads none of it)."""

TEXT = """usage: micropython boards/unix/main.py (--tcp [HOST:]PORT | --pty) [--state DIR] [--key value ...]

The VTC07 meter firmware on the MicroPython unix port; its line is a TCP connection or a pty.
  --tcp [HOST:]PORT   listen on HOST:PORT (a port alone: 127.0.0.1)
  --pty               open a pseudo-terminal and print its path as the first line
  --state DIR         the meter's stored record (default ./state); one meter per folder
  --config FILE       `key = value` lines with the keys below; flags given too override it
  --lib DIR           the firmware from DIR, e.g. build/firmware (.mpy: less heap)
  --rom IMAGE         the firmware from a ROMFS image (make romfs BOARD=unix); not with --lib
  --heap-log MS       print "heap <in use> <free>" every MS ms
  --test-tr MS        answer after MS (1..1500) instead of tr (heap soaks; outside the profile)
  --load-w W|LOW-HIGH a simulated load behind the load switch, watts 0..999999
  --reset-storage     move a record that cannot be used aside (*.damagedN) and start anew
  --address A         the IDRequest address (0..32 of 0-9 A-Z a-z; default the meter number)
  --ident I           the identification in the IDResponse (default MPY-VTC07)
  --manufacturer XXX  3 letters (default STS)
  --baud N            300, 600, 1200, 2400 (default), 4800 or 9600
  --parity soft|uart  soft: parity in bit 7 of 8-bit bytes (default); uart: bare 7-bit characters
  --tr MS --ta MS --recovery MS --session-timeout MS   the profile's times
  --app sts|stub      the token engine (default) or a stub; --exec-ms MS the stub's time
  --meter-number N    18 digits, the Luhn check digit last (default 600727000000000009)
  --dk HEX            the decoder key: 16 hex digits (sta, des), 32 (misty1)
  --vending-key HEX   derive the decoder key from this vending key and the meter's number and key
                      data, as a manufactured meter: 16 hex digits DKGA02, 40 DKGA04; not with --dk
  --algorithm sta|des|misty1   EA07 (default), EA09, EA11
  --key-type 0-3 --sgc N --ti N --krn N --ken N --base-date 1993|2014|2035
  --mfr-code N        the manufacturer code test tokens must carry
  --currency 0|1      a currency-credit meter
  --help, -h          this text
An unknown option or a value the meter does not accept stops the board before it listens:
one line on stderr naming the key, exit status 2 (docs/boards.md, firmware/config.py)."""


def show(error=None):
    """Print TEXT, exit status 0 (--help); or, for the ImportError `error` of a --lib without
    the firmware, one line on stderr, exit status 2 (the words are here: unixmain's cost heap)."""
    if error is None:
        print(TEXT)
        return 0
    import sys

    print("error: cannot load the firmware (%s): --lib takes a folder such as build/firmware" % error, file=sys.stderr)
    return 2
