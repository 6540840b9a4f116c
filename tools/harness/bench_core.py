"""Core figures on the MicroPython unix port (run by tools/bench.py; also a test probe).

    micropython tools/harness/bench_core.py [--lib DIR] [--alloc-check] TRACE...

Prints one "name value" line per figure:
  heap_modules     bytes the firmware modules take once imported (source or .mpy)
  heap_core        bytes a built core keeps (server, buffers, registers, lockout)
  heap_core_ea11   the same with an EA11 key (MISTY1 key schedule instead of EA07's),
                   its misty1 module imported beforehand (counted in neither)
  heap_peak_replay most heap the core had in use (objects and not yet collected garbage)
                   while it replayed every trace, above what the harness holds, with a
                   collection after every 2 KB allocated (gc.threshold(2048))
  heap_peak_replay_no_gc  the same with no collection during a trace: all of a trace's
                   garbage counts, so it grows with the trace's length
  alloc_per_char   heap allocations while 10,000 characters are received (heap locked)
  heap_metering, alloc_per_consume, us_per_consume, us_per_measure: the consumption path
                   (firmware/consumption.py) a board's metrology feeds
  us_per_char      time per received character, messages of mixed kinds
  ms_per_token_sta time to decode and execute one token (EA07 decrypt, CRC, rules, no save)
  ms_per_token_des the same with an EA09 (DES) meter
  ms_per_token_misty1 the same with an EA11 (MISTY1) meter, sts-edition3.md's key and token
  ms_per_save_posix  time to store the meter record (50 TIDs: both copies) in a directory
  ms_per_save_lfs    the same on littlefs over a RAM block device
  record_bytes     bytes of one stored copy (sequence number, record, CRC)
  lfs_prog_bytes_per_save, lfs_erases_per_save  what littlefs writes to flash per save,
                   averaged over 200 saves (its metadata commits and compactions included)
The core is built with the token engine (firmware/meterapp.py), so the heap figures
include it.
"""
import sys

import firmwarepath

_args = firmwarepath.setup(sys.argv[1:])

import gc  # noqa: E402
import micropython  # noqa: E402
import time  # noqa: E402

gc.collect()
_base = gc.mem_alloc()
import frames  # noqa: E402
import meter  # noqa: E402
import sta  # noqa: E402,F401  (the default key's cipher, which meterapp imports when built)
from storage import MemoryStore  # noqa: E402

gc.collect()
heap_modules = gc.mem_alloc() - _base

try:
    from vtc07 import tracefile  # noqa: E402
except ImportError:  # MicroPython: firmwarepath put tools/vtc07 on the path
    import tracefile  # noqa: E402  (after the measurement: the harness is not the core)
command = tracefile.command


def with_parity(data):
    return bytes([frames.with_parity(b) for b in data])


def measure_core(config=None):
    gc.collect()
    before = gc.mem_alloc()
    server = meter.build(config or {}, MemoryStore(), 0)
    gc.collect()
    return server, gc.mem_alloc() - before


def replay_peak(paths, threshold=-1):
    """Highest heap in use while the core runs each trace (inputs decoded beforehand).
    `threshold`: collect whenever that many bytes were allocated since the last collection
    (gc.threshold), as a board's heap does when it is small; -1: never during a trace."""
    scripts = []
    for path in paths:
        trace = tracefile.load(path)
        soft = trace.settings.get("parity", "soft") == "soft"
        inputs = [(ms, tracefile.to_line(chars, soft)) for kind, ms, chars in trace.events if kind == ">"]
        scripts.append((trace.settings, inputs))
    gc.collect()
    base = gc.mem_alloc()
    peak = 0
    gc.threshold(threshold)
    for settings, inputs in scripts:
        gc.collect()
        server = meter.build(settings, MemoryStore(), 0, ("start", "lockout"))  # replay_core.REPLAY_KEYS
        t = 0
        for ms, data in inputs:
            while True:
                wait = server.next_event(t)
                if wait < 0 or t + wait > ms:
                    break
                t += wait
                server.poll(t)
                peak = max(peak, gc.mem_alloc())
            t = ms
            server.receive(data, t)
            peak = max(peak, gc.mem_alloc())
        server = None
    gc.threshold(-1)
    return peak - base


def steady_stream():
    """A session's steady state: sign-on, reads of each kind, error answers, NAK, ACK.

    All well-formed, so every character goes the whole way through parsing and dispatch.
    """
    msgs = [b"/?!\r\n"] + [command(b"R1\x02" + rid + b"()") for rid in (b"0000", b"0002", b"0003", b"0006", b"9999")]
    msgs += [command(b"W1\x020000(02)"), b"\x15", b"\x06"]
    return with_parity(b"".join(msgs))


def alloc_per_char(server):
    data = steady_stream()
    one = bytearray(1)
    t = 0
    n = 0
    gc.collect()
    micropython.heap_lock()
    try:
        while n < 10000:
            for i in range(len(data)):
                one[0] = data[i]
                server.receive(one, t)  # one character at a time: the worst case
                n += 1
            t += 1
            if server._recovering or not server.session:
                return "left the steady state"
    except MemoryError:
        micropython.heap_unlock()
        return "allocated"
    micropython.heap_unlock()
    return 0


