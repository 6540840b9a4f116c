"""The `unix` board: the real firmware on the MicroPython unix port.

    micropython boards/unix/main.py --tcp [127.0.0.1:]PORT --state DIR [options]
    micropython boards/unix/main.py --pty --state DIR [options]

Its "UART" is one TCP connection (a newer one replaces an older one, as a new HHU
replaces an unplugged one) or a pseudo-terminal. Bytes on it are the line's 8-bit
characters: 7 data bits with even parity in bit 7 (`--parity soft`, the default), or bare
7-bit characters (`--parity uart`, as from a UART doing 7E1 itself).

Options (the meter's keys are firmware/config.py's, which says what each accepts):
  --config FILE     `key = value` lines with the keys below; flags given too override it
  --lib DIR         take the firmware from DIR, e.g. build/firmware (.mpy: less heap)
  --rom IMAGE       take the firmware and this board's modules from a ROMFS image
                    (`make romfs BOARD=unix`: build/romfs/unix.img), mounted at /rom by
                    rom.py; its .mpy code runs in place, as from a board's flash, but the
                    image itself is read into the heap here (docs/boards.md); on the
                    command line only, not with --lib
  --vending-key HEX derive the decoder key (DKGA02: 16 hex digits, DKGA04: 40) from this
                    vending key and the meter's own number and key data; not with --dk
  --heap-log MS     print "heap <bytes in use after a collection> <free>" every MS ms
  --test-tr MS      answer after MS (1..1500) instead of tr: for heap soaks that need many
                    messages fast (tools/soak.py); outside the profile, so no meter has it
  --address A --ident I --manufacturer XXX --baud N --parity soft|uart
  --tr MS --ta MS --recovery MS --session-timeout MS --exec-ms MS
  --meter-number N --dk HEX --algorithm sta|des|misty1 --key-type 0-3 --sgc N --ti N
  --krn N --ken N --base-date 1993|2014|2035 --mfr-code N --currency 0|1
  --load-w W        a simulated load of W watts (0..999999) behind the load switch: the
                    credit runs down while it draws, nothing flows while the switch is open;
                    --load-w LOW-HIGH draws a new load in that range each second
  --reset-storage   when the stored record cannot be used (a storage fault: the meter
                    refuses tokens), move its copies aside as *.damagedN and start a new
                    record from the configuration; does nothing to a valid record
An unknown option or key, or a value the meter does not accept, stops the board before it
listens: one line on stderr that names the key and what it accepts, exit status 2.
--help (-h) lists the options (boards/unix/usage.py).
The key given here is the one the meter is made with: once a key change token has
replaced it, the key stored under --state rules.
"""

import sys

_board = sys.argv[0].rsplit("/", 1)[0] if "/" in sys.argv[0] else "."
# --lib DIR: the firmware from DIR (e.g. build/firmware, compiled .mpy as a board runs it,
# this board's unixmain, startup, options and lock in DIR/unix); else the sources
_lib = sys.argv[sys.argv.index("--lib") + 1] if "--lib" in sys.argv[:-1] else _board + "/../../firmware"
if "--rom" in sys.argv[:-1]:  # boards/unix/rom.py mounts the image at /rom
    import rom  # noqa: F401

    _lib = "/rom/lib"
sys.path[:0] = [_lib, _lib + "/unix", _board]

import unixmain  # noqa: E402  (always found: _board; a --lib without the firmware is its error)

sys.exit(unixmain.main(sys.argv[1:], _board))
