"""Assemble a meter from a configuration: the one place boards and tools build it.

`config` is a dict of strings, as a board's flags or a trace's @ settings give it; its
keys (address, ident, manufacturer, timing, parity, app, the token engine's identity and
key), what each accepts and its default are in firmware/config.py.
A board reads the same keys from a config file (config.parse_config) and lets flags override it.
`build` checks the config first: an unknown key or a bad value is a ValueError naming it.
"""

from application import Application
from meterapp import METER_NUMBER, MeterApplication
from server import Server

_INTS = ("tr", "ta", "recovery", "session_timeout", "baud")
_TEXTS = ("address", "ident", "manufacturer")


def check(config, board_keys=()):
    """firmware/config.py's check; `board_keys` are the board's own keys, not the meter's.

    The module is dropped again afterwards: its table is needed once, at start, and a
    small board wants the RAM back (a later check imports it again)."""
    import sys

    try:
        __import__("config").check(config, board_keys)  # not `import config`: the argument
    finally:
        sys.modules.pop("config", None)


def build(config, store, now, board_keys=(), checked=False):
    """The meter `config` describes; `checked`: the caller ran check() on it already (the
    check imports its table again, which a small heap building a meter can ill afford)."""
    if not checked:
        check(config, board_keys)
    kwargs = {}
    for key in _INTS:
        if key in config:
            kwargs[key] = int(config[key])
    for key in _TEXTS:
        if key in config:
            kwargs[key] = config[key].encode()
    kwargs["soft_parity"] = config.get("parity", "soft") == "soft"
    if config.get("app", "sts") == "stub":
        app = Application(store, now, exec_ms=int(config.get("exec_ms", "0")))
        app.load(now)
        number = config.get("meter_number", METER_NUMBER).encode()
    else:
        app = MeterApplication(store, config, now)
        number = app.meter_number  # the same 18 digits (config.py checks them): one object
    kwargs["address"] = config["address"].encode() if "address" in config else number
    return Server(app, now, **kwargs)
