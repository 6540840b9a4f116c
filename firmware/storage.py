"""Persistent records: small named byte strings that survive a power cut at any instant.

`FileStore` keeps one file per record in a directory (littlefs on boards, a plain
directory on the unix board). A record is replaced by writing a new file and renaming it
over the old one; rename is atomic on littlefs and POSIX, so after a cut a record is either
wholly old or wholly new. Each file ends with a CRC-16 so that a damaged one reads as
missing and is reported, never taken for valid data.
`MemoryStore` is the same contract in RAM, for tests and for boards without storage.
"""
import os

from crc import crc16


class MemoryStore:
    def __init__(self):
        self.records = {}
        self.fault = False

    def load(self, name):
        return self.records.get(name)

    def save(self, name, data):
        self.records[name] = bytes(data)


class FileStore:
    def __init__(self, root):
        self.root = root
        self.fault = False  # a record was unreadable: ServerStatus bit 2
        try:
            os.mkdir(root)
        except OSError:
            pass  # already there

    def _path(self, name):
        return self.root + "/" + name

    def load(self, name):
        try:
            with open(self._path(name), "rb") as f:
                data = f.read()
        except OSError:
            return None
        if len(data) < 2 or crc16(data, 0, len(data) - 2) != (data[-2] << 8 | data[-1]):
            self.fault = True
            return None
        return data[:-2]

    def save(self, name, data):
        path = self._path(name)
        crc = crc16(data)
        with open(path + ".new", "wb") as f:
            f.write(data)
            f.write(bytes((crc >> 8, crc & 0xFF)))
        os.rename(path + ".new", path)
