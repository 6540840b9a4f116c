"""Edition 3 on the meter: EA11 meters, key change sets of 3 and 4 tokens, currency tokens
(sts-edition3.md; the choices in docs/profile-choices.md), on CPython and MicroPython."""

import datetime as dt
import itertools

import pytest
from conftest import run_decoder_on_micropython
from helpers import run, stored
from meterapp import MeterApplication
from storage import MemoryStore
from tables import KCT_WINDOW_MS

from vtc07 import vending

PAN = "600727000000000009"
VK04 = 0xABABABABABABABAB949494949494949401234567
EA11_DK = 0xF94B6ED353C3BFDB113E2D3A7EA3C41D  # BD 1993, SGC 123457, TI 01, KRN 1, KT 2
EA11_DK_TI2 = 0xB208834372EF892EF6E04C28593090D4
EA07_DK = 0x87F3ECBB2E46B48F  # BD 2014, SGC 201457, TI 01
EA07_DK_TI2 = 0x7F78CDD220BE39B8
EA11_CREDIT = (59386323472137426967, 47186281207955155808)  # electricity, water: 0.1 each
EA11_SET = (34812744915211133004, 46903925208523674737, 71464563847088610152, 67904239402617643990)
EA07_SET2 = (6510894141453018386, 22979178279997208272)
EA07_SET3 = (52506022850399603630, 22979178279997208272, 39620459059615037790)
CURRENCY_1 = 42334201269947232996  # 1.00004 (20-bit 0x060aa), EA07 DKGA04 key, 2024-04-21
ea11_config = {"algorithm": "misty1", "dk": "%032x" % EA11_DK, "sgc": "100000"}
ea07_config = {"dk": "%016x" % EA07_DK, "base_date": "2014", "sgc": "100000"}


def meter(config, **more):
    app = MeterApplication(MemoryStore(), dict(config, **more))
    app.config_for_test = dict(config, **more)
    return app


def tid(year, month, day, hour, minute, base):
    return vending.tid_minutes(dt.datetime(year, month, day, hour, minute), base)


def ea11_tid(minutes_after=0):
    return tid(2004, 3, 1, 13, 0, 1993) + minutes_after


def sections(blocks, dk, algorithm="sta"):
    """Class 2 tokens from data blocks' first 48 bits, under `dk`."""
    return [vending.encode(2, vending.with_crc(2, b), dk, algorithm) for b in blocks]


# --- EA11 -----------------------------------------------------------------------------


def test_ea11_meter_takes_the_spec_tokens():
    app = meter(ea11_config)
    assert [run(app, n) for n in EA11_CREDIT] == [1, 1]
    assert app.credit[:2] == [1, 1] and app.read_register(0x8015) == 11
    assert [run(app, n) for n in EA11_CREDIT] == [10, 10]


@pytest.mark.parametrize("order", list(itertools.permutations(range(4))))
def test_four_token_set_in_any_order(order):
    app = meter(ea11_config)
    statuses = [run(app, EA11_SET[i]) for i in order]
    assert statuses == [2, 2, 2, 3]
    assert app.dk == EA11_DK_TI2.to_bytes(16, "big")
    assert (app.ti, app.krn, app.ken, app.key_type, app.sgc, app.base_date) == (2, 1, 255, 2, 123457, 1993)
    assert app.read_register(0x8007) == 123457 and app.read_register(0x8016) == 0
    assert run(app, EA11_CREDIT[0]) == 13  # the old key's token
    assert run(app, vending.token(0, 0, 5, ea11_tid(), 1, EA11_DK_TI2, "misty1")) == 1


def test_four_token_set_survives_a_restart_and_a_failed_save():
    class FailingStore(MemoryStore):
        fail = False

        def save(self, name, data):
            if self.fail:
                raise OSError("power cut while saving")
            super().save(name, data)

    store = FailingStore()
    app = MeterApplication(store, ea11_config)
    assert [run(app, n) for n in EA11_SET[:3]] == [2, 2, 2]
    store.fail = True
    assert run(app, EA11_SET[3]) == 17  # not stored: not applied (docs/storage.md)
    assert app.dk == EA11_DK.to_bytes(16, "big") and app.read_register(0x8016) == 8  # as stored
    store.fail = False
    again = MeterApplication(store, ea11_config, now=5000)
    assert again.dk == EA11_DK.to_bytes(16, "big") and again.read_register(0x8016) == 8
    assert run(again, EA11_SET[3], now=6000) == 3
    restarted = MeterApplication(store, {"algorithm": "misty1", "dk": "%032x" % EA11_DK})
    assert restarted.dk == EA11_DK_TI2.to_bytes(16, "big") and restarted.sgc == 123457 and restarted.ti == 2


