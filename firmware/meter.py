"""Assemble a meter from a configuration: the one place boards and tools build it.

`config` is a dict of strings, as a board's flags or a trace's @ settings give it:
  address, ident, manufacturer   IDRequest address (default: the meter number), IDResponse
  tr, ta, recovery, session_timeout, baud   timing (ms) and speed, the profile's by default
  parity                          "soft" (8N1 UART, parity in bit 7) or "uart" (7E1 UART)
  app                             "sts" (the token engine, default) or "stub" (answers 8)
  exec_ms                         the stub application's processing time
  meter_number, dk, algorithm, key_type, sgc, ti, krn, ken, base_date, mfr_code, currency
                                  the token engine's identity and key (firmware/meterapp.py);
                                  algorithm is sta (EA07), des (EA09) or misty1 (EA11)
A board reads the same keys from a config file (`parse_config`) and lets flags override it.
"""
from application import Application
from meterapp import METER_NUMBER, MeterApplication
from server import Server

_INTS = ("tr", "ta", "recovery", "session_timeout", "baud")
_TEXTS = ("address", "ident", "manufacturer")


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


def build(config, store, now):
    kwargs = {"address": config.get("address", config.get("meter_number", METER_NUMBER)).encode()}
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
    else:
        app = MeterApplication(store, config, now)
    return Server(app, now, **kwargs)
