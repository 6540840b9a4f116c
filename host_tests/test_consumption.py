"""Consumption (firmware/consumption.py): whole-unit billing, bad input, persistence and
power cuts, the long-run invariant (credit bought = credit left + consumed, per service)."""

import longrun
from consumption import Consumption
from helpers import credit_token, mgmt_token, run, tid
from hypothesis import given, settings
from hypothesis import strategies as st
from meterapp import MeterApplication
from storage import MemoryStore
from tables import SAVE_MS, SAVE_TENTHS, STEP_MAX_TENTHS


class Meter:
    """A MeterApplication with metrology attached, and its record's consumption by name."""

    def __init__(self, store=None, amount=1000, service=0):
        self.app = app = MeterApplication(store if store is not None else MemoryStore(), {})
        self.m = Consumption(app)
        if amount:
            assert run(app, credit_token(service, amount)) == 1

    def __getattr__(self, name):
        return getattr(self.m, name) if hasattr(self.m, name) else getattr(self.app, name)

    @property
    def credit(self):
        return self.app.credit

    @property
    def used(self):
        return self.app.usage[:4]

    @property
    def rem(self):
        return self.app.usage[4:]


def meter(store=None, amount=1000, service=0):
    return Meter(store, amount, service)


def restarted(store):
    return Meter(store, amount=0)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 2**32 - 1), st.lists(st.integers(0, 10**6), max_size=200), st.integers(0, 3))
def test_any_increments_sum_exactly(per_unit, counts, service):
    app = meter(amount=0)
    for c in counts:
        absurd = (app.rem[service] + c * 10) // per_unit > STEP_MAX_TENTHS
        assert app.consume(service, c, per_unit, 0) != absurd  # an absurd one: tested below
    # nothing lost: tenths billed and the remainder are exactly 10x the counts over per_unit
    total = 10 * sum(c for c in _accepted(counts, per_unit))
    assert app.used[service] * per_unit + app.rem[service] == total
    assert 0 <= app.rem[service] < per_unit
    assert app.credit[service] == -app.used[service]


def _accepted(counts, per_unit):
    rem = 0
    for c in counts:
        t = (rem + c * 10) // per_unit
        if t > STEP_MAX_TENTHS:
            continue
        rem = rem + c * 10 - t * per_unit
        yield c


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 3000), min_size=1, max_size=300))
def test_one_pulse_at_a_time_bills_like_the_sum(pulses):
    """3200 imp/kWh one pulse at a time against all at once: the same tenths and remainder."""
    a, b = meter(amount=0), meter(amount=0)
    for n in pulses:
        for _ in range(n % 7):
            assert a.consume(0, 1, 3200, 0)
        assert b.consume(0, n % 7, 3200, 0)
    assert (a.used, a.rem, a.credit) == (b.used, b.rem, b.credit)


def test_credit_below_zero_reads_0_and_the_next_token_pays_it():
    app = meter(amount=3)
    assert app.consume(0, 5, 1000, 0)  # 5 Wh: not a tenth yet
    assert app.consume(0, 400, 1000, 0)  # 0.405 kWh: 4 tenths, one more than bought
    assert app.credit[0] == -1 and app.read_register(0x8001) == 0 and app.read_register(0x800D) == 4
    assert app.status_bits() & 0x10
    assert run(app.app, credit_token(0, 10, tid(1))) == 1
    assert app.credit[0] == 9 and app.read_register(0x8001) == 9


def test_bad_increments_bill_nothing():
    app = meter()
    before = (list(app.credit), list(app.used), list(app.rem))
    assert not app.consume(0, 1.5, 1000, 0)  # not a whole number: refused, no tamper
    assert not app.consume(4, 1, 1000, 0) and not app.consume(-1, 1, 1000, 0)  # no such service
    assert not app.consume(0, 1, 0, 0) and not app.consume(0, 1, -1000, 0)  # no meter constant
    assert not app.consume(0, 1, 2**32, 0)  # one its remainder could not be stored in
    assert app.tamper == 0
    assert not app.consume(0, -1, 1000, 0)  # energy running backwards: metrology at fault
    assert app.tamper == 1
    app.app.tamper = 0
    assert not app.consume(0, (STEP_MAX_TENTHS + 1) * 100, 1000, 0)  # absurd: refused
    assert app.tamper == 1
    assert (app.credit, app.used, app.rem) == before
    assert app.consume(0, STEP_MAX_TENTHS * 100, 1000, 0)  # the most one call bills


def test_power_readings_out_of_range_are_refused():
    app = meter()
    assert app.measure(2300, 0) and app.read_register(0x801B) == 2300
    for bad in (-1, 1000000, 10**12, 2.5, None):
        assert not app.measure(bad, 0)
    assert not app.measure(100, 0, unbalance=-5)
    assert app.read_register(0x801B) == 2300


