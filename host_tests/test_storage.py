"""Redundant records, storage faults, corruption and power cuts at every storage call
(tools/storage_faults.py runs the same checks in full and prints the figures)."""

import os

import pytest
import storage_faults
from storage import FileStore, MemoryStore


def test_two_copies_and_the_newest_valid_one_wins(tmp_path):
    store = FileStore(str(tmp_path / "s"))
    assert store.load("x") is None
    store.save("x", b"one")
    store.save("x", b"two")
    again = FileStore(str(tmp_path / "s"))
    assert again.load("x") == b"two" and not again.repaired
    a = tmp_path / "s" / "x.a"
    a.write_bytes(a.read_bytes()[:-1] + b"\x00")  # damage one copy: the other is used
    assert again.load("x") == b"two" and again.repaired
    again.save("x", b"three")  # rewrites the damaged copy first, then the other
    assert FileStore(str(tmp_path / "s")).load("x") == b"three"
    assert (tmp_path / "s" / "x.a").read_bytes() == (tmp_path / "s" / "x.b").read_bytes()


def test_a_record_that_was_made_is_never_taken_for_no_record(tmp_path):
    store = FileStore(str(tmp_path / "s"))
    store.save("x", b"data")
    for name in ("x.a", "x.b"):
        os.remove(str(tmp_path / "s" / name))
    assert FileStore(str(tmp_path / "s")).load("x") == 4  # STORE_DAMAGED


def test_unreadable_is_a_fault_not_missing(tmp_path):
    store = FileStore(str(tmp_path / "s"))
    os.mkdir(str(tmp_path / "s" / "x.a"))
    os.mkdir(str(tmp_path / "s" / "x.b"))
    assert store.load("x") == 3  # STORE_UNREADABLE


def test_quarantine_keeps_the_damaged_copies(tmp_path):
    from recovery import quarantine

    store = FileStore(str(tmp_path / "s"))
    store.save("x", b"data")
    moved = quarantine(store, "x")
    assert sorted(os.path.basename(m) for m in moved) == ["x.a.damaged1", "x.b.damaged1", "x.made.damaged1"]
    assert store.load("x") is None
    store.save("x", b"new")
    assert sorted(os.path.basename(m) for m in quarantine(store, "x"))[0] == "x.a.damaged2"


def test_memory_store_has_the_same_contract():
    store = MemoryStore()
    store.save("x", b"one")
    store.files["x.b"] = b"\x00" * 9
    assert store.load("x") == b"one" and store.repaired


def test_corruption_of_one_copy_is_always_recovered():
    cases, counts = storage_faults.corruption(every=7)
    assert counts["failed open"] == 0 and counts["failed closed"] == 0
    assert counts["recovered"] == cases > 600


@pytest.mark.parametrize("fault", list(storage_faults.fault_classes()), ids=lambda f: "%s-%s" % f[:2])
def test_fault_classes(fault):
    kind, where, result, ok = fault
    assert ok, result


@pytest.mark.parametrize("operation", storage_faults.OPERATIONS, ids=lambda op: op[0])
def test_power_cut_at_every_storage_call(operation):
    assert storage_faults.cut_everywhere(*operation[1:]) > 100


def test_power_cut_at_every_block_operation_of_littlefs(micropython, built_firmware):
    """tools/lfs_powercut.py on the MicroPython unix port, the firmware as a board runs it."""
    import lfs_powercut

    code, out = lfs_powercut.host(["--lib", built_firmware])
    assert code == 0 and "failed 0" in out and "FAIL" not in out, out
    assert out.count("cut points") == 6


def test_reset_moves_an_older_firmwares_one_file_record_aside_too(tmp_path):
    """A one-file record of the earlier firmware is a fault (5); the operator's reset must
    clear that fault as it clears the others, keeping the file."""
    from recovery import quarantine

    root = tmp_path / "s"
    store = FileStore(str(root))
    (root / "meter").write_bytes(b"\x02" + bytes(80))
    assert store.load("meter") == 5  # STORE_FORMAT
    assert [os.path.basename(m) for m in quarantine(store, "meter")] == ["meter.damaged1"]
    assert store.load("meter") is None and (root / "meter.damaged1").exists()
