"""Assemble a meter from a configuration: the one place boards and tools build it.

`config` is a dict of strings, as a board's flags or a trace's @ settings give it:
  address, ident, manufacturer   IDRequest address (default: the meter number), IDResponse
  tr, ta, recovery, session_timeout, baud   timing (ms) and speed, the profile's by default
  parity                          "soft" (8N1 UART, parity in bit 7) or "uart" (7E1 UART)
  exec_ms                         the stub application's processing time
"""
from application import Application
from lockout import TokenLockout
from server import Server

METER_NUMBER = "600727000000000009"  # the unix board's identity (sts-tokens.md vectors)
_INTS = ("tr", "ta", "recovery", "session_timeout", "baud")
_TEXTS = ("address", "ident", "manufacturer")


def build(config, store, now):
    kwargs = {"address": config.get("address", METER_NUMBER).encode()}
    for key in _INTS:
        if key in config:
            kwargs[key] = int(config[key])
    for key in _TEXTS:
        if key in config:
            kwargs[key] = config[key].encode()
    kwargs["soft_parity"] = config.get("parity", "soft") == "soft"
    app = Application(store, exec_ms=int(config.get("exec_ms", "0")))
    return Server(app, TokenLockout(store, now), now, **kwargs)
