"""A token with the heap squeezed, on the MicroPython unix port (run by fail_closed.py).

    micropython tools/harness/reliability/squeeze.py [--lib DIR] STATE STEP TOKEN...

A meter is built on the store STATE (a directory), then for each TOKEN in turn the heap is
filled but for one free piece of `free` bytes (0, STEP, 2*STEP, ...; what else is left are
holes under 16 bytes), the token is written and
the core polled as the board loop does, inside its guard (recovery.loop_fault); the
filler is then let go. One line per token: `free <bytes> status <TokenStatus> guard <0/1>
busy <0/1> refusing <0/1> credit <in RAM> stored <as a restart reads it>`.
"""

import sys

sys.path.append(__file__[: __file__.rfind("/") + 1] + "..")  # tools/harness, for firmwarepath (README.md)
import firmwarepath

_args = firmwarepath.setup(sys.argv[1:])

import gc  # noqa: E402

import meter  # noqa: E402
import recovery  # noqa: E402
from meterapp import MeterApplication  # noqa: E402
from storage import FileStore  # noqa: E402


def one(server, token, free):
    """The token with `free` bytes left in one piece (in a function: a module's new global
    names would grow its dict, and so allocate, in the full heap)."""
    app = server.app
    gc.collect()
    filler = [None] * 512  # made first: a list that grows could not, in a full heap
    reserve = bytearray(free) if free else None  # the `free` bytes, in one piece
    n = 0
    size = 4096
    while size >= 16 and n < 512:  # fill the rest of the heap, largest pieces first
        try:
            filler[n] = bytearray(size - 8)
            n += 1
        except MemoryError:
            size //= 2
    del reserve  # the `free` bytes, given back for the token
    gc.collect()
    left = gc.mem_free()
    guard = None
    try:
        server.write_register(
            4, bytes(int(c, 16) for c in "%017X" % token)
        )  # BinaryTokenEntry: ACK (0), or refused (ERR08 ...)
        server.poll(0)
    except Exception as e:  # the board loop's guard
        guard = e
    if guard is not None:
        recovery.loop_fault(server, guard, 0)
    filler = None
    gc.collect()
    if app.busy:  # a token left waiting is worked on at the next pass, as the loop does
        server.poll(0)
    return left, guard is not None


state, step = _args[0], int(_args[1])
server = meter.build({}, FileStore(state), 0)
app = server.app
free = 0
for number in _args[2:]:
    left, guard = one(server, int(number), free)
    stored = MeterApplication(FileStore(state), {})
    print(
        "free",
        free,
        "left",
        left,
        "status",
        app.token_status,
        "guard",
        int(guard),
        "busy",
        int(app.busy),
        "refusing",
        int(app.refusing),
        "credit",
        app.credit[0],
        "stored",
        stored.credit[0],
    )
    stored = None
    free += step
