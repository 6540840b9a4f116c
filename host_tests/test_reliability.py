"""Reliability under bad input and abuse (issue 6): the token path fuzzed with
hypothesis, the seeded core fuzz run on MicroPython, brute force against the lockout.
The long versions of these runs are scripts (docs/reliability.md); here they run short."""

import os
import subprocess

import bruteforce
import meter
from conftest import ROOT
from helpers import DK, stored
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from meterapp import MeterApplication
from simline import SimLine
from storage import MemoryStore
from tables import CREDIT_MAX, TID_STORE_MIN, TS_1ST_KCT, TS_2ND_KCT, TS_ACCEPT

from vtc07 import vending

STATUSES = set(range(1, 16))  # every tokenStatus a finished token may have (not 0, not 16)

any_number = st.integers(0, (1 << 66) - 1)
# well-formed tokens for this meter, with fields anywhere in their range
real_token = st.builds(
    lambda cls, sub, tid, value, rnd: vending.token(cls, sub, rnd, tid, value, DK),
    st.sampled_from([0, 2]),
    st.integers(0, 15),
    st.integers(0, (1 << 24) - 1),
    st.integers(0, 0xFFFF),
    st.integers(0, 15),
)
tokens = st.one_of(any_number, real_token, st.integers(1 << 66, 1 << 70), st.integers(-5, -1))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(tokens, min_size=1, max_size=30))
def test_token_path_any_sequence(numbers):
    app = MeterApplication(MemoryStore(), {"currency": "1"})
    for number in numbers:
        before = stored(app)
        app.submit(number, 0)
        status = app.step(0)
        assert status in STATUSES and app.token_status == status and not app.busy
        if status not in (TS_ACCEPT, TS_1ST_KCT, TS_2ND_KCT):
            assert stored(app) == before  # a rejected token changes nothing kept
        assert all(0 <= c <= CREDIT_MAX for c in app.credit)
        assert len(app.tids) <= TID_STORE_MIN and app.tids == sorted(app.tids)
        again = MeterApplication(app.store, {"currency": "1"})
        assert stored(again) == stored(app)  # what is kept is what runs


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(min_size=0, max_size=20), max_size=10))
def test_binary_token_entry_takes_any_value_with_an_answer(values):
    line = SimLine(meter.build({}, MemoryStore(), 0))
    assert line.sign_on() is not None
    for value in values:
        body = b"W1\x020004(" + bytes(b & 0x7F for b in value) + b")"
        answer = line.command(body, gap_ms=50)
        if answer is None:  # a damaged message gets its NAK after the recovery wait, or the
            line.run_to(line.now + 5000)  # session ended (3 NAKs): sign on again
            assert line.sign_on() is not None


def test_core_fuzz_on_micropython(micropython):
    """50,000 seeded frames (the full run is 1,000,000: docs/reliability.md)."""
    result = subprocess.run(
        [micropython, os.path.join(ROOT, "tools", "harness", "reliability", "fuzz_core.py"), "50000", "7"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    words = result.stdout.split()
    low, high = (int(x) for x in words[words.index("heap_after_gc") + 1].split(".."))
    assert high - low < 1024, result.stdout  # flat: no growth with the frames


def test_brute_force_is_held_to_three_tokens_an_hour_and_lockout_survives_a_restart():
    evaluated, writes, line, store = bruteforce.attack(hours=4, seed=3)
    assert min(writes) > 17000  # the client really writes as fast as tr allows
    assert max(evaluated[1:]) <= 3
    # power cut in the middle of a lock: the rebuilt meter is still locked
    again = SimLine(meter.build({}, store, line.now), now=line.now)
    assert again.sign_on() is not None
    assert again.command(b"W1\x020004(%017X)" % 12345)[:-1] == list(b"\x020004(ERR07)\x03")


def test_power_cuts_during_token_sessions(micropython, tmp_path):
    """8 cuts at random instants around the token's processing (the long run: 200)."""
    import powercut

    result = powercut.campaign(micropython, runs=8, seed=11, state=str(tmp_path / "state"))
    assert result["cut_before_save"] + result["cut_after_save"] == 8


def test_token_sessions_through_a_noisy_line(micropython):
    """Bit-error rate 1e-3 both ways (the long run: 20 sessions per rate, docs/reliability.md)."""
    import noise_sessions

    result = noise_sessions.run_rate(micropython, 1e-3, sessions=2, seed=4)
    assert result["wrong"] == 0 and result["ok"] + result["error"] == 2, result


def test_soak_on_a_64k_heap(micropython, built_firmware):
    """2,000 messages with `micropython -X heapsize=64k` (the long run: 100,000)."""
    import soak

    result = soak.soak(micropython, 2000, heap="64k", lib=built_firmware)
    assert result["messages"] == 2000 and result["samples"] >= 3
    assert result["heap_max"] < 64 * 1024 and result["growth"] <= 512, result
