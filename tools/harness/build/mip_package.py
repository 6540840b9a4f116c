"""Writes the mip package files from what the repository holds (`make package`).

    python3 tools/harness/build/mip_package.py           write package.json, manifest.py and
                                                   boards/<board>/package.json
    python3 tools/harness/build/mip_package.py --check   exit 1 if any of them is out of date

The version has one home, the firmware's SoftwareVersion (VERSION in firmware/server.py,
which the host package's `__version__` and so pyproject.toml read too). JSON cannot refer to it, so
the files that carry it are
written from it here, with the file lists from firmware/ and boards/common/; a test runs
the check, so a new firmware module or a new version cannot ship with a stale package.

- package.json (`mpremote mip install github:ORG/REPO`, or a path to it): the firmware and
  the glue every hardware board shares, as sources into the board's lib directory.
- boards/<board>/package.json: that board's board.py into lib/ and its main.py at the
  root, for `mpremote mip install --target <the board's root> .../boards/<board>/package.json`
  (a package's paths are below its target; main.py must sit at the root to run at boot).
- manifest.py: the same modules for MicroPython's manifest tools (metadata() first, then
  one module() per file), e.g. micropython-lib's package index or include() in a frozen build.
"""

import json
import os
import sys

sys.path.append(__file__[: __file__.rfind("/") + 1] + "..")  # tools/harness, for hostpath (README.md)
import hostpath

ROOT = hostpath.ROOT
GLUE = ("boardmain.py", "link.py", "metrology.py")  # boards/common: every hardware board's
DESCRIPTION = "VTC07 (IEC 62055-52) prepayment meter firmware: protocol server and STS token engine"


def version():
    """The one version (firmware/server.py's VERSION), as the host package reads it."""
    import vtc07

    return vtc07.__version__


def modules():
    """[(module file, its path in the repository)]: the firmware, then the shared glue."""
    firmware = sorted(f for f in os.listdir(os.path.join(ROOT, "firmware")) if f.endswith(".py"))
    return [(f, "firmware/" + f) for f in firmware] + [(f, "boards/common/" + f) for f in GLUE]


def hardware_boards():
    boards = os.path.join(ROOT, "boards")
    return sorted(b for b in os.listdir(boards) if os.path.isfile(os.path.join(boards, b, "board.py")))


def _json(urls, note):
    """mip's package.json, one file to a line."""
    rows = ",\n".join("  " + json.dumps(pair) for pair in urls)
    return '{\n "version": %s,\n "description": %s,\n "urls": [\n%s\n ]\n}\n' % (
        json.dumps(version()),
        json.dumps(note),
        rows,
    )


def files():
    """{path in the repository: the text it must hold}."""
    out = {"package.json": _json([[name, path] for name, path in modules()], DESCRIPTION)}
    lines = [
        "# Written by tools/harness/build/mip_package.py (`make package`) from firmware/, boards/common/",
        "# and the version in firmware/server.py: edit those, not this file.",
        "# The firmware and the shared board glue as sources, for MicroPython's manifest tools;",
        "# a board's frozen build uses boards/<board>/manifest.py (constants folded in).",
        "metadata(version=%r, description=%r)  # noqa: F821" % (version(), DESCRIPTION),
    ]
    for name, path in modules():
        lines.append("module(%r, base_path=%r)  # noqa: F821" % (name, os.path.dirname(path)))
    out["manifest.py"] = "\n".join(lines) + "\n"
    for board in hardware_boards():
        out["boards/%s/package.json" % board] = _json(
            [["lib/board.py", "board.py"], ["main.py", "main.py"]],
            "The %s board's pins and main.py; install package.json (the firmware) too" % board,
        )
    return out


def main(args):
    if args not in ([], ["--check"]):
        print("usage: mip_package.py [--check]")
        return 2
    stale = []
    for path, text in files().items():
        full = os.path.join(ROOT, path)
        try:
            with open(full) as f:
                current = f.read()
        except OSError:
            current = None
        if current != text:
            stale.append(path)
            if "--check" not in args:
                with open(full, "w") as f:
                    f.write(text)
    if "--check" in args and stale:
        print("out of date: %s (run `make package`)" % ", ".join(stale))
        return 1
    for path in stale:
        print("wrote", path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
