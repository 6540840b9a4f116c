"""The meter application process: vectors, every rejection path, persistence (power cuts
and storage faults: test_storage.py)."""

import pytest
from conftest import run_decoder_on_micropython
from helpers import DK, credit_token, mgmt_token, run, stored, tid
from meterapp import MeterApplication
from storage import FileStore, MemoryStore

from vtc07 import vending


@pytest.fixture
def app():
    return MeterApplication(MemoryStore(), {})


def test_spec_vectors_accept_and_credit_the_right_register(app):
    for digits, register in (("23716100501183194197", 0), ("42502136492215507402", 1), ("67586531586639825066", 2)):
        assert run(app, int(digits)) == 1
        assert app.credit[register] == 1
        assert run(app, int(digits)) == 10  # Used
    assert run(app, 41932934023937597177) == 1  # SetMaximumPowerLimit, field 256
    assert app.mpl == 256 and app.last[1:4] == [2, 0, 256]


def test_token_for_another_meter_fails_crc(app):
    assert run(app, 67206107716095682372) == 13
    assert app.credit == [0, 0, 0, 0] and app.tids == []


def test_class1_tokens_and_manufacturer_code():
    app = MeterApplication(MemoryStore(), {})
    assert run(app, 56493153725450313471) == 1
    assert run(app, 2305843005052951967) == 1
    other = MeterApplication(MemoryStore(), {"mfr_code": "7"})
    assert run(other, 56493153725450313471) == 14
    corrupt = vending.class1_token(0, 2**36 - 1, 0) ^ (1 << 40)
    assert run(app, corrupt) == 13


def test_format_range_overflow_and_function(app):
    assert run(app, 1 << 66) == 6
    assert run(app, credit_token(subclass=4)) == 8  # currency not configured
    assert run(app, mgmt_token(9, 0, tid(1))) == 8  # undefined class 2 subclass
    assert run(app, mgmt_token(1, 7, tid(2))) == 7  # ClearCredit of a register that does not exist
    app.credit[0] = 9999999999
    assert run(app, credit_token(t=tid(3))) == 4
    assert app.credit[0] == 9999999999


def test_currency_when_configured():
    """Edition 3 currency tokens carry CRC_C and go to their own balance (test_edition3.py
    has the rest); one with the plain token CRC is no currency token this meter knows."""
    app = MeterApplication(MemoryStore(), {"currency": "1"})
    assert run(app, vending.currency_token(4, tid(), 50, DK)) == 1
    assert app.balance == 50 and app.credit == [0, 0, 0, 0]
    assert run(app, credit_token(subclass=4, amount=50, t=tid(1))) == 8


def test_key_rules():
    assert run(MeterApplication(MemoryStore(), {"key_type": "1"}), credit_token()) == 12  # DDTK
    ddtk = MeterApplication(MemoryStore(), {"key_type": "1"})
    assert run(ddtk, mgmt_token(0, 256, tid())) == 1  # management tokens are fine under a DDTK
    assert run(MeterApplication(MemoryStore(), {"key_type": "0"}), credit_token()) == 5  # DITK
    assert run(MeterApplication(MemoryStore(), {"ken": "0"}), credit_token()) == 11  # TID >> 16 = 89 > 0


def test_tid_store_used_and_old(app):
    for i in range(55):
        assert run(app, credit_token(t=tid(10 + i))) == 1
    assert len(app.tids) == 50 and app.tids[0] == tid(15)
    assert run(app, credit_token(t=tid(12))) == 9  # older than the oldest kept
    assert run(app, credit_token(t=tid(30))) == 10  # in the store
    assert run(app, credit_token(t=tid(0))) == 9
    assert run(app, credit_token(t=tid(100))) == 1  # newer: fine
    assert app.credit[0] == 56


def test_clear_credit_tariff_tamper_and_factors(app):
    assert run(app, credit_token(0, 100)) == 1 and run(app, credit_token(1, 5, t=tid(1))) == 1
    assert run(app, mgmt_token(1, 0, tid(2))) == 1 and app.credit[:2] == [0, 5]
    assert run(app, mgmt_token(1, 0xFFFF, tid(3))) == 1 and app.credit == [0, 0, 0, 0]
    assert run(app, mgmt_token(2, 1234, tid(4))) == 1 and app.tariff_rate == 1234
    app.tamper = 1
    assert run(app, mgmt_token(5, 0, tid(5))) == 1 and app.tamper == 0
    assert run(app, mgmt_token(6, 300, tid(6))) == 1 and app.mppul == 300
    assert run(app, mgmt_token(7, 42, tid(7))) == 1 and app.water_factor == 42


def test_rejections_change_nothing_stored(app):
    assert run(app, credit_token()) == 1
    before = stored(app)
    for number in (credit_token(), 67206107716095682372, credit_token(subclass=4, t=tid(1))):
        run(app, number)
        assert stored(app) == before


def test_state_survives_restart(tmp_path):
    store = FileStore(str(tmp_path / "state"))  # made here: a new meter
    app = MeterApplication(store, {})
    assert run(app, credit_token(amount=250)) == 1
    again = MeterApplication(FileStore(str(tmp_path / "state")), {})
    assert again.credit[0] == 250 and again.tids == [tid()] and again.token_status == 1
    assert run(again, credit_token(amount=250)) == 10


def test_decoder_on_micropython(micropython):
    assert run_decoder_on_micropython(micropython) == "0 cases ok"


def test_failed_save_leaves_the_running_state_as_stored():
    """A save that fails before any copy is written: the token reads 17 (not applied),
    ServerStatus bit 2 is set, nothing of it stays in RAM, and no exception escapes."""

    class FailingStore(MemoryStore):
        fail = False

        def _write(self, path, head, data, tail):
            if self.fail:
                raise OSError(28, "no space")
            super()._write(path, head, data, tail)

    store = FailingStore()
    app = MeterApplication(store, {})
    assert run(app, credit_token(amount=30, t=tid(-5))) == 1
    store.fail = True
    assert run(app, credit_token(amount=70)) == 17
    assert app.credit[0] == 30 and app.tids == [tid(-5)] and app.token_status == 17 and not app.busy
    assert app.status_bits() & 0x04 and app.fault == 2 and not app.refusing
    store.fail = False
    assert run(app, credit_token(amount=70)) == 1 and app.credit[0] == 100
    assert app.fault == 0 and not app.status_bits() & 0x04


def test_a_record_it_cannot_read_is_a_storage_fault_not_a_guess(app):
    """Another format version, or more TIDs than the store keeps: nothing is taken from it,
    token entry is refused and the lockout is held."""
    from tables import REC_TID_COUNT

    assert run(app, credit_token()) == 1
    good = bytes(app.store.load("meter"))
    count_at = REC_TID_COUNT
    for damaged in (
        b"\x09" + good[1:],  # a record of format version 9
        good[:count_at] + b"\x33" + good[count_at + 1 :],
    ):  # 51 TIDs
        store = MemoryStore()
        store.save("meter", damaged)
        again = MeterApplication(store, {})
        assert again.fault == 5 and again.refusing and again.lockout.locked(0)
        assert again.credit == [0, 0, 0, 0] and again.tids == []
    store = MemoryStore()
    store.save("meter", good)
    again = MeterApplication(store, {})
    assert again.credit[0] == 1 and again.fault == 0
