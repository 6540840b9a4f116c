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
tables STORE_*; nothing is written by this module over such copies). A store is `new` only
when its directory was made by this start (or an operator reset it, or the board says so):
in any other store a record with no valid copy is a fault, never "no record" (STORE_MISSING
when nothing of it is left), so a meter that was in use never becomes new by itself. An empty
`name.made` file, written once after the first save, still tells "made and lost" from "never
made" in a new store. A copy that is missing or damaged while the other is valid is recovered
from: `repaired` says so, and the next save rewrites it first.

Nothing here blocks or reads without bound whatever is in the directory: an entry that is
not a plain file (a directory, FIFO, device) is never opened, and a copy is read up to the
largest record the caller takes, never to the file's size. A copy that cannot even be
opened for writing (a directory in its place, a read-only file) is written around: the save
goes to the other copy alone and `degraded` says so until both can be written again.

`FileStore` keeps the copies as files in a directory (littlefs on boards, a plain directory
on the unix board); `MemoryStore` keeps them in RAM (tests, boards without storage).
"""

import os

from crc import crc16
from micropython import const
from tables import STORE_DAMAGED, STORE_FORMAT, STORE_MISSING, STORE_UNREADABLE

_ENOENT = const(2)  # POSIX errno, the same on every MicroPython port: no such file
_EIO = const(5)
_S_IFMT = const(0xF000)  # os.stat()[0]: the type bits, a plain file is S_IFREG
_S_IFREG = const(0x8000)
_SEQ_MAX = const(0xFFFFFFFF)
# the two copies, the seal (written once, after a record's first save: from then on no
# copy is a fault) and the bare name (the one-file record of the firmware before)
FILES = (".a", ".b", ".made", "")  # recovery.quarantine moves them all aside


def field(buf, at, end, value, pack):
    """One field of a stored record, buf[at:end], big-endian: `value` written there (pack;
    a negative one as two's complement) and returned, or the value read from there (not
    pack; unsigned). A record's fields are its calls of this function, one per field, the
    same call for both ways (tables REC_*: the meter's record)."""
    if pack:
        v = value
        while end > at:
            end -= 1
            buf[end] = v & 0xFF
            v >>= 8
        return value
    value = 0
    while at < end:
        value = value << 8 | buf[at]
        at += 1
    return value


class FileStore:
    """The copies as files in the directory `root`."""

    def __init__(self, root, new=None):
        """`new`: the caller knows whether this store is a new meter's (the unix board
        looks before its lock makes the directory); None: new when the directory is made
        here. A directory that is there already was in use: deleting every file in it
        does not make a new meter (only deleting the directory does)."""
        self.root = root
        self.seq = {}  # name -> [newest valid sequence number, its copy (0, 1), sealed]
        self._frame = bytearray(6)  # a copy's sequence number (4 bytes) and CRC (2): one object
        self.repaired = False  # a copy was missing or damaged and the other one was used
        self.degraded = False  # the last save could write one copy only
        self.new = new
        if root and new is None:
            try:
                os.mkdir(root)
                self.new = True
            except OSError:  # already there (or not makeable: the first load says so)
                self.new = False

    def _read(self, path, limit):
        """The file's first `limit` bytes; OSError when it is missing (ENOENT) or is not
        a plain file (never opened: a FIFO would block, a device never end)."""
        path = self.root + "/" + path
        if os.stat(path)[0] & _S_IFMT != _S_IFREG:
            raise OSError(_EIO)
        with open(path, "rb") as f:
            return f.read(limit)

    def _exists(self, path):
        """OSError when `path` is not there (ENOENT) or cannot be looked at."""
        return os.stat(self.root + "/" + path)

    def _write(self, path, head, data, tail):
        """True when the file cannot be opened for writing (and nothing of it was touched)."""
        # One file per copy, replaced in place: the other copy is the fallback, so no
        # rename is needed. flush() hands the bytes to the OS; littlefs commits a file
        # atomically on close. MicroPython has no fsync (docs/storage.md).
        path = self.root + "/" + path
        try:
            if os.stat(path)[0] & _S_IFMT != _S_IFREG:
                return True  # a directory, FIFO or device where the file goes
        except OSError:
            pass  # not there yet: open makes it
        try:
            f = open(path, "wb")
        except OSError:
            return True
        with f:
            f.write(head)
            f.write(data)
            f.write(tail)
            f.flush()

    def load(self, name, size=0xFFFF):
        """The record's data (at most `size` bytes), None for no record in a new store,
        or the fault (an int, tables STORE_*)."""
        best = None
        seq = -1
        index = 0
        valid = 0
        present = [False, False, False, False]  # per FILES: exists (readable or not)
        unreadable = False
        for i in range(4):
            try:
                # the copies are read (one byte over the largest: a longer one is
                # damaged); the seal and an older firmware's record only need to exist
                raw = self._read(name + FILES[i], size + 7) if i < 2 else self._exists(name + FILES[i])
            except OSError as e:
                if e.args and e.args[0] == _ENOENT:
                    continue
                raw = None  # it exists but cannot be read: never "no record"
                unreadable = unreadable or i < 2
            present[i] = True
            if i > 1 or raw is None:
                continue
            n = len(raw)
            if n < 6 or n > size + 6 or crc16(raw, 0, n - 2) != field(raw, n - 2, n, 0, False):
                continue  # a damaged copy
            valid += 1
            s = field(raw, 0, 4, 0, False)
            if s > seq:
                seq = s
                best = raw[4 : n - 2]
                index = i
        if best is None:
            if unreadable:
                return STORE_UNREADABLE
            if present[3]:
                return STORE_FORMAT  # the one-file record of an older firmware
            if present[2] or not self.new:
                # the record was made once (sealed), or this store was in use: a meter
                # that was in use never becomes new by itself
                return STORE_DAMAGED if present[0] or present[1] or present[2] else STORE_MISSING
            # a new store, copies but no seal: the first save of a new record was cut
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
        frame = self._frame
        field(frame, 0, 4, seq, True)
        field(frame, 4, 6, crc16(data, 0, len(data), crc16(frame, 0, 4)), True)
        view = memoryview(frame)  # a save makes its paths and files anyway: a view costs little
        head = view[:4]
        tail = view[4:]
        first = 1 - entry[1]
        if not self._write(name + FILES[first], head, data, tail):
            entry[0] = seq
            entry[1] = first
            self.degraded = self._write(name + FILES[1 - first], head, data, tail) is True
        else:
            # that copy cannot be opened for writing (a directory in its place, a
            # read-only file): the other one, which holds the newest record, takes the new
            # one alone; a cut while it is written leaves no valid copy, and the meter
            # fails closed at the next start (docs/storage.md)
            if self._write(name + FILES[1 - first], head, data, tail):
                raise OSError(_EIO)  # neither copy can be written: nothing was touched
            entry[0] = seq
            self.degraded = True
        if not entry[2] and not self.degraded:
            # once both copies are whole: the seal (a seal that cannot be written is
            # tried again by the next save; the store is no longer new either way)
            entry[2] = not self._write(name + FILES[2], b"", b"", b"")
        self.new = False
        self.repaired = False


class MemoryStore(FileStore):
    """The same contract in RAM (tests, tools, boards without storage)."""

    def __init__(self):
        FileStore.__init__(self, None, True)
        self.files = {}

    def _read(self, path, limit):
        if path not in self.files:
            raise OSError(_ENOENT)
        return self.files[path][:limit]

    def _exists(self, path):
        return self._read(path, 0)

    def _write(self, path, head, data, tail):
        """A copy of the same size is written over in place: a save makes no garbage of
        the record's size (a small board's heap would need room for it every token)."""
        n = len(head) + len(data) + len(tail)
        copy = self.files.get(path)
        if type(copy) is not bytearray or len(copy) != n:
            copy = self.files[path] = bytearray(n)
        copy[: len(head)] = head
        copy[len(head) : n - len(tail)] = data
        copy[n - len(tail) :] = tail
