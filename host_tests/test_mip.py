"""The mip package: package.json, boards/<board>/package.json and manifest.py agree with the
firmware and with the one version (firmware/server.py's VERSION, the SoftwareVersion register);
MicroPython's own mip (the
unix port, over HTTP on the loopback) and mpremote's (a local path, and github:ORG/REPO
with the downloads served from this checkout) install it, and the board runs what they
installed."""

import functools
import http.server
import io
import json
import os
import subprocess
import threading
import urllib.request

import mip_package
import pytest
from conftest import ROOT
from unixboard import UnixBoard

import vtc07
from vtc07 import hhu

FIRMWARE = sorted(f for f in os.listdir(os.path.join(ROOT, "firmware")) if f.endswith(".py"))
GLUE = ["boardmain.py", "link.py", "metrology.py"]
BOARDS = ("esp32", "rp2_pico", "stm32_pyboard")


def package(path="package.json"):
    with open(os.path.join(ROOT, path)) as f:
        return json.load(f)


def test_package_files_are_written_from_the_repository():
    assert mip_package.main(["--check"]) == 0, "run `make package`"


def test_a_new_version_makes_the_check_fail(monkeypatch, capsys):
    monkeypatch.setattr(mip_package, "version", lambda: "9.9.9")
    assert mip_package.main(["--check"]) == 1
    out = capsys.readouterr().out
    assert "out of date: package.json, manifest.py, boards/" in out and "make package" in out
    assert mip_package.main(["--bogus"]) == 2


def test_one_version_everywhere():
    with open(os.path.join(ROOT, "pyproject.toml")) as f:
        assert 'version = {attr = "vtc07.__version__"}' in f.read()
    versions = {package()["version"]} | {package("boards/%s/package.json" % b)["version"] for b in BOARDS}
    assert versions == {vtc07.__version__}
    import server  # the meter reports it: SoftwareVersion

    assert server.VERSION.decode() == vtc07.__version__
    assert manifest()[0] == {"version": vtc07.__version__, "description": mip_package.DESCRIPTION}


def manifest():
    """(metadata, [(module, base_path)]) of manifest.py, run as MicroPython's manifest
    tools run it: its paths relative to its directory, metadata() first."""
    calls = []

    def metadata(**kw):
        assert not calls, "metadata() must come first"
        calls.append(kw)

    def module(name, base_path="."):
        assert calls, "metadata() must come first"
        assert os.path.isfile(os.path.join(ROOT, base_path, name)), (base_path, name)
        calls.append((name, base_path))

    with open(os.path.join(ROOT, "manifest.py")) as f:
        exec(f.read(), {"metadata": metadata, "module": module})
    return calls[0], calls[1:]


def test_package_and_manifest_hold_the_firmware_and_the_shared_glue():
    urls = package()["urls"]
    assert [name for name, _ in urls] == FIRMWARE + GLUE
    for name, path in urls:
        assert os.path.isfile(os.path.join(ROOT, path)) and os.path.basename(path) == name
    assert [(name, base + "/" + name) for name, base in manifest()[1]] == [tuple(u) for u in urls]
    for board in BOARDS:
        assert package("boards/%s/package.json" % board)["urls"] == [
            ["lib/board.py", "board.py"],
            ["main.py", "main.py"],
        ]


@pytest.fixture
def http_root():
    """This checkout over HTTP on the loopback, as github serves a repository's files."""
    handler = functools.partial(_QuietHandler, directory=ROOT)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield "http://127.0.0.1:%d" % server.server_address[1]
    server.shutdown()
    server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def installed(root):
    return {os.path.relpath(os.path.join(d, f), root) for d, _, files in os.walk(root) for f in files}


def test_micropythons_mip_installs_the_package_and_the_board_runs_it(micropython, http_root, tmp_path):
    device = tmp_path / "device"
    script = "import mip\nmip.install(%r, target=%r)\nmip.install(%r, target=%r)\n" % (
        http_root + "/package.json",
        str(device / "lib"),
        http_root + "/boards/esp32/package.json",
        str(device),
    )
    result = subprocess.run([micropython, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "Done" in result.stdout, result.stdout + result.stderr
    assert installed(device) == {"lib/" + f for f in FIRMWARE + GLUE + ["board.py"]} | {"main.py"}
    with open(device / "lib" / "tables.py", "rb") as got, open(os.path.join(ROOT, "firmware", "tables.py"), "rb") as f:
        assert got.read() == f.read()
    # the unix board on the firmware mip put there (its own modules from boards/unix)
    board = UnixBoard(micropython, tmp_path / "state", "--lib", str(device / "lib")).start()
    try:
        with hhu.Hhu("socket://127.0.0.1:%d" % board.port) as meter:
            assert meter.sign_on() == "/STS3MPY-VTC07"
            meter.brk()
    finally:
        board.stop()


class FakeTransport:
    """What mpremote's mip asks of a board's file system, on a directory."""

    def __init__(self, root):
        self.root = root

    def _path(self, path):
        return os.path.join(self.root, path.lstrip("/"))

    def fs_exists(self, path):
        return os.path.exists(self._path(path))

    def fs_mkdir(self, path):
        os.mkdir(self._path(path))

    def fs_writefile(self, dest, data, chunk_size=256, progress_callback=None):
        with open(self._path(dest), "wb") as f:
            f.write(data)


def mpremote_install(transport, spec, target):
    from mpremote import mip

    mip._install_package(transport, spec, mip._PACKAGE_INDEX, target, None, True)


def test_mpremote_mip_installs_from_a_local_path(tmp_path):
    board = FakeTransport(str(tmp_path))
    mpremote_install(board, os.path.join(ROOT, "package.json"), "/lib")
    mpremote_install(board, os.path.join(ROOT, "boards", "rp2_pico", "package.json"), "/")
    assert installed(tmp_path) == {"lib/" + f for f in FIRMWARE + GLUE + ["board.py"]} | {"main.py"}
    with open(tmp_path / "main.py") as got, open(os.path.join(ROOT, "boards", "rp2_pico", "main.py")) as f:
        assert got.read() == f.read()


def test_mpremote_mip_installs_github_org_repo(tmp_path, monkeypatch):
    """`mpremote mip install github:ORG/REPO`: package.json at the repository's root, its
    files by relative paths; the downloads come from this checkout (no network here)."""
    asked = []

    def urlopen(url):
        prefix = "https://raw.githubusercontent.com/ORG/REPO/HEAD/"
        assert url.startswith(prefix), url
        asked.append(url[len(prefix) :])
        with open(os.path.join(ROOT, url[len(prefix) :]), "rb") as f:
            return io.BytesIO(f.read())

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    mpremote_install(FakeTransport(str(tmp_path)), "github:ORG/REPO", "/lib")
    assert asked[0] == "package.json" and sorted(asked[1:]) == sorted(p for _, p in package()["urls"])
    assert installed(tmp_path) == {"lib/" + f for f in FIRMWARE + GLUE}
