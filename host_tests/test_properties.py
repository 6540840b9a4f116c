"""Properties of the core under arbitrary input (hypothesis)."""

import tracemalloc

import frames
import meter
import replay_core
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from storage import MemoryStore
from tables import RX_MAX, SESSION_TIMEOUT, TX_MAX

from vtc07 import tracefile
from vtc07.tracefile import command

# Input that reaches deep into the state machine: real messages, their pieces, noise.
PIECES = [
    b"/?!\r\n",
    command(b"R1\x020000()"),
    command(b"R1\x020005()"),
    command(b"B0"),
    command(b"W1\x020004(00000000000000000)"),
    command(b"W1\x020004(00000000008000000)"),
    b"\x15",
    b"\x06",
    b"\x01R1\x02",
    b"\x03",
    b"(",
    b")",
]
chunks = st.one_of(st.sampled_from(PIECES), st.binary(max_size=12))
streams = st.lists(st.tuples(st.integers(0, 3000), chunks), max_size=25)


def as_events(stream, raw):
    """(gap ms, bytes) pairs -> trace events; `raw` sends bytes as they are (no parity added)."""
    t = 0
    events = []
    for gap, data in stream:
        t += gap
        chars = [b | tracefile.RAW for b in data] if raw else [b & 0x7F for b in data]
        events.append((">", t, chars))
    events.append(("=", t + SESSION_TIMEOUT + 5000, []))
    return events


def server_output(events):
    trace = tracefile.Trace()
    trace.events = events
    return [e for e in replay_core.run(trace) if e[0] == "<"]


@settings(max_examples=150, deadline=None)
@given(streams, st.booleans(), st.data())
def test_any_chunking_gives_the_same_output(stream, raw, data):
    whole = as_events(stream, raw)
    split = []
    for kind, ms, chars in whole:
        if kind != ">" or len(chars) < 2:
            split.append((kind, ms, chars))
            continue
        cuts = sorted(data.draw(st.sets(st.integers(1, len(chars) - 1), max_size=4)))
        for a, b in zip([0] + cuts, cuts + [len(chars)]):
            split.append((kind, ms, chars[a:b]))
    assert server_output(split) == server_output(whole)


@settings(max_examples=150, deadline=None)
@given(streams, st.booleans())
def test_no_input_raises_or_leaves_the_core_stuck(stream, raw):
    out = server_output(as_events(stream, raw))  # replay_core raises if the core is stuck
    for _, _, chars in out:
        assert len(chars) <= TX_MAX
    # After the silence at the end the session has timed out; a sign-on still works.
    end = as_events(stream, raw)[-1][1]
    events = as_events(stream, raw) + [(">", end + 1, list(b"/?!\r\n")), ("=", end + 2000, [])]
    assert server_output(events)[-1][2][:4] == list(b"/STS")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(min_size=1, max_size=200))
def test_memory_does_not_grow_with_input(noise):
    server = meter.build({}, MemoryStore(), 0)
    feed = b"/?!\r\n" + noise + b"".join(PIECES)
    t = 0

    def round_of_input():
        nonlocal t
        for b in feed:
            server.receive(bytes([frames.with_parity(b)]), t)
            t += 1
            while server.next_event(t) == 0 and server.poll(t):
                pass
        t += 200000  # let every timer run out
        server.poll(t)

    round_of_input()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    for _ in range(20):
        round_of_input()
    grown = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    assert grown < 2048  # bounded: no per-input accumulation
    assert len(server._rx.buf) == RX_MAX and len(server._tx) == TX_MAX
