"""The operator's way out of a storage fault, and the console's words for one: imported
by a board only when its meter reports a storage fault or is asked to reset storage, so a
healthy meter keeps none of this in RAM (docs/storage.md)."""

import gc
import os

import meter
from storage import FILES

# tables STORE_* in order
_FAULTS = (
    "",
    "a damaged or missing copy of the record was recovered from the other",
    "a save failed: the stored state stands",
    "the record cannot be read",
    "no copy of the record is valid",
    "the record is of a format this firmware cannot take",
    "a copy cannot be written: tokens are stored in the other alone",
    "the store was in use but holds no record",
    "the state directory cannot be held for this meter",
)


def fault_line(server):
    """One line for the board's console when the stored state is not as it should be."""
    app = server.app
    if not app.fault:
        return None
    line = "storage fault %d: %s" % (app.fault, _FAULTS[app.fault])
    if app.refusing:
        line += "; token entry refused until %s (docs/storage.md)" % (
            "the record can be read back" if app.fault == 2 else "an operator resets storage"
        )
    return line


def loop_fault(server, exc, now):
    """The board loop's one guard caught `exc`: one console line, LoopFaults counted and
    stored, a token in flight answered 17 and RAM back to the stored record (the lockout
    keeps what it counted); the conversation on the line starts over. Never raises."""
    app = server.app
    try:
        gc.collect()  # what the failed pass made is garbage now
        app.faults = n = min(app.faults + 1, 0xFFFF)
        print("fault %d: %s %s; carrying on from the stored record" % (n, type(exc).__name__, exc))
        server.line_replaced()
        if app.busy:
            app._undo()
        elif not app.refusing:
            app._reread()
        store = app.store
        if store and not app.refusing:  # a refusing meter writes nothing
            store.save("faults", bytes((n >> 8, n & 0xFF)))
    except Exception:  # out of memory again, or storage: the count stays in RAM
        pass


def quarantine(store, name):
    """Move the copies of record `name` aside (`name.a.damaged1`, ...), kept for whoever
    looks into the fault. Returns the names they were given."""
    moved = []
    for suffix in FILES:  # the copies, the seal and an older firmware's one-file record
        src = store.root + "/" + name + suffix
        n = 1
        while True:
            dst = "%s.damaged%d" % (src, n)
            try:
                os.stat(dst)
                n += 1
            except OSError:
                break
        try:
            os.rename(src, dst)
            moved.append(dst)
        except OSError:
            pass  # that copy was not there
    store.seq.pop(name, None)
    store.new = True  # the operator's decision: what is built next is a new meter
    return moved


def reset_storage(store, server, config, now, board_keys=()):
    """Only when the meter refuses tokens for a storage fault: its copies are moved aside
    and a new meter is built from the configuration. Returns (server, the moved names), or
    (server, None) when the record is valid and nothing was done."""
    if not server.app.refusing:
        return server, None
    moved = quarantine(store, server.app.RECORD)
    return meter.build(config, store, now, board_keys), moved
