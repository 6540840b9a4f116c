"""RegisterTable (IEC 62055-52 clause 6.8): what the HHU can read and write, as data.

A register is a row of ROW bytes: its ID (high byte, low byte), value format
(formats.FMT_*), width (digits; for FMT_A the largest length) and access (READ, WRITE).
Rows come in blocks, each served by one object, its owner: `owner.read_register(rid)`
gives the value (int for H, D, B; bytes for A), `owner.write_register(rid, value)` takes
one and answers 0 or an ERR_* code. A register without READ answers ERR03, without
WRITE ERR02. The server's predefined registers are one block, the application's
companion table (firmware/catalogue.py) another.

Rows, not an object per register: a block is one bytes constant, in flash when the
firmware is frozen or runs from a ROMFS image, where a register object and its dict entry
took about 75 bytes of heap each (3 KB for the 40 registers on the 64-bit unix port).
A register has no name: the meter speaks only IDs, and each name would be a string in its
RAM; the HHU keeps the names (tools/vtc07/hhu.py).
"""

from formats import FMT_A
from micropython import const

ROW = const(5)
# a row's fields after the ID
FORMAT = const(2)
WIDTH = const(3)
ACCESS = const(4)
# access bits
READ = const(1)
WRITE = const(2)


class RegisterTable:
    def __init__(self):
        # per block, its rows and then the object that reads and writes them: one list,
        # not two (a list object less in a built meter, 32 bytes on a 32-bit port)
        self._blocks = []

    def add(self, rows, owner):
        """Add the block `rows`, served by `owner`: consecutive IDs, ascending, so that a
        lookup is an offset from the block's first ID; an ID defined twice, or a block
        with a gap, is a ValueError."""
        first = rows[0] << 8 | rows[1]
        for p in range(0, len(rows), ROW):
            rid = rows[p] << 8 | rows[p + 1]
            if rid != first + p // ROW:
                raise ValueError("register %04X: a block is consecutive IDs, ascending" % rid)
            if self.find(rid) >= 0:
                raise ValueError("register %04X defined twice" % rid)
        self._blocks.append(rows)
        self._blocks.append(owner)

    def find(self, rid):
        """Where register `rid` is (its block's place in `_blocks` << 16 | row position),
        or -1 when there is none. An int, not a row object: a lookup per message allocates
        nothing, and takes as long for the last register as for the first (an offset in
        each block)."""
        blocks = self._blocks
        b = len(blocks)
        while b:
            b -= 2
            rows = blocks[b]
            p = (rid - (rows[0] << 8 | rows[1])) * ROW
            if 0 <= p < len(rows):
                return b << 16 | p
        return -1

    def field(self, at, k):
        """Field `k` (FORMAT, WIDTH, ACCESS) of the register `find` put at `at`."""
        return self._blocks[at >> 16][(at & 0xFFFF) + k]

    def owner(self, at):
        return self._blocks[(at >> 16) + 1]

    def value_length_ok(self, at, n):
        """True when a written value of `n` characters fits the register's format."""
        width = self.field(at, WIDTH)
        if self.field(at, FORMAT) == FMT_A:
            return 1 <= n <= width
        return n == width

    def ids(self):
        """Every register's ID, ascending (for host tools)."""
        return sorted(rows[p] << 8 | rows[p + 1] for rows in self._blocks[::2] for p in range(0, len(rows), ROW))