def test_window_runs_from_the_latest_section():
    app = meter(ea11_config)
    assert run(app, EA11_SET[0], now=0) == 2
    assert run(app, EA11_SET[1], now=KCT_WINDOW_MS - 1) == 2  # in time: the window starts again
    assert run(app, EA11_SET[2], now=2 * KCT_WINDOW_MS - 2) == 2
    assert run(app, EA11_SET[3], now=3 * KCT_WINDOW_MS - 2) == 2  # too late: starts a new set
    assert app.keychange.state[:18] == bytes(18) and app.dk == EA11_DK.to_bytes(16, "big")


def test_a_repeated_section_with_other_content_starts_a_new_set():
    """Two sets are not mixed that way: 3, 4, 8 of one set, then 3 and 9 of another, must
    not make a key of both."""
    app = meter(ea11_config)
    other = vending.key_change_tokens(
        0x0123456789ABCDEF0123456789ABCDEF, 255, 1, 0, 2, 2, EA11_DK, "misty1", sgc=123457
    )
    assert [run(app, n) for n in EA11_SET[:3]] == [2, 2, 2]
    assert run(app, other[0]) == 2 and run(app, other[3]) == 2
    assert app.dk == EA11_DK.to_bytes(16, "big")
    assert run(app, other[0]) == 2  # the very same section again keeps the others
    assert [run(app, n) for n in (other[1], other[2])] == [2, 3]
    assert app.dk == (0x0123456789ABCDEF0123456789ABCDEF).to_bytes(16, "big")


def test_ea11_bad_sections_change_nothing():
    app = meter(ea11_config)
    assert run(app, EA11_SET[0]) == 2
    before = stored(app)
    foreign = vending.key_change_tokens(EA11_DK_TI2, 255, 1, 0, 2, 2, EA11_DK_TI2, "misty1", sgc=123457)
    assert run(app, foreign[1]) == 13  # under another key
    assert run(app, EA07_SET3[0]) == 13  # an EA07 token
    three_kct = sections([(3 << 44) | (0xF << 40) | (0x16 << 32) | 0x12345678], EA11_DK, "misty1")[0]
    assert run(app, three_kct) == 7  # no 3-token set for a 128-bit key
    high = sections([(9 << 44) | (0xFFF << 32) | 1], EA11_DK, "misty1")[0]
    assert run(app, high) == 7  # SGC-high over 999999 >> 12
    assert stored(app) == before and app.read_register(0x8016) == 3


def test_sgc_halves_over_six_digits_are_range():
    app = meter(ea11_config)
    ok = vending.key_change_tokens(EA11_DK_TI2, 255, 1, 0, 2, 2, EA11_DK, "misty1", sgc=999999)
    high = sections([(9 << 44) | (244 << 32) | 1], EA11_DK, "misty1")[0]  # 244 << 12: over with low FFF
    low = sections([(8 << 44) | (0xFFF << 32) | 1], EA11_DK, "misty1")[0]
    assert [run(app, n) for n in (ok[0], ok[1], low)] == [2, 2, 2]
    before = stored(app)
    assert run(app, high) == 7 and stored(app) == before


def test_third_or_fourth_section_with_nothing_waiting_starts_a_set():
    app = meter(ea11_config)
    assert run(app, EA11_SET[3]) == 2 and app.read_register(0x8016) == 9
    assert app.dk == EA11_DK.to_bytes(16, "big") and app.sgc == 100000


# --- EA07: 3-token set, and sections an EA07 meter cannot take ----------------------------


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_three_token_set_in_any_order_sets_the_sgc(order):
    app = meter(ea07_config)
    assert [run(app, EA07_SET3[i]) for i in order] == [2, 2, 3]
    assert app.dk == EA07_DK_TI2.to_bytes(8, "big") and (app.ti, app.sgc) == (2, 201457)
    assert app.read_register(0x8007) == 201457


