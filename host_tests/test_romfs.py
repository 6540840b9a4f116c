"""ROMFS: `make romfs` images, the unix board running from one (`--rom`), and `make deploy`
choosing ROMFS or files by what the board's MicroPython says (a stand-in mpremote here:
no board is attached to the machine that runs the tests)."""

import json
import os
import shutil
import subprocess
import sys

import deploy
import pytest
import soak
import startup_heap
from conftest import ROOT
from helpers import credit_token, make_romfs
from unixboard import UnixBoard

from vtc07 import hhu

UNIX_GLUE = ["load.mpy", "lock.mpy", "options.mpy", "startup.mpy", "unixmain.mpy"]
HARDWARE_GLUE = ["board.mpy", "boardmain.mpy", "link.mpy", "metrology.mpy"]
# every firmware module but the catalogue, whose rows stay on the host (the build writes the
# COMPACT rows a meter needs into meterapp)
FIRMWARE = sorted(
    f[:-3] + ".mpy" for f in os.listdir(os.path.join(ROOT, "firmware")) if f.endswith(".py") and f != "catalogue.py"
)


@pytest.fixture(scope="module")
def unix_image():
    return make_romfs("unix")


def listing(micropython, image):
    """{directory in the image: its files}, as the unix port's VfsRom mounts it."""
    script = (
        "import vfs, os\nvfs.mount(vfs.VfsRom(open(%r, 'rb').read()), '/rom')\n"
        "print(sorted(os.listdir('/rom')))\nprint(sorted(os.listdir('/rom/lib')))\n"
        "print(sorted(os.listdir('/rom/lib/unix')) if 'unix' in os.listdir('/rom/lib') else [])" % image
    )
    out = subprocess.run([micropython, "-c", script], capture_output=True, text=True, timeout=30).stdout
    top, lib, unix = out.strip().splitlines()
    return eval(top), eval(lib), eval(unix)


def test_unix_image_holds_the_firmware_and_the_unix_boards_modules(micropython, unix_image):
    top, lib, unix = listing(micropython, unix_image)
    assert top == ["lib"]  # main.py stays a file: a board runs it from its file system
    assert lib == sorted(FIRMWARE + ["unix"]) and unix == UNIX_GLUE


def test_hardware_board_image_holds_the_firmware_and_its_glue(micropython):
    top, lib, unix = listing(micropython, make_romfs("esp32"))
    assert top == ["lib"] and lib == sorted(FIRMWARE + HARDWARE_GLUE) and unix == []


