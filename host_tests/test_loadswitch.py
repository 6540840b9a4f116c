"""The load switch (firmware/loadswitch.py): credit, power limit, unbalance, low credit, its
timers, and a board callback that raises."""

from consumption import Consumption
from helpers import credit_token, mgmt_token, run, tid
from meterapp import MeterApplication
from storage import MemoryStore
from tables import LOW_CREDIT_TENTHS, POWER_HOLD_MS, RECONNECT_MS


def meter(amount=1000):
    app = MeterApplication(MemoryStore(), {})
    calls = []
    Consumption(app, lambda closed, reason: calls.append((closed, reason)))
    if amount:
        assert run(app, credit_token(0, amount)) == 1
    return app, calls


def regs(app):
    return app.read_register(0x8019), app.read_register(0x801A)


def test_a_new_meter_has_no_credit_and_its_switch_open():
    app, calls = meter(amount=0)
    assert calls == [(False, 2)] and regs(app) == (2, 2) and app.status_bits() & 0x10


def test_credit_exhausted_opens_and_a_token_closes():
    app, calls = meter(amount=LOW_CREDIT_TENTHS + 2)
    assert calls[-1] == (True, 0) and regs(app) == (0, 0)
    app.consumption.consume(0, 200, 1000, 0)  # down to the threshold: warning, still closed
    assert regs(app) == (1, 1) and calls[-1] == (True, 1)
    app.consumption.consume(0, LOW_CREDIT_TENTHS * 100, 1000, 0)
    assert regs(app) == (2, 2) and calls[-1] == (False, 2) and app.status_bits() & 0x10
    n = len(calls)
    app.consumption.consume(0, 50, 1000, 0)  # nothing changes: the board is not told again
    assert len(calls) == n
    assert run(app, credit_token(0, 500, tid(1))) == 1
    assert regs(app) == (0, 0) and calls[-1] == (True, 0)


def test_over_power_opens_after_the_hold_and_retries_after_the_delay():
    app, calls = meter()
    assert run(app, mgmt_token(0, 3000, tid(2))) == 1  # MaximumPowerLimit 3000 W
    app.consumption.measure(4000, 0)
    assert regs(app) == (0, 0) and app.deadline(0) == POWER_HOLD_MS
    app.consumption.measure(4000, POWER_HOLD_MS - 1)
    assert regs(app) == (0, 0)
    app.step(POWER_HOLD_MS)
    assert regs(app) == (2, 3) and calls[-1] == (False, 3)
    assert app.deadline(POWER_HOLD_MS) == RECONNECT_MS
    app.consumption.measure(0, POWER_HOLD_MS + 5)  # nothing flows while open
    app.step(POWER_HOLD_MS + RECONNECT_MS)
    assert regs(app) == (0, 0) and calls[-1] == (True, 0)
    # the load is still too big: another hold, then open again
    t = POWER_HOLD_MS + RECONNECT_MS
    app.consumption.measure(3500, t + 1)
    app.step(t + 1 + POWER_HOLD_MS)
    assert regs(app) == (2, 3)


def test_a_short_inrush_does_not_trip():
    app, calls = meter()
    assert run(app, mgmt_token(0, 3000, tid(2))) == 1
    app.consumption.measure(9000, 0)
    app.consumption.measure(2000, POWER_HOLD_MS - 1)
    app.step(POWER_HOLD_MS * 3)
    assert regs(app) == (0, 0) and app.deadline(POWER_HOLD_MS * 3) == -1 or app.deadline(0) >= 0


def test_phase_unbalance_trips_with_its_own_reason():
    app, calls = meter()
    assert run(app, mgmt_token(6, 500, tid(2))) == 1  # MaximumPhasePowerUnbalanceLimit
    app.consumption.measure(2000, 0, unbalance=800)
    assert app.read_register(0x8020) == 800
    app.step(POWER_HOLD_MS)
    assert regs(app) == (2, 4) and calls[-1] == (False, 4)


def test_a_limit_of_0_is_no_limit():
    app, _ = meter()
    app.consumption.measure(999999, 0)
    app.step(10 * POWER_HOLD_MS)
    assert regs(app) == (0, 0)


def test_credit_exhausted_wins_over_a_power_trip():
    app, calls = meter(amount=5)
    assert run(app, mgmt_token(0, 100, tid(2))) == 1
    app.consumption.measure(200, 0)
    app.step(POWER_HOLD_MS)
    assert regs(app) == (2, 3)
    app.consumption.consume(0, 1000, 1000, POWER_HOLD_MS)
    assert regs(app) == (2, 2)


def test_a_switch_callback_that_raises_changes_no_balance():
    app = MeterApplication(MemoryStore(), {})
    assert run(app, credit_token(0, 3)) == 1
    tries = []

    def broken(closed, reason):
        tries.append((closed, reason))
        raise OSError("relay driver")

    Consumption(app, broken)
    assert regs(app) == (1, 5)  # commanded: closed with low credit; the relay did not take it
    app.consumption.consume(0, 500, 1000, 0)
    assert app.credit[0] == -2 and app.usage[0] == 5 and regs(app) == (2, 5)
    assert tries[-1] == (False, 2)  # tried again with what it must do now
    taken = []
    app.consumption.switch.on_switch = lambda closed, reason: taken.append((closed, reason))
    app.consumption.consume(0, 0, 1000, 0)
    app.consumption.measure(0, 0)
    assert taken == [(False, 2)] and regs(app) == (2, 2)
