import pytest
from crc import crc16
from formats import FMT_A, FMT_D, FMT_H
from lockout import TokenLockout, lock_seconds
from registers import ACCESS, READ, WRITE, RegisterTable
from storage import FileStore, MemoryStore


def test_lock_lengths_double_up_to_the_cap():
    assert [lock_seconds(n) for n in range(1, 13)] == [0, 0, 10, 20, 40, 80, 160, 320, 640, 1280, 1280, 1280]
    assert lock_seconds(10**6) == 1280


def test_rejections_lock_and_acceptance_clears():
    lock = TokenLockout(0)
    assert lock.record(False, 0) and lock.record(False, 0)
    assert not lock.locked(0)
    lock.record(False, 1000)
    assert lock.locked(1000) and lock.remaining_s(1000) == 10
    assert lock.remaining_s(10999) == 1 and not lock.locked(11000)
    assert lock.record(True, 20000)
    assert lock.count == 0 and not lock.locked(20000)
    assert not lock.record(True, 20000)  # nothing changed: nothing to save


def stub_meter(store, now=0):
    import meter

    return meter.build({"app": "stub"}, store, now)


def test_state_survives_restart_and_expiry_is_saved():
    """The stub application stores only the lockout; the same rules as the token engine."""
    store = MemoryStore()
    server = stub_meter(store)
    for _ in range(4):
        server.app.submit(0, 0)  # class 0: counts; the stub answers 8
        assert server.app.step(0) == 8
    again = stub_meter(store, 5000)  # power cycle: remaining time is served in full
    assert again.app.lockout.count == 4 and again.app.lockout.remaining_ms(5000) == 20000
    again.poll(25000)  # runs out: saved, so the next restart is not locked
    third = stub_meter(store)
    assert not third.app.lockout.locked(0) and third.app.lockout.count == 4
    third.app.submit(0, 0)
    third.app.step(0)
    assert third.app.lockout.remaining_s(0) == 40


def test_accept_without_count_writes_nothing():
    store = MemoryStore()
    server = stub_meter(store)
    server.app.submit(1 << 27, 0)  # class 1: not counted, and the stub stores no result
    server.app.step(0)
    assert store.files == {}


def test_held_lockout_has_no_end():
    lock = TokenLockout(0)
    lock.held = True
    assert lock.locked(10**9 % 2**30) and lock.remaining_s(0) == 1280 and lock.deadline(0) == -1
    assert not lock.poll(10**6)


def test_crc16_is_modbus():
    assert crc16(b"123456789") == 0x4B37


def test_crc16_table_is_the_bitwise_crc():
    """firmware/crc.py's table against the polynomial, bit by bit, over each byte value and
    a range of a buffer."""

    def bitwise(data, crc=0xFFFF):
        for b in data:
            crc ^= b
            for _ in range(8):
                crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        return crc

    for b in range(256):
        assert crc16(bytes([b])) == bitwise(bytes([b]))
    data = bytes(range(7, 250, 3))
    assert crc16(data, 5, 60) == bitwise(data[5:60])
    assert crc16(data, 0, 8, 0x1234) == bitwise(data[:8], 0x1234)


def test_register_table_rejects_duplicates_and_checks_lengths():
    table = RegisterTable()
    owner = object()
    table.add(bytes((0, 0x10, FMT_H, 4, READ)), owner)
    with pytest.raises(ValueError):
        table.add(bytes((0, 0x10, FMT_H, 2, READ)), owner)
    with pytest.raises(ValueError):  # twice in one block
        table.add(bytes((0, 0x11, FMT_H, 2, READ, 0, 0x11, FMT_D, 2, READ)), owner)
    table.add(bytes((0, 0x20, FMT_A, 16, WRITE)), owner)
    assert table.find(0x11) == -1 and table.ids() == [0x10, 0x20]
    a = table.find(0x20)
    assert table.owner(a) is owner and table.field(a, ACCESS) == WRITE
    assert table.value_length_ok(a, 1) and table.value_length_ok(a, 16) and not table.value_length_ok(a, 0)
    assert not table.value_length_ok(table.find(0x10), 3)


def test_damaged_record_sets_server_status_storage_fault(tmp_path):
    import meter

    root = str(tmp_path / "s")
    stub_meter(FileStore(root)).app.save(0)
    for name in ("stub.a", "stub.b"):
        path = tmp_path / "s" / name
        path.write_bytes(b"\xff" + path.read_bytes()[1:])
    server = meter.build({"app": "stub"}, FileStore(root), 0)
    assert server.server_status() & 0x04 and server.server_status() & 0x02
