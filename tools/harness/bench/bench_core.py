"""Core figures on the MicroPython unix port (run by bench.py; also a test probe).

    micropython tools/harness/bench/bench_core.py [--lib DIR | --rom IMAGE] [--alloc-check | --heap] TRACE...

(--heap: the heap figures only, heap_figures.py's.)

Prints one "name value" line per figure:
  heap_modules     bytes the firmware modules take once imported (source or .mpy)
  modules_imported how many modules that import brings in
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
  us_token_no_tids, us_token_full_tids  the EA07 token with an empty TID store and a full
                   one (50 older TIDs: the newest comes in, the oldest goes)
  ms_per_save_posix  time to store the meter record (50 TIDs: both copies) in a directory
  ms_per_save_lfs    the same on littlefs over a RAM block device
  record_bytes     bytes of one stored copy (sequence number, record, CRC)
  lfs_prog_bytes_per_save, lfs_erases_per_save  what littlefs writes to flash per save,
                   averaged over 200 saves (its metadata commits and compactions included)
The core is built with the token engine (firmware/meterapp.py), so the heap figures
include it. The heap figures are tools/harness/bench/heap_figures.py's, which the 32-bit
WebAssembly port measures too (tools/harness/bench/bench_wasm.py).
"""

import sys

sys.path.append(__file__[: __file__.rfind("/") + 1] + "..")  # tools/harness, for firmwarepath (README.md)
import firmwarepath

_args = firmwarepath.setup(sys.argv[1:])
sys.path.append(firmwarepath._ROOT + "/boards/common")  # the board loop's Link (heap_figures.board_loop)

import gc  # noqa: E402
import time  # noqa: E402

import heap_figures  # noqa: E402  (the heap figures, described once for this port and the 32-bit one)
import micropython  # noqa: E402

heap_modules = heap_figures.run(heap_figures.modules())  # first: a heap holding only the harness

import meter  # noqa: E402  (imported above, where it was measured)
from storage import MemoryStore  # noqa: E402

steady_stream = heap_figures.steady_stream


def us_per_char(server):
    data = steady_stream() * 40
    t = 0
    start = time.ticks_us()
    rounds = 50
    for _ in range(rounds):
        server.receive(data, t)
        t += 1
    return time.ticks_diff(time.ticks_us(), start) / (rounds * len(data))


TOKENS = heap_figures.TOKENS


def us_per_read(rid):
    """Time to take a read request of register `rid` and make its answer, through the
    core (receive, then poll at its due time): the same for every register, however many
    there are (registers.find is an offset in its block)."""
    from tracefile import read_request

    server = meter.build({}, MemoryStore(), 0)
    server.receive(heap_figures.with_parity(b"/?!\r\n"), 0)
    server.poll(server.next_event(0))
    data = heap_figures.with_parity(read_request(rid))
    rounds = 200
    t = 1000
    spent = 0
    for _ in range(rounds):
        start = time.ticks_us()
        server.receive(data, t)
        n = server.poll_len(t + server.next_event(t))
        spent += time.ticks_diff(time.ticks_us(), start)
        assert n > 6, "no answer"
        t += 1000
    return "%.1f" % (spent / rounds)


def us_per_token(algorithm, kept=0):
    """Time to decode and execute the first vector's token (its algorithm's: EA07 decrypt,
    CRC, every rule, credit applied; no store: the decode, not the file system) with `kept`
    older TIDs in the store (0, or a full store, TID_STORE_MIN: the token's TID is then the
    newest and the oldest goes, the most work the store does). The store is emptied and
    filled again outside the timed part, so the full accept path runs each time."""
    from meterapp import MeterApplication

    app = MeterApplication(None, heap_figures.CONFIGS[algorithm])
    number = TOKENS[algorithm]
    rounds = 50
    spent = 0
    for _ in range(rounds):
        app.forget_tids()
        for tid in range(1, kept + 1):  # minutes since the base date: older than the token's
            app.remember(tid)
        start = time.ticks_us()
        app.submit(number, 0)
        status = app.step(0)
        spent += time.ticks_diff(time.ticks_us(), start)
        assert status == 1, "the token was not accepted"
    return spent / rounds


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
            app.remember(1000 + i)
        app.save(0)
        rounds = 200
        erases, progged = dev.erases, dev.progged
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
    app.credit[0] = 10**8
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
    if argv and argv[0] == "--alloc-check":
        alloc = heap_figures.run(heap_figures.alloc_per_char())["alloc_per_char"]
        consumption = consumption_figures()["alloc_per_consume"]
        print("alloc_per_char", alloc)
        print("alloc_per_consume", consumption)
        return 0 if alloc == 0 and consumption == 0 else 1
    heap_only = argv[:1] == ["--heap"]
    figures = heap_modules
    figures.update(
        heap_figures.run(heap_figures.heap(argv[heap_only:], measured=heap_modules))
    )  # as on the 32-bit port
    for name, value in figures.items():
        print(name, value)
    if heap_only:
        return 0
    print("us_per_char", "%.2f" % us_per_char(meter.build({}, MemoryStore(), 0)))
    for algorithm in TOKENS:
        print("ms_per_token_" + algorithm, "%.2f" % (us_per_token(algorithm) / 1000))
    print("us_read_first", us_per_read(0x0000))
    print("us_read_last", us_per_read(0x8020))
    print("us_token_no_tids", "%.1f" % us_per_token("sta"))
    print("us_token_full_tids", "%.1f" % us_per_token("sta", 50))  # tables.TID_STORE_MIN
    for name, value in consumption_figures().items():
        print(name, value)
    for name, value in save_figures().items():
        print(name, value)
    return 0


sys.exit(main(_args))
