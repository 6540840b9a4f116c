"""RegisterTable (IEC 62055-52 clause 6.8): what the HHU can read and write.

A register is an ID, a value format with its width, and the functions that read and write
it. A register without `read` is not readable (ERR03), without `write` not writable (ERR02).
`read` is given the register's ID, so that one bound method can serve a whole table: a
closure per register would cost about 100 bytes of RAM each on MicroPython. A register has
no name: the meter speaks only IDs, and each name would be a string in its RAM; the HHU
keeps the names (tools/hhu.py).
The application adds its own registers (the companion table 8001) with `add`.
"""
from formats import FMT_A


class Register:
    __slots__ = ("rid", "fmt", "width", "read", "write")

    def __init__(self, rid, fmt, width, read=None, write=None):
        self.rid = rid
        self.fmt = fmt  # encodings.FMT_*
        self.width = width  # digits; for FMT_A the largest length (1..width)
        self.read = read  # (rid) -> int (H, D, B) or bytes (A)
        self.write = write  # (int or bytes) -> 0, or an ERR_* code

    def value_length_ok(self, n):
        if self.fmt == FMT_A:
            return 1 <= n <= self.width
        return n == self.width


class RegisterTable:
    def __init__(self):
        self._regs = {}

    def add(self, register, rid=None):
        """Add `register` under its ID, or under `rid`: registers of one format, width and
        read function can share one object (each costs some 100 bytes on MicroPython)."""
        rid = register.rid if rid is None else rid
        if rid in self._regs:
            raise ValueError("register %04X defined twice" % rid)
        self._regs[rid] = register

    def get(self, rid):
        return self._regs.get(rid)

    def ids(self):
        return sorted(self._regs)
