"""The project's byte-trace format (docs/traces.md), read and written.

Runs on CPython and MicroPython: the core replayer uses it on both.

    # comment
    @ key value            server setting for a replay (before the first event)
    > 1200 <SOH>R1<STX>0000()<ETX>P     client -> server at 1200 ms
    < 1400 <STX>0000(01)<ETX><03>       server -> client at 1400 ms
    = 5000                 the clock runs to 5000 ms (the server says nothing else)

Bytes: a printable character stands for itself; <SOH> <STX> <ETX> <ACK> <NAK> <CR> <LF>
and <hh> (two hex digits) for other 7-bit characters, "<" itself is <3C>. These are
characters: the line adds even parity in bit 7. {hh} is a raw line byte, sent exactly as
written (a parity error, a set 8th bit).

Its type hints are plain builtins, evaluated by CPython at definition time (3.9 takes
list[int]) and ignored by MicroPython, which has no __future__ or typing to import.
"""

NAMES = {0x01: "SOH", 0x02: "STX", 0x03: "ETX", 0x06: "ACK", 0x15: "NAK", 0x0D: "CR", 0x0A: "LF"}
_CODES: "dict[str, int]" = {}
for _k in NAMES:
    _CODES[NAMES[_k]] = _k

RAW = 0x100  # flag in a decoded character: send the low byte as it is


def _parity_byte(c: int) -> int:
    p = c ^ (c >> 4)
    p ^= p >> 2
    p ^= p >> 1
    return c | 0x80 if p & 1 else c


def command(body: bytes) -> bytes:
    """A client command as bytes: SOH body ETX and its BCC (for tests and benchmarks)."""
    bcc = 0x03
    for c in body:
        bcc ^= c
    return b"\x01" + bytes(body) + b"\x03" + bytes([bcc & 0x7F])


def read_request(rid: int) -> bytes:
    """ReadCommand for register `rid` (an int): SOH R1 STX id ( ) ETX BCC."""
    return command(b"R1\x02" + ("%04X" % rid).encode() + b"()")


def write_request(rid: int, value: "str | bytes") -> bytes:
    """WriteCommand of `value` (text or bytes) to register `rid` (an int)."""
    if isinstance(value, str):
        value = value.encode()
    return command(b"W1\x02" + ("%04X" % rid).encode() + b"(" + value + b")")


def to_line(chars: "list[int]", soft_parity: bool = True) -> bytes:
    """Line bytes for decoded characters (ints, RAW-flagged or 7-bit)."""
    out = bytearray()
    for c in chars:
        if c & RAW:
            out.append(c & 0xFF)
        else:
            out.append(_parity_byte(c) if soft_parity else c)
    return bytes(out)


def from_line(data: bytes, soft_parity: bool = True) -> "list[int]":
    """Decoded characters for line bytes: 7-bit where the parity is right, else RAW."""
    out = []
    for b in data:
        if soft_parity:
            ok = _parity_byte(b & 0x7F) == b
        else:
            ok = b < 0x80
        out.append(b & 0x7F if ok else b | RAW)
    return out


def escape(chars: "list[int]") -> str:
    parts = []
    for c in chars:
        if c & RAW:
            parts.append("{%02X}" % (c & 0xFF))
        elif c in NAMES:
            parts.append("<" + NAMES[c] + ">")
        elif 0x20 <= c <= 0x7E and c != 0x3C and c != 0x7B:
            parts.append(chr(c))
        else:
            parts.append("<%02X>" % c)
    return "".join(parts)


def unescape(text: str) -> "list[int]":
    chars = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "<" or ch == "{":
            close = ">" if ch == "<" else "}"
            j = text.find(close, i)
            if j < 0:
                raise ValueError("unclosed %s in %r" % (ch, text))
            name = text[i + 1 : j]
            if ch == "{":
                chars.append(int(name, 16) | RAW)
            elif name in _CODES:
                chars.append(_CODES[name])
            else:
                chars.append(int(name, 16))
            i = j + 1
        else:
            chars.append(ord(ch))
            i += 1
    return chars


class Trace:
    """A parsed trace: settings, and events (kind, ms, chars) with kind in "><=" ."""

    def __init__(self) -> None:
        self.settings: "dict[str, str]" = {}
        self.events: "list[tuple[str, int, list[int]]]" = []
        self.comments: "list[str]" = []

    def lines(self, with_header: bool = True) -> "list[str]":
        out = []
        if with_header:
            for c in self.comments:
                out.append("#" + c)
            for k in self.settings:
                out.append("@ %s %s" % (k, self.settings[k]))
        for kind, ms, chars in self.events:
            if kind == "=":
                out.append("= %d" % ms)
            else:
                out.append("%s %d %s" % (kind, ms, escape(chars)))
        return out


def parse(text: str) -> Trace:
    trace = Trace()
    for number, line in enumerate(text.split("\n"), 1):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        kind = line[0]
        if kind == "#":
            trace.comments.append(line[1:])
        elif kind == "@":
            parts = line[1:].strip().split(" ", 1)
            trace.settings[parts[0]] = parts[1].strip() if len(parts) > 1 else ""
        elif kind in "<>=":
            parts = line[1:].strip().split(" ", 1)
            try:
                ms = int(parts[0])
            except ValueError:
                raise ValueError("line %d: bad time %r" % (number, parts[0]))
            if trace.events and ms < trace.events[-1][1]:
                raise ValueError("line %d: time goes backwards" % number)
            chars = unescape(parts[1]) if len(parts) > 1 else []
            trace.events.append((kind, ms, chars))
        else:
            raise ValueError("line %d: unknown line kind %r" % (number, kind))
    return trace


def load(path: str) -> Trace:
    with open(path) as f:
        return parse(f.read())
