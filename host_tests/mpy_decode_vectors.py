"""Run by the tests on the MicroPython unix port: the decoder on the spec's vectors, then
the cases the host made (pycryptodome, tools/vending.py) read from stdin, one per line:
  des KEY CIPHER PLAIN      EA09 block decryption (hex)
  misty1 KEY CIPHER PLAIN   EA11 block decryption (hex, 128-bit key)
  app ALGORITHM [DK]        a fresh meter with that key algorithm and the default key (or DK)
  token NUMBER STATUS       enter the token on the current meter, expect that tokenStatus
"""

import sys

_here = sys.argv[0].rsplit("/", 1)[0]
sys.path.insert(0, _here + "/../firmware")

from des import Des  # noqa: E402
from meterapp import MeterApplication  # noqa: E402
from misty1 import Misty1  # noqa: E402
from storage import MemoryStore  # noqa: E402
from tokens import bits_from_bytes, digits_to_number  # noqa: E402

# (token, class, subclass, RND, TID, value field) from sts-tokens.md section 5
VECTORS = (
    (b"23716100501183194197", 0, 0, 5, 5871715, 1),
    (b"42502136492215507402", 0, 1, 5, 5871725, 1),
    (b"67586531586639825066", 0, 2, 5, 5871735, 1),
    (b"41932934023937597177", 2, 0, 5, 5915940, 256),
)
app = MeterApplication(MemoryStore(), {})
for digits, cls, sub, rnd, tid, value in VECTORS:
    number = digits_to_number(digits)
    t = app._token
    assert t.load(number)
    app._cipher.decrypt(t.bits)
    got = (t.token_class, t.field(63, 4), t.field(59, 4), t.field(55, 24), t.field(31, 16), t.crc_ok())
    assert got == (cls, sub, rnd, tid, value, True), (digits, got)
    app.submit(number, 0)
    assert app.step(0) == 1, digits
    app.submit(number, 0)
    assert app.step(0) == 10, digits
app.submit(digits_to_number(b"56493153725450313471"), 0)
assert app.step(0) == 1
app.submit(digits_to_number(b"67206107716095682372"), 0)
assert app.step(0) == 13
print("vectors ok")

count = 0
block = bytearray(64)
for line in sys.stdin.read().split("\n"):
    f = line.split()
    if not f:
        continue
    if f[0] in ("des", "misty1"):
        key = bytearray(4 * len(f[1]))
        bits_from_bytes(bytes.fromhex(f[1]), key)
        bits_from_bytes(bytes.fromhex(f[2]), block)
        (Des if f[0] == "des" else Misty1)(key).decrypt(block)
        plain = bytearray(64)
        bits_from_bytes(bytes.fromhex(f[3]), plain)
        assert block == plain, line
    elif f[0] == "app":
        config = {"algorithm": f[1]}
        if len(f) > 2:
            config["dk"] = f[2]
        app = MeterApplication(MemoryStore(), config)
    else:
        app.submit(int(f[1]), 0)
        got = app.step(0)
        assert got == int(f[2]), (line, got)
    count += 1
print(count, "cases ok")
