"""The two-token key change (class 2 subclasses 3 and 4) and EA09 meters; the sets of edition 3
(3 and 4 tokens) are in test_edition3.py."""

import pytest
from conftest import run_decoder_on_micropython
from helpers import DK, OTHER_DK, credit_token, mgmt_token, run, stored, tid
from meterapp import MeterApplication
from storage import FileStore, MemoryStore
from tables import KCT_WINDOW_MS

from vtc07 import vending

NEW_DK = 0x0123456789ABCDEF
EA11_DK = 0xF94B6ED353C3BFDB113E2D3A7EA3C41D  # sts-edition3.md section 5


def waiting(app):
    """KeyChangeHalfWaiting (8016): the subclass of the latest section waiting, 0 for none."""
    return app.read_register(0x8016)


def kcts(new_key=NEW_DK, ken=255, krn=2, ro=0, kt=2, ti=7, dk=DK, algorithm="sta"):
    return vending.key_change_tokens(new_key, ken, krn, ro, kt, ti, dk, algorithm)


@pytest.fixture
def app():
    return MeterApplication(MemoryStore(), {})


@pytest.mark.parametrize("order", [(0, 1), (1, 0)])
def test_either_order_changes_the_key(app, order):
    halves = kcts(ken=0x9C, krn=3, kt=3, ti=42)
    assert run(app, halves[order[0]]) == 2  # 1stKCT: waiting for the other half
    assert app.dk == DK.to_bytes(8, "big") and waiting(app) == (3, 4)[order[0]]
    assert run(app, halves[order[1]]) == 3  # 2ndKCT: the key is changed
    assert (app.dk, app.ken, app.krn, app.key_type, app.ti) == (NEW_DK.to_bytes(8, "big"), 0x9C, 3, 3, 42)
    assert not any(app.keychange.state) and app.last[1:3] == [2, (3, 4)[order[1]]]
    assert run(app, credit_token()) == 13  # the old key no longer decrypts
    assert run(app, credit_token(dk=NEW_DK)) == 1


def test_new_key_survives_restart_and_overrides_config(tmp_path):
    app = MeterApplication(FileStore(str(tmp_path / "state")), {})
    first, second = kcts()
    assert run(app, first) == 2 and run(app, second) == 3
    again = MeterApplication(FileStore(str(tmp_path / "state")), {"dk": "%016X" % DK})
    assert again.dk == NEW_DK.to_bytes(8, "big") and again.krn == 2 and again.ti == 7
    assert run(again, credit_token(dk=NEW_DK)) == 1


def test_waiting_half_survives_restart(tmp_path):
    app = MeterApplication(FileStore(str(tmp_path / "state")), {})
    first, second = kcts()
    assert run(app, first) == 2
    again = MeterApplication(FileStore(str(tmp_path / "state")), {}, now=5000)
    assert run(again, second, now=6000) == 3 and again.dk == NEW_DK.to_bytes(8, "big")


def test_same_half_twice_keeps_the_newer(app):
    first, second = kcts()
    other_first, _ = kcts(new_key=0x1111111111111111)
    assert run(app, other_first) == 2 and run(app, first) == 2
    assert run(app, second) == 3 and app.dk == NEW_DK.to_bytes(8, "big")


def test_second_half_after_the_window_waits_again(app):
    first, second = kcts()
    assert run(app, first, now=1000) == 2
    assert app.deadline(1000) == KCT_WINDOW_MS
    assert run(app, second, now=1000 + KCT_WINDOW_MS) == 2  # too late: it waits for a partner
    assert app.dk == DK.to_bytes(8, "big") and waiting(app) == 4
    assert run(app, first, now=2000 + KCT_WINDOW_MS) == 3


def test_window_end_forgets_the_half_and_stores_that(app):
    first, second = kcts()
    assert run(app, first, now=0) == 2
    assert app.step(KCT_WINDOW_MS - 1) == -1 and waiting(app) == 3
    assert app.step(KCT_WINDOW_MS) == -1 and not any(app.keychange.state)
    assert not any(stored(app)[-1]) and app.deadline(KCT_WINDOW_MS) == -1
    assert app.token_status == 2  # the last result is still what the HHU was told


def test_half_under_another_key_is_a_crc_error_and_changes_nothing(app):
    first, _ = kcts()
    _, foreign_second = kcts(dk=OTHER_DK)
    assert run(app, first) == 2
    before = stored(app)
    assert run(app, foreign_second) == 13
    assert stored(app) == before and waiting(app) == 3


