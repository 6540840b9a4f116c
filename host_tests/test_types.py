"""The host package's type hints hold: mypy over tools/vtc07 with the configuration in
pyproject.toml ([tool.mypy]: the firmware modules it shares are untyped there) finds nothing."""

import subprocess
import sys

from conftest import ROOT


def test_host_package_type_checks(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", "pyproject.toml", "--cache-dir", str(tmp_path / "cache")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
