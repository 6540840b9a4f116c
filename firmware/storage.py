"""Persistent records: small named byte strings that survive a power cut at any instant and
the loss or corruption of any one stored copy (docs/storage.md says why this design).

Each record is kept twice, `name.a` and `name.b`. A copy is `seq:4 | data | CRC-16:2`, the
CRC over seq and data. A save writes the new data, with the next sequence number, first
over the copy that does not hold the newest valid data, then over the other one: at every
instant at least one copy is whole, holding either the old or the new data, and once a save
returns both copies hold the same data. `load` takes the valid copy with the highest
sequence number.

`load` tells three cases apart, because they mean different things to a meter holding money:
no record was ever made (a new meter: None), a valid copy (its data, bytes), and a record
that was made but has no copy that can be read and passes its CRC (an int: the reason,
tables STORE_*; nothing is written by this module over such copies). An empty `name.made` file, written
once after the first save, tells "never made" from "made and lost" (both copies deleted). A copy that is missing or damaged while the other
is valid is recovered from: `repaired` says so, and the next save rewrites it first.

`FileStore` keeps the copies as files in a directory (littlefs on boards, a plain directory
on the unix board); `MemoryStore` keeps them in RAM (tests, boards without storage).
"""
import os

from micropython import const

from crc import crc16
from tables import STORE_DAMAGED, STORE_FORMAT, STORE_UNREADABLE

_ENOENT = const(2)  # POSIX errno, the same on every MicroPython port: no such file
_SEQ_MAX = const(0xFFFFFFFF)
# the two copies, the seal (written once, after a record's first save: from then on no
# copy is a fault) and the bare name (the one-file record of the firmware before)
FILES = (".a", ".b", ".made", "")  # recovery.quarantine moves them all aside


class FileStore:
    """The copies as files in the directory `root`."""

    def __init__(self, root):
        self.root = root
        self.seq = {}  # name -> [newest valid sequence number, its copy (0, 1), sealed]
        self._head = bytearray(4)
        self._tail = bytearray(2)
        self.repaired = False  # a copy was missing or damaged and the other one was used
        try:
            if root:
                os.mkdir(root)
        except OSError:
            pass  # already there (or not makeable: the first load or save says so)

    def _read(self, path):
        with open(self.root + "/" + path, "rb") as f:
            return f.read()

    def _write(self, path, head, data, tail):
        # One file per copy, replaced in place: the other copy is the fallback, so no
        # rename is needed. flush() hands the bytes to the OS; littlefs commits a file
        # atomically on close. MicroPython has no fsync (docs/storage.md).
        with open(self.root + "/" + path, "wb") as f:
            f.write(head)
            f.write(data)
            f.write(tail)
            f.flush()

    def load(self, name):
        best = None
        seq = -1
        index = 0
        valid = 0
        present = [False, False, False, False]  # per FILES: exists (readable or not)
        unreadable = False
        for i in range(4):
            try:
                raw = self._read(name + FILES[i])
            except OSError as e:
                if e.args and e.args[0] == _ENOENT:
                    continue
                raw = None  # it exists but cannot be read: never "no record"
                unreadable = unreadable or i < 2
            present[i] = True
            if i > 1 or raw is None:
                continue
            n = len(raw)
            if n < 6 or crc16(raw, 0, n - 2) != (raw[n - 2] << 8 | raw[n - 1]):
                continue  # a damaged copy
            valid += 1
            s = raw[0] << 24 | raw[1] << 16 | raw[2] << 8 | raw[3]
            if s > seq:
                seq = s
                best = raw[4:n - 2]
                index = i
        if best is None:
            if unreadable:
                return STORE_UNREADABLE
            if present[2]:
                return STORE_DAMAGED  # the record was made once: it is lost
            if present[3]:
                return STORE_FORMAT  # the one-file record of an older firmware
            # copies but no seal: the first save of a new record was cut, no record yet
            self.seq.pop(name, None)
            return None
        # One valid copy of two is a damaged or missing copy recovered from. Two valid
        # copies of different sequence numbers are a cut between the two writes of a save:
        # the newer is taken, and the next save rewrites the older one first.
        self.repaired = valid < 2
        self.seq[name] = [seq, index, present[2]]
        return best

    def save(self, name, data):
        """Store `data` (bytes-like); raises OSError when a copy cannot be written. After a
        failure, `seq[name]` tells whether the new data reached one copy."""
        entry = self.seq.get(name)
        if entry is None:  # a new record: the first write goes to .a
            entry = self.seq[name] = [0, 1, False]
        seq = entry[0] + 1 if entry[0] < _SEQ_MAX else 1
        head = self._head
        head[0] = seq >> 24
        head[1] = (seq >> 16) & 0xFF
        head[2] = (seq >> 8) & 0xFF
        head[3] = seq & 0xFF
        crc = crc16(data, 0, len(data), crc16(head))
        tail = self._tail
        tail[0] = crc >> 8
        tail[1] = crc & 0xFF
        first = 1 - entry[1]
        self._write(name + FILES[first], head, data, tail)
        entry[0] = seq
        entry[1] = first
        self._write(name + FILES[1 - first], head, data, tail)
        if not entry[2]:  # once both copies are whole: from now on, no copy is a fault
            self._write(name + FILES[2], b"", b"", b"")
            entry[2] = True
        self.repaired = False


class MemoryStore(FileStore):
    """The same contract in RAM (tests, tools, boards without storage)."""

    def __init__(self):
        FileStore.__init__(self, None)
        self.files = {}

    def _read(self, path):
        if path not in self.files:
            raise OSError(_ENOENT)
        return self.files[path]

    def _write(self, path, head, data, tail):
        self.files[path] = bytes(head) + bytes(data) + bytes(tail)