def test_two_token_set_keeps_the_sgc():
    app = meter(ea07_config)
    assert [run(app, n) for n in EA07_SET2] == [2, 3]
    assert app.dk == EA07_DK_TI2.to_bytes(8, "big") and app.sgc == 100000


def test_ea07_credit_and_sgc_section_of_a_two_token_set():
    app = meter(ea07_config)
    assert run(app, 70630503470028726114) == 1 and run(app, 9746334499913988084) == 1
    assert run(app, EA07_SET2[0]) == 2  # 3KCT clear: a 2-token set
    before = stored(app)
    assert run(app, EA07_SET3[2]) == 7  # an SGC section for it
    assert stored(app) == before
    app2 = meter(ea07_config)
    assert run(app2, EA07_SET3[2]) == 2
    before = stored(app2)
    assert run(app2, EA07_SET2[0]) == 7  # and the other way round
    assert stored(app2) == before
    assert [run(app2, n) for n in EA07_SET3[:2]] == [2, 3] and app2.sgc == 201457


def test_sections_of_a_128_bit_key_on_an_ea07_meter_are_function():
    app = meter(ea07_config)
    assert run(app, EA07_SET3[0]) == 2
    before = stored(app)
    nk = EA11_DK_TI2
    wide = sections(
        [
            (8 << 44) | ((123457 & 0xFFF) << 32) | ((nk >> 64) & 0xFFFFFFFF),
            (9 << 44) | ((123457 >> 12) << 32) | ((nk >> 32) & 0xFFFFFFFF),
        ],
        EA07_DK,
    )
    assert [run(app, n) for n in wide] == [8, 8]
    big_sgc = sections([(8 << 44) | (1000000 << 20)], EA07_DK)[0]
    assert run(app, big_sgc) == 7
    assert stored(app) == before


# --- currency ---------------------------------------------------------------------------


def currency(amount20, minutes=0, dk=EA07_DK, subclass=4):
    return vending.currency_token(subclass, tid(2024, 4, 21, 10, 1, 2014) + minutes, amount20, dk)


def test_currency_token_without_currency_is_function_not_crc():
    app = meter(ea07_config)
    before = stored(app)
    assert run(app, CURRENCY_1) == 8
    assert stored(app) == before
    assert run(app, currency(50, dk=0x1111111111111111)) == 13  # under another key: CRC


def test_currency_balance():
    app = meter(ea07_config, currency="1")
    assert run(app, CURRENCY_1) == 1 and app.balance == 100004 and app.credit == [0, 0, 0, 0]
    assert app.read_register(0x8017) == 100004 and app.read_register(0x8010) == 100004
    assert run(app, CURRENCY_1) == 10
    assert run(app, currency(vending.currency_field(-4), 1, subclass=7)) == 1 and app.balance == 100000
    before = stored(app)
    assert run(app, currency(vending.currency_field(-200000), 2)) == 7  # not below zero
    assert run(app, currency(vending.currency_field(10**10), 3)) == 4  # over the register
    assert stored(app) == before
    assert run(app, vending.token(2, 1, 5, tid(2024, 4, 21, 10, 5, 2014), 5, EA07_DK)) == 1  # ClearCredit 5
    assert app.balance == 0 and app.status_bits() & 0x10  # credit exhausted: the currency balance


def test_clear_credit_of_currency_without_currency_is_range():
    app = meter(ea07_config)
    assert run(app, vending.token(2, 1, 5, tid(2024, 4, 21, 10, 5, 2014), 4, EA07_DK)) == 7


# --- on MicroPython ---------------------------------------------------------------------


def test_edition3_on_micropython(micropython):
    cases = ["app misty1 %032x" % EA11_DK]
    cases += ["token %d 1" % n for n in EA11_CREDIT]
    cases += ["token %d %d" % (n, s) for n, s in zip(EA11_SET, (2, 2, 2, 3))]
    cases += ["token %d 1" % vending.token(0, 0, 5, ea11_tid(10), 1, EA11_DK_TI2, "misty1")]
    cases += ["app sta %016x" % EA07_DK]
    cases += ["token %d %d" % (n, s) for n, s in zip(EA07_SET3, (2, 2, 3))]
    cases += ["token %d 8" % currency(50, dk=EA07_DK_TI2)]
    assert run_decoder_on_micropython(micropython, "\n".join(cases)) == "%d cases ok" % len(cases)
