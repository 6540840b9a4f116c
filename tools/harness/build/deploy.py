"""Puts the meter on a board (`make deploy`): its ROMFS image where the board's MicroPython
has ROMFS, else the same .mpy files copied to lib/, saying so.

    python3 tools/harness/build/deploy.py MPREMOTE PORT IMAGE LIB_DIR MAIN_PY

IMAGE is `make romfs`'s image of LIB_DIR (the firmware and the board's glue as .mpy).
From ROMFS the bytecode runs in place from flash; copied files are loaded into RAM at
import (docs/boards.md says how much). The board's MicroPython decides, as
`mpremote romfs query` reports it: a firmware built without ROMFS, or with no ROMFS
partition, gets the files. Either way main.py goes to the file system's root (a board runs
main.py from there, not from /rom), and the board is reset.
Exit status: 0 deployed, 1 mpremote failed (the board unreachable, the image too big),
2 bad arguments.
"""

import os
import subprocess
import sys

USAGE = "usage: deploy.py MPREMOTE PORT IMAGE LIB_DIR MAIN_PY"
# what `mpremote romfs query` says of a MicroPython without a usable ROMFS (before 1.23
# there is not even a vfs module to ask)
NO_ROMFS = (
    "ROMFS is not enabled on this device",
    "No ROMFS partitions available",
    "partition not found on device",
    "no module named 'vfs'",
)


def has_romfs(query_output):
    """True when `mpremote romfs query` found a ROMFS partition, False when it says there is
    none; None when it says neither (mpremote failed: the board is not there)."""
    if any(line in query_output for line in NO_ROMFS):
        return False
    if "partition has size" in query_output:
        return True
    return None


def _remove_old_files(names):
    """Code for the board: our modules' .mpy left in lib/ by an earlier files deploy would
    stand beside the image's, and which one imports would depend on sys.path's order."""
    return "import os\nfor n in %r:\n try:\n  os.remove('lib/'+n)\n except OSError:\n  pass" % (names,)


def commands(mpremote, port, image, lib, main_py, romfs):
    """The mpremote runs that deploy: [(argv, whether it may fail quietly), ...]."""
    names = sorted(n for n in os.listdir(lib) if n.endswith(".mpy"))
    connect = [mpremote, "connect", port]
    tail = ["+", "cp", main_py, ":main.py", "+", "reset"]
    if romfs:
        return [(connect + ["romfs", "deploy", image, "+", "exec", _remove_old_files(names)] + tail, False)]
    return [
        (connect + ["mkdir", ":lib"], True),  # fails when lib/ is there already
        (connect + ["cp"] + [os.path.join(lib, n) for n in names] + [":lib/"] + tail, False),
    ]


def main(argv):
    if len(argv) != 5:
        print(USAGE)
        return 2
    mpremote, port, image, lib, main_py = argv
    for path in (image, lib, main_py):
        if not os.path.exists(path):
            print("error: %s is not there (make deploy builds it)" % path)
            return 2
    query = subprocess.run([mpremote, "connect", port, "romfs", "query"], capture_output=True, text=True)
    said = (query.stdout + query.stderr).strip()
    romfs = has_romfs(said)
    if romfs is None:
        print(
            "error: cannot ask the board on %s about ROMFS: %s"
            % (port, said.splitlines()[-1] if said else "mpremote said nothing")
        )
        return 1
    if romfs:
        print(
            "ROMFS on %s: deploying %s (%d bytes; the firmware runs in place from flash)"
            % (port, image, os.path.getsize(image))
        )
    else:
        print(
            "No ROMFS on %s (its MicroPython is older than 1.25 or built without ROMFS): copying the "
            "firmware as .mpy files to lib/ instead; their bytecode loads into RAM (docs/boards.md)" % port
        )
    for argv, may_fail in commands(mpremote, port, image, lib, main_py, romfs):
        done = subprocess.run(argv, capture_output=may_fail)
        if done.returncode and not may_fail:
            print("error: mpremote failed (exit status %d) deploying to %s" % (done.returncode, port))
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
