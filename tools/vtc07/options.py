"""The `vtc07` command's argument types (a bad value is a usage error naming the option,
exit status 2) and its configuration file, vtc07.toml.

vtc07.toml is read from the working directory, else from the user's configuration
directory ($XDG_CONFIG_HOME/vtc07/ or ~/.config/vtc07/); $VTC07_CONFIG names another file.
Its keys are the line options' defaults:

    port = "/dev/ttyUSB0"
    baud = 2400
    parity = "uart"       # soft | uart
    address = ""
    echo = true           # a half-duplex adapter that echoes what is sent
    timeout = 2.0         # seconds an answer may take to start

$VTC07_PORT overrides the file's port, an option given on the command line both.
"""

from __future__ import annotations

import argparse
import math
import os
from typing import Any, Callable, NoReturn, Optional, Union

from tables import ADDRESS_MAX


def ranged(lo: int, hi: int, what: str = "a number") -> Callable[[str], int]:
    """argparse type: a whole number in lo..hi."""

    def check(text: str) -> int:
        try:
            value = int(text, 10)
        except ValueError:
            raise argparse.ArgumentTypeError("%r is not %s" % (text, what))
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError("%d is out of range (%d..%d)" % (value, lo, hi))
        return value

    check.__name__ = what
    return check


def seconds(lo: float, hi: float) -> Callable[[str], float]:
    """argparse type: a finite number of seconds in lo..hi (inf and nan are not)."""

    def check(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError("%r is not a number of seconds" % text)
        if not (math.isfinite(value) and lo <= value <= hi):
            raise argparse.ArgumentTypeError("%s is not a number of seconds from %g to %g" % (text, lo, hi))
        return value

    check.__name__ = "seconds"
    return check


def meter_number(text: str) -> str:
    if not (text.isdigit() and len(text) in (17, 18)):
        raise argparse.ArgumentTypeError("a meter number is 17 or 18 digits, not %r" % text)
    return text


def port(text: str) -> str:
    """A pyserial URL or device; a socket URL must name a host and a port 1..65535 (pyserial's
    own messages for those leak its internals)."""
    for scheme in ("socket://", "rfc2217://"):
        if text.startswith(scheme):
            host, _, number = text[len(scheme) :].partition("?")[0].rpartition(":")
            if not host or not number.isdigit() or not 0 < int(number) < 65536:
                raise argparse.ArgumentTypeError(
                    "%r: a %s URL is %sHOST:PORT with PORT 1..65535" % (text, scheme[:-3], scheme)
                )
    if not text:
        raise argparse.ArgumentTypeError("an empty port")
    return text


def address(text: str) -> str:
    """The IDRequest's address: what a meter can have (profile section 2)."""
    if len(text) > ADDRESS_MAX or not all(c.isascii() and c.isalnum() for c in text):
        raise argparse.ArgumentTypeError("%r: an address is up to %d characters 0-9 A-Z a-z" % (text, ADDRESS_MAX))
    return text


# the configuration file's keys: what each takes, as the option's type checks it
CONFIG_KEYS: dict[str, tuple[Union[type, tuple[type, ...]], Callable[[Any], Any]]] = {
    "port": (str, port),
    "baud": (int, ranged(1, 10**7)),
    "parity": (str, lambda v: v if v in ("soft", "uart") else _bad("soft or uart")),
    "address": (str, address),
    "echo": (bool, bool),
    "timeout": ((int, float), seconds(0.1, 600)),
}


def _bad(what: str) -> NoReturn:
    raise argparse.ArgumentTypeError("must be " + what)


def config_path() -> Optional[str]:
    """The configuration file that applies, or None."""
    if os.environ.get("VTC07_CONFIG"):
        return os.environ["VTC07_CONFIG"]
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    for path in ("vtc07.toml", os.path.join(base, "vtc07", "vtc07.toml")):
        if os.path.isfile(path):
            return path
    return None


def load_config(path: str) -> dict[str, Any]:
    """The checked settings of a vtc07.toml; ValueError naming the file and the key."""
    try:
        import tomllib
    except ImportError:  # Python < 3.11
        import tomli as tomllib  # type: ignore[no-redef]
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except OSError as e:
        raise ValueError("%s: %s" % (path, e.strerror))
    except tomllib.TOMLDecodeError as e:
        raise ValueError("%s: %s" % (path, e))
    settings: dict[str, Any] = {}
    for key, value in data.items():
        if key not in CONFIG_KEYS:
            raise ValueError("%s: unknown key %r (keys: %s)" % (path, key, ", ".join(CONFIG_KEYS)))
        kind, check = CONFIG_KEYS[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ValueError("%s: %s = %r is not %s" % (path, key, value, getattr(kind, "__name__", "a number")))
        try:
            settings[key] = check(str(value) if kind is int else value)
        except argparse.ArgumentTypeError as e:
            raise ValueError("%s: %s: %s" % (path, key, e))
    return settings
