"""The unix board's options (boards/unix/main.py's docstring lists them), read once at
start by boards/unix/startup.py, which drops this module before the firmware is built: its
code is not in the heap while the meter is built, nor after.
"""

import os

# the board's own keys; every other key is the meter's (firmware/config.py)
BOARD_KEYS = ("tcp", "pty", "state", "lib", "heap_log", "test_tr", "config", "reset_storage", "load_w", "vending_key")


def _number(options, key, start, end):
    value = options.get(key, str(start))
    if not value.isdigit() or not start <= int(value) <= end:
        raise ValueError("config key %r must be a number from %d to %d, not %r" % (key, start, end, value))
    return int(value)


def parse_args(argv):
    options = {"state": "state"}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if not arg.startswith("--"):
            raise ValueError("%r is not an option (--key value)" % arg)
        key = arg[2:].replace("-", "_")
        if key in ("pty", "reset_storage"):
            options[key] = "1"
            i += 1
            continue
        if i + 1 >= len(argv) or argv[i + 1].startswith("--"):
            raise ValueError(arg + " needs a value")
        options[key] = argv[i + 1]
        i += 2
    if "config" in options:
        try:
            with open(options["config"]) as f:
                config = __import__("config").parse_config(f.read())
        except OSError:
            raise ValueError("cannot read " + options["config"])
        config.update(options)
        options = config
    if "vending_key" in options:  # options["dk"] from it, as a manufactured meter gets its key
        __import__("dkga").derive(options)
    # first: an unknown key is named, whatever else is wrong; main() drops the module again
    __import__("config").check(options, BOARD_KEYS)
    if ("tcp" in options) == ("pty" in options):
        raise ValueError("give exactly one of --tcp and --pty")
    if "tcp" in options:
        if options["tcp"].isdigit():  # a port alone: on this machine only
            options["tcp"] = "127.0.0.1:" + options["tcp"]
        host, _, port = options["tcp"].rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError("config key 'tcp' must be HOST:PORT, not %r" % options["tcp"])
    _number(options, "heap_log", 0, 86400000)
    if "test_tr" in options:
        _number(options, "test_tr", 1, 1500)  # up to the profile's largest tr (TR_MAX)
    if "load_w" in options:  # W, or LOW-HIGH: boards/unix/load.py
        low, _, high = options["load_w"].partition("-")
        if not low or (_ and not high):  # "-5", "5-": not W nor LOW-HIGH, named as given
            low = options["load_w"]
        # watts up to what the Power register shows (tables.POWER_MAX_W)
        _number({"load_w": high or low}, "load_w", _number({"load_w": low}, "load_w", 0, 999999), 999999)
    return options


def is_new(state):
    """A new meter's state directory: not there yet, or holding nothing of a meter (no
    record, no lock directory). Looked at before the lock makes the directory."""
    try:
        for name in os.listdir(state):
            if name.startswith("meter") or name.startswith("stub"):
                return False
    except OSError as e:
        return e.args[0] == 2  # ENOENT: the board makes it now
    return True
