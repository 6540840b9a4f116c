"""The 32-bit figures of `make bench`: the pinned MicroPython WebAssembly port (npm, installed
by `make venv` into .venv/wasm) loads the firmware's .mpy files and its runner reports
sane heap figures (tools/harness/bench/bench_wasm.py, heap_figures.py). Needs node: a machine
without it fails here with the reason, as `make bench` would."""

import glob
import json
import os
import subprocess

import bench_wasm
import pytest
import smallest_heap
from conftest import ROOT, TRACES
from helpers import make_romfs


@pytest.fixture(scope="module")
def node():
    try:
        return bench_wasm.node_binary()
    except bench_wasm.Unavailable as problem:
        pytest.fail(str(problem))


@pytest.fixture(scope="module")
def wasm_figures(node, built_firmware):
    try:
        return bench_wasm.figures(built_firmware, sorted(glob.glob(os.path.join(TRACES, "*.trace"))))
    except bench_wasm.Unavailable as problem:
        pytest.fail(str(problem))


@pytest.fixture(scope="module")
def unix_image():
    return make_romfs("unix")


def test_the_installed_port_is_the_pinned_one():
    with open(os.path.join(ROOT, "tools", "harness", "bench", "wasm", "package.json")) as f:
        pinned = json.load(f)["dependencies"]["@micropython/micropython-webassembly-pyscript"]
    assert bench_wasm.version() == pinned