@pytest.mark.parametrize(
    "fields, status",
    [
        ({"kt": 0}, 5),  # never back to an initialisation key
        ({"krn": 0}, 7),
        ({"krn": 10}, 7),
        ({"ti": 100}, 7),
    ],
)
def test_half_rules(app, fields, status):
    halves = kcts(**fields)
    results = [run(app, h) for h in halves]
    assert status in results and 3 not in results and app.dk == DK.to_bytes(8, "big")


def test_rollover_moves_the_base_date_and_empties_the_tid_store(app):
    assert run(app, credit_token()) == 1 and app.tids == [tid()]
    first, second = kcts(ro=1)
    assert run(app, first) == 2 and run(app, second) == 3
    assert app.base_date == 2014 and app.tids == []
    small_tid = 60  # one hour after 2014-01-01: would be Old against the 1993 TIDs
    assert run(app, credit_token(t=small_tid, dk=NEW_DK)) == 1


def test_rollover_past_the_last_base_date_is_range():
    app = MeterApplication(MemoryStore(), {"base_date": "2035"})
    first, _ = kcts(ro=1)
    assert run(app, first) == 7 and waiting(app) == 0


def test_initialisation_key_takes_only_a_key_change():
    app = MeterApplication(MemoryStore(), {"key_type": "0"})
    assert run(app, credit_token()) == 5
    first, second = kcts(kt=2)
    assert run(app, first) == 2 and run(app, second) == 3
    assert run(app, credit_token(dk=NEW_DK)) == 1


def test_change_to_a_default_key_refuses_credit(app):
    first, second = kcts(kt=1)
    assert run(app, first) == 2 and run(app, second) == 3
    assert run(app, credit_token(dk=NEW_DK)) == 12
    assert run(app, mgmt_token(0, 256, tid(), dk=NEW_DK)) == 1


def test_key_expiry_number_from_the_change_applies(app):
    first, second = kcts(ken=0x50)  # tid() >> 16 is 89: expired under the new key
    assert run(app, first) == 2 and run(app, second) == 3
    assert run(app, credit_token(dk=NEW_DK)) == 11


def test_des_meter_takes_ea09_tokens_and_a_key_change():
    app = MeterApplication(MemoryStore(), {"algorithm": "des"})
    assert run(app, credit_token()) == 13  # an EA07 token
    assert run(app, vending.token(0, 0, 5, tid(), 1, DK, "des")) == 1
    first, second = kcts(algorithm="des")
    assert run(app, second) == 2 and run(app, first) == 3
    assert run(app, vending.token(0, 0, 5, tid(1), 1, NEW_DK, "des")) == 1
    assert app.credit[0] == 2


def test_misty1_meter_decrypts_ea11_and_refuses_ea07_tokens():
    app = MeterApplication(MemoryStore(), {"algorithm": "misty1", "dk": "%032X" % EA11_DK})
    assert run(app, credit_token()) == 13  # an EA07 token under another algorithm and key
    assert run(app, vending.token(0, 0, 5, tid(), 1, EA11_DK, "misty1")) == 1
    assert run(app, 56493153725450313471) == 1  # class 1 is not encrypted


def test_bad_key_configuration_is_refused_at_start():
    for config in (
        {"algorithm": "aes"},
        {"dk": "1234"},
        {"base_date": "2000"},
        {"algorithm": "misty1"},
        {"dk": "%032X" % EA11_DK},
    ):
        with pytest.raises(ValueError):
            MeterApplication(MemoryStore(), config)


def test_key_change_on_micropython(micropython):
    first, second = kcts()
    des_first, des_second = kcts(algorithm="des")
    cases = [
        "app sta",
        "token %d 2" % second,
        "token %d 3" % first,
        "token %d 13" % credit_token(),
        "token %d 1" % credit_token(dk=NEW_DK),
        "app des",
        "token %d 1" % vending.token(0, 0, 5, tid(), 1, DK, "des"),
        "token %d 2" % des_first,
        "token %d 3" % des_second,
        "token %d 1" % vending.token(0, 0, 5, tid(1), 1, NEW_DK, "des"),
        "app misty1 %032x" % EA11_DK,
        "token %d 13" % credit_token(),
        "token %d 1" % vending.token(0, 0, 5, tid(), 1, EA11_DK, "misty1"),
    ]
    assert run_decoder_on_micropython(micropython, "\n".join(cases)) == "%d cases ok" % len(cases)