def test_make_romfs_needs_a_board(tmp_path):
    result = subprocess.run(
        ["make", "-s", "romfs", "BOARD=common", "BUILD=" + str(tmp_path)],  # its compile: not build/ under others
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode != 0 and "one of: rp2_pico esp32 stm32_pyboard unix" in result.stdout


def test_unix_board_boots_from_the_image_alone_and_takes_a_token(micropython, unix_image, tmp_path):
    """main.py (and rom.py, which mounts the image) copied where no firmware/ and no board
    modules lie beside it: all of the rest comes out of the image."""
    for name in ("main.py", "rom.py"):
        shutil.copy(os.path.join(ROOT, "boards", "unix", name), tmp_path / name)
    board = UnixBoard(micropython, tmp_path / "state", "--rom", unix_image, main=str(tmp_path / "main.py")).start()
    try:
        with hhu.Hhu("socket://127.0.0.1:%d" % board.port) as meter:
            assert meter.sign_on() == "/STS3MPY-VTC07"
            assert meter.enter_token(credit_token(amount=5))[0] == 1
            meter.brk()
    finally:
        board.stop()


@pytest.mark.parametrize(
    "args, says",
    [
        (["--rom", "/nonexistent.img"], "error: cannot mount '/nonexistent.img' as a ROMFS image"),
        (["--rom", os.path.join(ROOT, "Makefile")], "as a ROMFS image (make romfs BOARD=unix builds one)"),
        (["--rom", ROOT], "as a ROMFS image"),
        (["--rom"], "error: --rom needs a value"),
    ],
)
def test_a_bad_rom_option_stops_the_board_with_one_line(micropython, tmp_path, args, says):
    result = subprocess.run(
        [micropython, os.path.join(ROOT, "boards", "unix", "main.py"), "--tcp", "1", "--state", str(tmp_path)] + args,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2 and says in result.stderr and "Traceback" not in result.stdout + result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error:"), result.stderr


def test_rom_goes_on_the_command_line_and_not_with_lib(micropython, unix_image, tmp_path):
    main = os.path.join(ROOT, "boards", "unix", "main.py")
    config = tmp_path / "meter.conf"
    config.write_text("rom = %s\n" % unix_image)
    for args, says in (
        (["--rom", unix_image, "--lib", os.path.join(ROOT, "build", "firmware")], "error: give one of --rom and --lib"),
        (["--lib", os.path.join(ROOT, "build", "firmware"), "--rom", unix_image], "error: give one of --rom and --lib"),
        (["--config", str(config)], "error: config key 'rom' is not known; valid keys: "),
    ):
        result = subprocess.run(
            [micropython, main, "--tcp", "1", "--state", str(tmp_path)] + args,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert result.returncode == 2, result.stdout + result.stderr
        assert result.stderr.splitlines()[-1].startswith(says), result.stderr


def test_image_leaves_the_heap_the_bytecode_took(micropython, unix_image):
    """From the image the board's heap holds no bytecode: less than from .mpy files by more
    than the image's buffer, which a board keeps in flash, not in its heap."""
    files = startup_heap.heap_after_start(micropython, ["--lib", os.path.join(ROOT, "build", "firmware")], "96k")
    rom = startup_heap.heap_after_start(micropython, ["--rom", unix_image], "96k")
    assert isinstance(files, int) and isinstance(rom, int), (files, rom)
    without_buffer = rom - startup_heap.buffer_bytes(micropython, os.path.getsize(unix_image))
    assert without_buffer < files - 12 * 1024, (files, rom, without_buffer)


def test_soak_from_the_image_in_64k_and_the_image(micropython, unix_image):
    """The unix port holds the image in its heap: a 64 KB heap plus the image's size is the
    64 KB board that maps it from flash."""
    heap_kb = 64 + (startup_heap.buffer_bytes(micropython, os.path.getsize(unix_image)) + 1023) // 1024
    result = soak.soak(micropython, 1000, heap="%dk" % heap_kb, lib=unix_image)
    assert result["messages"] == 1000 and result["samples"] >= 2
    assert result["growth"] <= 512, result


# --- make deploy, with a stand-in for mpremote -------------------------------------------

FAKE_MPREMOTE = """#!%s
import json, os, sys
with open(os.environ["FAKE_LOG"], "a") as f:
    f.write(json.dumps(sys.argv[1:]) + "\\n")
if sys.argv[3:5] == ["romfs", "query"]:
    print(os.environ["FAKE_QUERY"])
    sys.exit(int(os.environ.get("FAKE_RC", "0")))
"""


def fake_deploy(tmp_path, query, rc=0, board="rp2_pico"):
    fake = tmp_path / "mpremote"
    fake.write_text(FAKE_MPREMOTE % sys.executable)
    fake.chmod(0o755)
    log = tmp_path / "log"
    env = dict(os.environ, FAKE_LOG=str(log), FAKE_QUERY=query, FAKE_RC=str(rc))
    result = subprocess.run(
        # a build directory of its own: a build removes its firmware/ first, which tests
        # beside this one may be running the unix board from
        ["make", "-s", "deploy", "BOARD=" + board, "PORT=/dev/ttyFAKE", "MPREMOTE=" + str(fake)]
        + ["BUILD=" + str(tmp_path / "build")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return result, calls


ROMFS_QUERY = "ROMFS0 partition has size 131072 bytes (32 blocks of 4096 bytes each)\n  Raw contents: d2:cd:31"


def test_deploy_writes_the_image_where_the_board_has_romfs(tmp_path):
    result, calls = fake_deploy(tmp_path, ROMFS_QUERY)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ROMFS on /dev/ttyFAKE: deploying" in result.stdout
    assert calls[0] == ["connect", "/dev/ttyFAKE", "romfs", "query"]
    image = str(tmp_path / "build" / "romfs" / "rp2_pico.img")
    assert calls[1][:5] == ["connect", "/dev/ttyFAKE", "romfs", "deploy", image]
    assert calls[1][-6:] == ["+", "cp", "boards/rp2_pico/main.py", ":main.py", "+", "reset"]
    assert "os.remove('lib/'+n)" in calls[1][7]  # an older files deploy cleared away
    assert len(calls) == 2


@pytest.mark.parametrize(
    "query",
    ["ROMFS is not enabled on this device", "No ROMFS partitions available", "ImportError: no module named 'vfs'"],
)
def test_deploy_copies_mpy_files_where_the_board_has_no_romfs(tmp_path, query):
    result, calls = fake_deploy(tmp_path, query, rc=1 if "Error" in query else 0)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No ROMFS on /dev/ttyFAKE" in result.stdout and "copying the firmware as .mpy files" in result.stdout
    assert [c[2:] for c in calls[:2]] == [["romfs", "query"], ["mkdir", ":lib"]]
    copied = [os.path.basename(p) for p in calls[2][3 : calls[2].index(":lib/")]]
    assert copied == sorted(FIRMWARE + HARDWARE_GLUE)
    assert calls[2][-6:] == ["+", "cp", "boards/rp2_pico/main.py", ":main.py", "+", "reset"]


def test_deploy_stops_when_the_board_does_not_answer(tmp_path):
    result, calls = fake_deploy(tmp_path, "mpremote: failed to access /dev/ttyFAKE", rc=1)
    assert result.returncode != 0
    assert "error: cannot ask the board on /dev/ttyFAKE about ROMFS: mpremote: failed to access" in result.stdout
    assert len(calls) == 1


def test_deploy_script_checks_its_arguments(capsys):
    assert deploy.main(["mpremote", "PORT"]) == 2
    assert capsys.readouterr().out.startswith("usage: deploy.py")
    assert deploy.main(["mpremote", "PORT", "/nonexistent.img", ROOT, "main.py"]) == 2
    assert "error: /nonexistent.img is not there" in capsys.readouterr().out