def test_the_port_reads_the_mpy_version_mpy_cross_writes(node, built_firmware):
    """Our .mpy files are bytecode only (no native architecture), of the .mpy version the
    port loads: sys.implementation._mpy's low byte."""
    entry = os.path.join(bench_wasm.package_dir(), "micropython.mjs")
    script = (
        "const {loadMicroPython} = await import(%s);"
        "const mp = await loadMicroPython({stdout: (line) => console.log(line)});"
        "mp.runPython('import sys; print(sys.implementation._mpy)');" % json.dumps("file://" + entry)
    )
    result = subprocess.run([node, "--input-type=module", "-e", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    mpy = int(result.stdout.split()[-1])
    for path in glob.glob(os.path.join(built_firmware, "*.mpy")):
        with open(path, "rb") as f:
            header = f.read(3)
        assert header[:2] == b"M" + bytes([mpy & 0xFF]), path
        assert header[2] >> 2 == 0, path + ": native code, which this port cannot load"


def test_the_runner_reports_sane_32_bit_figures(wasm_figures, micropython, built_firmware):
    figures = {name: int(value) for name, value in wasm_figures.items()}
    assert figures["alloc_per_char"] == 0
    assert figures["modules_imported"] >= 10
    assert 0 < figures["heap_core"] < figures["heap_peak_replay"] <= figures["heap_peak_replay_no_gc"]
    assert 0 < figures["heap_core_ea11"] < figures["heap_core"] + 1024
    # 32-bit objects: well under the unix port's (64-bit) figures for the same firmware
    unix = subprocess.run(
        [
            micropython,
            os.path.join(ROOT, "tools", "harness", "bench", "bench_core.py"),
            "--lib",
            built_firmware,
            os.path.join(TRACES, "signon_read_predefined.trace"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert unix.returncode == 0, unix.stderr
    unix_figures = bench_wasm.parse(unix.stdout)  # "name value" lines and the board loop's heap dumps
    # a built core is objects (pointers: half the size); imported modules are mostly their
    # bytecode and interned names (the same bytes on both ports), so only under the unix one
    assert figures["heap_core"] < 0.75 * int(unix_figures["heap_core"])
    assert figures["heap_modules"] < int(unix_figures["heap_modules"])
    assert figures["modules_imported"] == int(unix_figures["modules_imported"])


def test_the_core_keeps_at_most_3_5_kb_on_32_bits(wasm_figures):
    """Issue 14's target for a built core + token engine on a 32-bit MicroPython (this
    port's figure is exact: no collection can be hidden by a stale pointer)."""
    assert int(wasm_figures["heap_core"]) <= 3584
    assert int(wasm_figures["heap_core_ea11"]) <= 3584


def test_both_ports_measure_the_firmware_run_in_place_from_a_romfs_image(
    wasm_figures, micropython, built_firmware, unix_image
):
    """From the unix board's image the bytecode stays out of the heap (the image itself is
    read in before the measurement): the modules take far less, the core the same."""
    image = unix_image
    one = [os.path.join(TRACES, "signon_read_predefined.trace")]
    rom = {name: int(value) for name, value in bench_wasm.figures(image, one).items()}
    assert rom["heap_modules"] < 0.7 * int(wasm_figures["heap_modules"])
    assert abs(rom["heap_core"] - int(wasm_figures["heap_core"])) <= 64
    assert rom["modules_imported"] == int(wasm_figures["modules_imported"])
    unix = {}
    for where in (["--lib", built_firmware], ["--rom", image]):
        out = subprocess.run(
            [micropython, os.path.join(ROOT, "tools", "harness", "bench", "bench_core.py"), *where, "--heap"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 0, out.stderr
        unix[where[0]] = bench_wasm.parse(out.stdout)
    assert int(unix["--rom"]["heap_modules"]) < 0.7 * int(unix["--lib"]["heap_modules"])


def test_with_the_names_first_the_modules_figure_is_their_objects_alone(node, built_firmware, wasm_figures):
    """The qstr pools grown before the import: the firmware's names open none inside the
    figure, which is smaller by at least the ~8 bytes a name takes in a pool."""
    objects = int(bench_wasm.figures(built_firmware, [], names_first=True)["heap_modules"])
    assert 0 < objects < int(wasm_figures["heap_modules"]) - 8 * 200


def test_no_node_is_a_clear_message(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(bench_wasm.Unavailable, match="no `node` on PATH"):
        bench_wasm.node_binary()


def test_bench_wasm_without_mpy_files_is_one_line_and_exit_2(tmp_path, capsys):
    assert bench_wasm.main(["--lib", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "make compile" in err


def test_the_board_loop_leaves_nothing_per_request(wasm_figures, micropython, built_firmware):
    """Issue 21: Link over a UART with one character per wake, a read, a token write and a
    TokenStatus poll: no object and no byte left per request on either port, and on the
    unix port (micropython.mem_total) no heap frame either for the reads."""
    unix = subprocess.run(
        [
            micropython,
            os.path.join(ROOT, "tools", "harness", "bench", "bench_core.py"),
            "--lib",
            built_firmware,
            "--heap",
            os.path.join(TRACES, "signon_read_predefined.trace"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert unix.returncode == 0, unix.stderr
    unix_figures = bench_wasm.parse(unix.stdout)
    for figures in (wasm_figures, unix_figures):
        for kind in ("read", "token", "status"):
            assert int(figures["board_%s_objects" % kind]) == 0, kind
            assert int(figures["board_%s_bytes" % kind]) == 0, kind
    assert int(unix_figures["board_read_total"]) == 0 and int(unix_figures["board_status_total"]) == 0


def test_the_32_bit_smallest_heap_run_fits_a_big_heap_and_reports_a_small_one(node, unix_image):
    """smallest_heap.py --wasm's runner: the session (sign-on, 200 rounds) fits 128 KB with
    the image outside the heap; in 8 KB the heap would have to grow (the port grows it
    instead of failing an allocation), in 1 KB the port's own start-up does not fit: each
    a failure with its reason, in well under the runner's timeout."""
    try:
        fits, out = smallest_heap.wasm_run(1 << 17, unix_image)
    except bench_wasm.Unavailable as problem:
        pytest.fail(str(problem))
    assert fits and out == "fits\n", out
    fits, out = smallest_heap.wasm_run(8192, unix_image, timeout=30)
    assert not fits and "MemoryError: the heap grew" in out, out
    fits, out = smallest_heap.wasm_run(1024, unix_image, timeout=30)
    assert not fits and "start-up did not fit 1024 B" in out, out