def us_per_char(server):
    data = steady_stream() * 40
    t = 0
    start = time.ticks_us()
    rounds = 50
    for _ in range(rounds):
        server.receive(data, t)
        t += 1
    return time.ticks_diff(time.ticks_us(), start) / (rounds * len(data))


# The first vector's token (sts-tokens.md), and the same credit under EA09 with the same
# key: vending.token(0, 0, 5, 5871715, 1, 0xE653341F9D5BF36F, "des")
TOKENS = {"sta": 23716100501183194197, "des": 56290149827221041507, "misty1": 59386323472137426967}
EA11 = {"algorithm": "misty1", "dk": "F94B6ED353C3BFDB113E2D3A7EA3C41D"}  # sts-edition3.md section 5


def ms_per_token(algorithm):
    from meterapp import MeterApplication

    config = EA11 if algorithm == "misty1" else {"algorithm": algorithm}
    app = MeterApplication(None, config)  # no store: the decode, not the file system
    number = TOKENS[algorithm]
    rounds = 20
    start = time.ticks_us()
    for _ in range(rounds):
        app.forget_tids()  # accept it every time: the full path of rules
        app.submit(number, 0)
        assert app.step(0) == 1
    return time.ticks_diff(time.ticks_us(), start) / rounds / 1000


def save_figures():
    """Time and flash traffic of the record's save, with a full TID store."""
    import os
    import vfs

    from lfs_powercut import RamBlocks
    from meterapp import MeterApplication
    from storage import FileStore

    figures = {}
    root = "/tmp/bench-store-%d" % time.ticks_ms()
    dev = RamBlocks()
    vfs.VfsLfs2.mkfs(dev)
    os.mount(vfs.VfsLfs2(dev), "/benchlfs")
    for where, path in (("posix", root), ("lfs", "/benchlfs/state")):
        app = MeterApplication(FileStore(path), {})
        for i in range(50):
            app.tid_store.remember(1000 + i)
        app.save(0)
        rounds = 200
        ops, erases, progged = dev.ops, dev.erases, dev.progged
        start = time.ticks_us()
        for _ in range(rounds):
            app.save(0)
        figures["ms_per_save_" + where] = "%.2f" % (time.ticks_diff(time.ticks_us(), start) / rounds / 1000)
        if where == "lfs":
            figures["lfs_prog_bytes_per_save"] = (dev.progged - progged) // rounds
            figures["lfs_erases_per_save"] = "%.2f" % ((dev.erases - erases) / rounds)
        figures["record_bytes"] = os.stat(path + "/meter.a")[6]
    os.umount("/benchlfs")
    for name in os.listdir(root):
        os.remove(root + "/" + name)
    os.rmdir(root)
    return figures


def consumption_figures():
    """The consumption path (firmware/consumption.py): what a board's metrology calls.
    Allocations per consume and measure call with the heap locked (a meter with no store:
    the consumption save, once per SAVE_TENTHS, is the save above), time per call, and the
    heap the Consumption (its modules and object) adds to a built core."""
    server = meter.build({}, MemoryStore(), 0)
    app = server.app
    gc.collect()
    before = gc.mem_alloc()
    from consumption import Consumption

    m = Consumption(app)
    gc.collect()
    figures = {"heap_metering": gc.mem_alloc() - before}
    app.store = None
    app.credit[0] = 10 ** 8
    app.mpl = 5000
    result = "allocated"
    gc.collect()
    micropython.heap_lock()
    try:
        for t in range(10000):
            m.consume(0, 37, 1000, t)  # 3.7 Wh at 1000 imp/kWh: a tenth every 27 calls
            m.measure(t & 8191, t)  # over MaximumPowerLimit now and then: the switch trips
        result = 0
    except MemoryError:
        pass
    micropython.heap_unlock()
    figures["alloc_per_consume"] = result
    start = time.ticks_us()
    for t in range(10000):
        m.consume(0, 37, 1000, t)
    figures["us_per_consume"] = "%.2f" % (time.ticks_diff(time.ticks_us(), start) / 10000)
    start = time.ticks_us()
    for t in range(10000):
        m.measure(2300, t)
    figures["us_per_measure"] = "%.2f" % (time.ticks_diff(time.ticks_us(), start) / 10000)
    return figures


def main(argv):
    server, heap_core = measure_core()
    alloc = alloc_per_char(server)
    print("alloc_per_char", alloc)
    if argv and argv[0] == "--alloc-check":
        consumption = consumption_figures()["alloc_per_consume"]
        print("alloc_per_consume", consumption)
        return 0 if alloc == 0 and consumption == 0 else 1
    print("heap_modules", heap_modules)
    print("heap_core", heap_core)
    import misty1  # noqa: F401  (the module is not the core, as sta above)

    print("heap_core_ea11", measure_core(EA11)[1])
    print("heap_peak_replay", replay_peak(argv, 2048))
    print("heap_peak_replay_no_gc", replay_peak(argv))
    print("us_per_char", "%.2f" % us_per_char(meter.build({}, MemoryStore(), 0)))
    for algorithm in TOKENS:
        print("ms_per_token_" + algorithm, "%.2f" % ms_per_token(algorithm))
    for name, value in consumption_figures().items():
        print(name, value)
    for name, value in save_figures().items():
        print(name, value)
    return 0


sys.exit(main(_args))
