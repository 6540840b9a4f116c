"""Benchmark figures for the closing notes and docs/benchmarks.md (not a test).

    make bench        (compiles firmware/ to build/ first)

Prints: .mpy size of firmware/, the core's heap and time figures on the MicroPython unix
port, the smallest heap the unix port replays every trace in, the heap figures again on
the 32-bit WebAssembly port (bench_wasm.py) beside the unix port's and the time that
measurement adds, the same heap figures with the firmware run in place from the unix
board's ROMFS image (`make romfs BOARD=unix`, which `make bench` runs) on both ports and
the unix board's heap after start-up from files, the image and sources
(startup_heap.py), the smallest heap the meter runs a session in from that image on both
ports (smallest_heap.py), and the frame-parsing throughput of our core against the iec62056-21
package on CPython, on the same bytes.
"""

import glob
import os
import subprocess
import sys
import time

sys.path.append(__file__[: __file__.rfind("/") + 1] + "..")  # tools/harness, for hostpath (README.md)
import bench_wasm
import smallest_heap
import startup_heap
from hostpath import HARNESS, ROOT
from unixboard import micropython_binary

MICROPYTHON = micropython_binary()
TRACES = sorted(glob.glob(os.path.join(ROOT, "host_tests", "traces", "*.trace")))
BUILD = os.path.join(ROOT, "build", "firmware")
IMAGE = os.path.join(ROOT, "build", "romfs", "unix.img")


def mpy_sizes():
    files = sorted(glob.glob(os.path.join(BUILD, "*.mpy")))
    if not files:
        sys.exit("no .mpy files: run `make compile` (or `make bench`)")
    return {os.path.basename(f): os.path.getsize(f) for f in files}