def test_consumption_is_saved_every_save_tenths_and_a_cut_loses_less():
    store = MemoryStore()
    app = meter(store, amount=1000)
    for i in range(SAVE_TENTHS - 1):
        app.consume(0, 100, 1000, i)  # one tenth each
    assert restarted(store).used[0] == 0  # not yet: the bound is one save's worth
    app.consume(0, 100, 1000, 0)
    again = restarted(store)
    assert again.used[0] == SAVE_TENTHS and again.credit[0] == 1000 - SAVE_TENTHS
    # a cut now loses what came after that save: less than SAVE_TENTHS, never credit bought
    for _ in range(SAVE_TENTHS - 1):
        app.consume(0, 100, 1000, 0)
    cut = restarted(store)
    assert app.used[0] - cut.used[0] == SAVE_TENTHS - 1 < SAVE_TENTHS
    assert cut.credit[0] + cut.used[0] == 1000


def test_a_small_load_is_saved_after_save_ms_and_at_power_fail():
    store = MemoryStore()
    app = meter(store)
    app.consume(0, 100, 1000, 1000)
    assert app.deadline(1000) == SAVE_MS
    app.step(1000 + SAVE_MS - 1)
    assert restarted(store).used[0] == 0
    assert app.deadline(1000 + SAVE_MS) == 0
    app.step(1000 + SAVE_MS)
    assert restarted(store).used[0] == 1
    app.consume(0, 37, 1000, 0)  # below a tenth: only a power-fail save stores it
    assert app.power_failing(5)
    again = restarted(store)
    assert (again.used[0], again.rem[0]) == (1, 370)
    writes = len(store.files)
    assert app.power_failing(6)  # nothing new: nothing written
    assert len(store.files) == writes


class FailingStore(MemoryStore):
    fail = False

    def _write(self, path, head, data, tail):
        if self.fail:
            raise OSError(28)
        MemoryStore._write(self, path, head, data, tail)


def test_a_failed_save_keeps_billing_and_never_bills_twice():
    store = FailingStore()
    app = meter(store, amount=1000)
    store.fail = True
    for _ in range(SAVE_TENTHS + 3):
        app.consume(0, 100, 1000, 0)
    assert app.fault == 2 and app.used[0] == SAVE_TENTHS + 3 and app.credit[0] == 1000 - SAVE_TENTHS - 3
    store.fail = False
    app.consume(0, 100, 1000, 0)  # the next save takes it all, once
    again = restarted(store)
    assert again.used[0] == SAVE_TENTHS + 4 and again.credit[0] + again.used[0] == 1000
    # a token whose save fails keeps the consumption billed in RAM too
    store.fail = True
    app.consume(0, 100, 1000, 0)
    assert run(app.app, credit_token(0, 50, tid(2))) == 17
    assert app.credit[0] + app.used[0] == 1000 and app.used[0] == SAVE_TENTHS + 5


def test_a_version_3_record_is_read_with_nothing_consumed():
    store = MemoryStore()
    meter(store, amount=70)
    rec = bytearray(store.load("meter"))
    rec[0] = 3
    store.save("meter", bytes(rec[:-36]))  # the record before the consumption tail
    again = restarted(store)
    assert not again.refusing and again.credit[0] == 70 and again.used == [0, 0, 0, 0]
    again.consume(0, 200, 1000, 0)
    assert again.power_failing(0) and restarted(store).used[0] == 2


def test_every_service_counts_its_own_registers():
    app = meter(amount=0)
    for s in range(4):
        assert run(app.app, credit_token(s, 100, tid(10 + s))) == 1
        app.consume(s, (s + 1) * 100, 1000, 0)
    assert [app.read_register(r) for r in (0x800D, 0x801D, 0x801E, 0x801F)] == [1, 2, 3, 4]
    assert [app.read_register(0x8001 + s) for s in range(4)] == [99, 98, 97, 96]


def test_clear_credit_clears_what_is_owed_too():
    app = meter(amount=1)
    app.consume(0, 300, 1000, 0)
    assert app.credit[0] == -2
    assert run(app.app, mgmt_token(1, 0, tid(5))) == 1
    assert app.credit[0] == 0


def test_the_long_run_invariant_short():
    """Random loads, tokens and power cuts: credit bought = credit left + consumed."""
    result = longrun.run(steps=3000, seed=7)
    assert result["failures"] == 0 and result["cuts"] > 5 and result["tokens"] > 5, result
    assert result["max_unbilled_tenths"] < SAVE_TENTHS


def test_the_long_run_invariant_other_seeds():
    for seed in (1, 2):
        assert longrun.run(steps=1500, seed=seed)["failures"] == 0


def test_mpl_management_token_is_enforced():
    app = meter()
    assert run(app.app, mgmt_token(0, 1000, tid(3))) == 1
    assert app.mpl == 1000
    app.measure(1500, 0)
    assert app.deadline(0) > 0 and app.read_register(0x8019) == 0


def test_the_record_keeps_the_largest_consumption_and_remainders():
    store = MemoryStore()
    app = meter(store)
    app.app.usage[:] = [2**40 - 1, 0, 12345, 1, 2**32 - 1, 0, 7, 3599999999]
    assert app.power_failing(0) is True or app.app.save(0)
    assert app.app.save(0)
    assert restarted(store).app.usage == [2**40 - 1, 0, 12345, 1, 2**32 - 1, 0, 7, 3599999999]
