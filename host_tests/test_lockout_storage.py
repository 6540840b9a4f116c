import os

import pytest

from lockout import TokenLockout, lock_seconds
from registers import Register, RegisterTable
from formats import FMT_A, FMT_H
from crc import crc16
from storage import FileStore, MemoryStore


def test_lock_lengths_double_up_to_the_cap():
    assert [lock_seconds(n) for n in range(1, 13)] == [0, 0, 10, 20, 40, 80, 160, 320, 640, 1280, 1280, 1280]
    assert lock_seconds(10**6) == 1280


def test_rejections_lock_and_acceptance_clears():
    store = MemoryStore()
    lock = TokenLockout(store, 0)
    lock.record(False, 0)
    lock.record(False, 0)
    assert not lock.locked(0)
    lock.record(False, 1000)
    assert lock.locked(1000) and lock.remaining_s(1000) == 10
    assert lock.remaining_s(10999) == 1 and not lock.locked(11000)
    lock.record(True, 20000)
    assert lock.count == 0 and not lock.locked(20000)


def test_state_survives_restart_and_expiry_is_saved():
    store = MemoryStore()
    lock = TokenLockout(store, 0)
    for _ in range(4):
        lock.record(False, 0)  # 20 s lock
    again = TokenLockout(store, 5000)  # power cycle: remaining time is served in full
    assert again.count == 4 and again.remaining_ms(5000) == 20000
    again.poll(25000)  # runs out: saved, so the next restart is not locked
    third = TokenLockout(store, 0)
    assert not third.locked(0) and third.count == 4
    third.record(False, 0)
    assert third.remaining_s(0) == 40


def test_accept_without_count_writes_nothing():
    class CountingStore(MemoryStore):
        saves = 0

        def save(self, name, data):
            CountingStore.saves += 1
            super().save(name, data)

    lock = TokenLockout(CountingStore(), 0)
    lock.record(True, 0)
    assert CountingStore.saves == 0


def test_file_store_round_trip_and_damage(tmp_path):
    store = FileStore(str(tmp_path / "s"))
    assert store.load("x") is None and not store.fault
    store.save("x", b"\x00\x01abc")
    assert FileStore(str(tmp_path / "s")).load("x") == b"\x00\x01abc"
    path = tmp_path / "s" / "x"
    data = bytearray(path.read_bytes())
    data[0] ^= 0xFF
    path.write_bytes(bytes(data))
    assert store.load("x") is None and store.fault
    assert not os.path.exists(str(path) + ".new")


def test_crc16_is_modbus():
    assert crc16(b"123456789") == 0x4B37


def test_register_table_rejects_duplicates_and_checks_lengths():
    table = RegisterTable()
    table.add(Register(0x10, FMT_H, 4))
    with pytest.raises(ValueError):
        table.add(Register(0x10, FMT_H, 2))
    assert table.get(0x11) is None and table.ids() == [0x10]
    a = Register(0x20, FMT_A, 16)
    assert a.value_length_ok(1) and a.value_length_ok(16) and not a.value_length_ok(0)
    assert not table.get(0x10).value_length_ok(3)


def test_damaged_record_sets_server_status_storage_fault(tmp_path):
    import meter

    store = FileStore(str(tmp_path / "s"))
    store.save("lockout", b"\x00\x01\x00\x00\x00\x00")
    path = tmp_path / "s" / "lockout"
    path.write_bytes(b"\xff" + path.read_bytes()[1:])
    server = meter.build({}, FileStore(str(tmp_path / "s")), 0)
    assert server.server_status() & 0x04