def micropython_figures(lib, *flags):
    """bench_core.py's figures; `lib`: build/firmware, or a ROMFS image (.img)."""
    where = ["--rom" if lib.endswith(".img") else "--lib", lib]
    out = subprocess.run(
        [MICROPYTHON, os.path.join(HARNESS, "bench", "bench_core.py"), *where, *flags, *TRACES],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return bench_wasm.parse(out)


def replay_fits(heap_kb):
    script = (
        "import sys; sys.path[:0] = [%r, %r, %r];"
        "import replay_core, tracefile\n"
        "for p in %r:\n"
        "    assert replay_core.check(tracefile.load(p)) is None\n"
        "print('fits')" % (BUILD, os.path.join(HARNESS, "sim"), os.path.join(ROOT, "tools", "vtc07"), TRACES)
    )
    r = subprocess.run([MICROPYTHON, "-X", "heapsize=%dk" % heap_kb, "-c", script], capture_output=True, text=True)
    return r.returncode == 0 and "fits" in r.stdout


def smallest_heap_kb():
    try:
        return smallest_heap.smallest(replay_fits, 4, 256, step=1)
    except RuntimeError:  # not even in 256 KB
        return None


# (figure, what it is, unit or note): the figures both ports measure (heap_figures.py)
BESIDE = (
    ("heap_modules", "heap of the imported modules", "bytes"),
    ("heap_core", "heap a built core + token engine keeps", "bytes (target on 32-bit: <= 3584)"),
    ("heap_core_ea11", "the same with an EA11 key", "bytes"),
    (
        "heap_peak_replay",
        "peak heap of the core over traces",
        "bytes, collecting every 2 KB (32-bit: only between messages)",
    ),
    ("heap_peak_replay_no_gc", "the same, never collecting in a trace", "bytes"),
    ("alloc_per_char", "heap allocations per character", "(heap locked while 10,000 are received)"),
)


BOARD_KINDS = (("read", "a read request (8001)"), ("token", "a token write"), ("status", "a TokenStatus poll"))


def print_board_loop(figures, port):
    """heap_figures.board_loop's figures: Link over a fake UART, a character per wake."""
    for kind, what in BOARD_KINDS:
        total = figures.get("board_%s_total" % kind, "-")  # mem_total: not on every port
        print(
            "  %s, %s: board loop, one character per wake: %s objects, %s bytes per request"
            % (what, port, figures["board_%s_objects" % kind], figures["board_%s_bytes" % kind])
        )
        print(
            "      %s us per request%s"
            % (
                figures["board_%s_us" % kind],
                ""
                if total == "-"
                else "; %s bytes asked of the heap (micropython.mem_total: heap frames, freed at once, too)" % total,
            )
        )


def wasm_figures(lib):
    """bench_wasm's figures for `lib` (build/firmware or an image) and the seconds they
    took, or None (said why) when the 32-bit port cannot run."""
    start = time.perf_counter()
    try:
        return bench_wasm.figures(lib, TRACES), time.perf_counter() - start
    except bench_wasm.Unavailable as problem:
        print("32-bit figures: none, %s" % problem)
        return None


def print_beside(unix, wasm, took):
    """The 32-bit figures (from files) beside the unix port's."""
    print(
        "MicroPython WebAssembly port %s (32-bit, firmware as .mpy) beside the unix port (64-bit):"
        % bench_wasm.version()
    )
    print("  %-42s %8s %8s" % ("", "64-bit", "32-bit"))
    for name, what, unit in BESIDE:
        print("  %-42s %8s %8s %s" % (what + ":", unix[name], wasm[name], unit))
    print(
        "  %-42s %8s %8s"
        % ("firmware modules that import brings in:", unix["modules_imported"], wasm["modules_imported"])
    )
    print_board_loop(wasm, "32-bit")
    print("  the 32-bit measurement added %.1f s to this run" % took)


# the heap figures that change when the bytecode runs in place (the others do not)
IN_PLACE = BESIDE[:2] + BESIDE[3:4]


def print_romfs(unix, wasm):
    """The same heap figures with the firmware from the unix board's ROMFS image, both
    ports, beside the files' (`unix`, `wasm`: each port's figures from files; `wasm` None
    when the 32-bit port cannot run), and the unix board's heap after start-up each way."""
    if not os.path.isfile(IMAGE):
        print("ROMFS figures: none, no %s (make romfs BOARD=unix)" % IMAGE)
        return False
    rom = micropython_figures(IMAGE, "--heap")
    if wasm:
        wasm_rom = bench_wasm.figures(IMAGE, TRACES)
    else:
        wasm = wasm_rom = {name: "-" for name, _, _ in BESIDE}
    print(
        "Firmware from a ROMFS image (%s, %d bytes: bytecode run in place, as from a board's flash;"
        % (os.path.relpath(IMAGE, ROOT), os.path.getsize(IMAGE))
    )
    print("the image itself, in the heap on these ports, not counted) against .mpy files:")
    print("  %-42s %8s %8s %8s %8s" % ("", "64 files", "64 ROMFS", "32 files", "32 ROMFS"))
    for name, what, _ in IN_PLACE:
        print("  %-42s %8s %8s %8s %8s bytes" % (what + ":", unix[name], rom[name], wasm[name], wasm_rom[name]))
    if wasm_rom["heap_modules"] != "-":
        objects = bench_wasm.figures(IMAGE, TRACES, names_first=True)["heap_modules"]
        print(
            "  of the 32-bit ROMFS modules' heap, the firmware's objects alone (the qstr pools grown"
            " beforehand): %s bytes;\n  the rest, %d bytes, is the pools its names opened (a frozen build"
            " keeps the names in flash)" % (objects, int(wasm_rom["heap_modules"]) - int(objects))
        )
    board = startup_heap.measure(MICROPYTHON, "256k", IMAGE)
    romfs = board["romfs"] - board["buffer"] if isinstance(board["romfs"], int) else board["romfs"]
    print(
        "  unix board's heap after start-up: %s bytes from files, %s from the image (without its"
        % (board["files"], romfs)
    )
    print("  buffer), %s from sources (compiled at start-up)" % board["sources"])
    smallest = startup_heap.smallest_start(MICROPYTHON, BUILD, oversized=True)
    print(
        "  smallest -X heapsize the board starts in from files, a 2 MB copy in its store: %s bytes"
        " (%s under the 64 KB tests' heap)" % (smallest, 65536 - smallest if smallest else "not")
    )
    return True


def print_smallest_heap(wasm):
    """smallest_heap.py's figures from the unix board's image: the unix port's, and the
    32-bit one (`wasm`: False when that port cannot run, said why above)."""
    print("Smallest heap the meter runs in: a sign-on, then 200 rounds of a read, a token write, a TokenStatus")
    print("and a lockout read (tools/harness/bench/smallest_heap.py, bisected to %d B):" % smallest_heap.STEP)
    print("  " + smallest_heap.unix_line(IMAGE))
    if wasm:
        print("  " + smallest_heap.wasm_line(IMAGE))
    else:
        print("  32-bit: none, no WebAssembly port (above)")


def instructions_per_token():
    """{algorithm: machine instructions per token decode and execute} on the unix port under
    valgrind (callgrind): token_loop.py with K tokens and with none, start-up cancelled
    out; the token as the server takes it (its digits), no store. None: no valgrind."""
    import shutil

    valgrind = shutil.which("valgrind")
    if valgrind is None:
        return None
    script = os.path.join(HARNESS, "bench", "token_loop.py")
    found = {}
    for algorithm in ("sta", "des", "misty1"):
        counts = []
        for rounds in (0, 20):
            err = subprocess.run(
                [
                    valgrind,
                    "--tool=callgrind",
                    "--callgrind-out-file=/dev/null",
                    MICROPYTHON,
                    script,
                    "--lib",
                    BUILD,
                    algorithm,
                    str(rounds),
                ],
                capture_output=True,
                text=True,
                check=True,
            ).stderr
            counts.append(int(err.split("Collected :")[1].split()[0]))
        found[algorithm] = (counts[1] - counts[0]) // 20
    return found


def parse_ratio():
    """Our core's receive path vs the package's message parser, on the same messages."""
    import frames
    import meter
    from iec62056_21 import messages
    from storage import MemoryStore

    from vtc07.tracefile import command

    msgs = [command(b"R1\x02%04X()" % i) for i in range(16)]
    msgs += [command(b"W1\x020004(%017X)" % (i * 977)) for i in range(16)]
    stream = bytes(frames.with_parity(b) for b in b"".join(msgs))
    rounds = 200

    server = meter.build({}, MemoryStore(), 0)
    server.receive(bytes(frames.with_parity(b) for b in b"/?!\r\n"), 0)
    start = time.perf_counter()
    for i in range(rounds):
        server.receive(stream, i)
    ours = time.perf_counter() - start

    plain = [m.decode("latin-1") for m in msgs]
    start = time.perf_counter()
    for _ in range(rounds):
        for m in plain:
            messages.CommandMessage.from_representation(m)
    theirs = time.perf_counter() - start
    n = rounds * len(stream)
    return n / ours, n / theirs


def main():
    sizes = mpy_sizes()
    print("firmware .mpy size: %d bytes in %d files" % (sum(sizes.values()), len(sizes)))
    for name, size in sizes.items():
        print("  %-16s %6d" % (name, size))
    figures = micropython_figures(BUILD)
    print("MicroPython unix port (firmware as .mpy):")
    print("  heap of the imported modules:       %s bytes (most of it in flash when frozen)" % figures["heap_modules"])
    print("  heap a built core + token engine keeps: %s bytes" % figures["heap_core"])
    print("  the same with an EA11 key:          %s bytes (target: <= 1024 more)" % figures["heap_core_ea11"])
    print(
        "  peak heap of the core over traces:  %s bytes (target <= 16384), collecting every 2 KB"
        % figures["heap_peak_replay"]
    )
    print(
        "  the same, never collecting in a trace: %s bytes (all of the longest trace's garbage)"
        % figures["heap_peak_replay_no_gc"]
    )
    print(
        "  heap allocations per character:     %s (heap locked while 10,000 are received)" % figures["alloc_per_char"]
    )
    print("  time per received character:        %s us (target <= 20)" % figures["us_per_char"])
    print("  EA07 token decode and execute:      %s ms per token (target <= 5)" % figures["ms_per_token_sta"])
    print("  EA09 token decode and execute:      %s ms per token (target <= 5)" % figures["ms_per_token_des"])
    print("  EA11 token decode and execute:      %s ms per token (target <= 5)" % figures["ms_per_token_misty1"])
    counts = instructions_per_token()
    if counts:
        print(
            "  instructions per token decode and execute (x86-64, callgrind): EA07 %d, EA09 %d, EA11 %d"
            % (counts["sta"], counts["des"], counts["misty1"])
        )
    else:
        print("  instructions per token: none, no valgrind on PATH")
    print(
        "  register read through the core, first and last register: %s us (0000), %s us (8020)"
        % (figures["us_read_first"], figures["us_read_last"])
    )
    print(
        "  EA07 token with an empty and a full TID store (50, the oldest goes): %s us, %s us"
        % (figures["us_token_no_tids"], figures["us_token_full_tids"])
    )
    print(
        "  meter record save (50 TIDs, both copies): %s ms on a POSIX directory, %s ms on littlefs in RAM"
        % (figures["ms_per_save_posix"], figures["ms_per_save_lfs"])
    )
    print(
        "  bytes per stored copy: %s; littlefs per save: %s bytes programmed, %s block erases (512 B blocks)"
        % (figures["record_bytes"], figures["lfs_prog_bytes_per_save"], figures["lfs_erases_per_save"])
    )
    print(
        "  consumption path: %s allocations per consume + measure call, %s us per consume, %s us per measure"
        % (figures["alloc_per_consume"], figures["us_per_consume"], figures["us_per_measure"])
    )
    print("  heap the metering adds when attached (.mpy modules + object): %s bytes" % figures["heap_metering"])
    print_board_loop(figures, "unix port")
    print(
        "  smallest -X heapsize replaying all %d traces (core + replayer + trace text): %s KB"
        % (len(TRACES), smallest_heap_kb())
    )
    wasm = wasm_figures(BUILD)
    if wasm:
        print_beside(figures, *wasm)
    romfs = print_romfs(figures, wasm and wasm[0])
    if romfs:
        print_smallest_heap(bool(wasm))
    ours, theirs = parse_ratio()
    print("CPython frame parsing, same %d-message stream:" % 32)
    print(
        "  our core (parse + dispatch): %.0f chars/s; iec62056-21 CommandMessage: %.0f chars/s; ratio %.2f"
        % (ours, theirs, ours / theirs)
    )
    return 0 if wasm and romfs else 1


if __name__ == "__main__":
    sys.exit(main())
