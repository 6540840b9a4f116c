"""The conformance kit's figures (issue 19's closing note), measured:

    .venv/bin/python tools/harness/reliability/conform_figures.py loaded --runs 100 [--pty]
        the correct meter (unix board), every core kept busy: FAIL and INCONCLUSIVE per run,
        the timing uncertainty per run (median, max) and each run's time
    .venv/bin/python tools/harness/reliability/conform_figures.py zoo [--sim]
        one row per wrong meter (tools/harness/sim/zoo.py): the clause it must fail, what the kit said
    .venv/bin/python tools/harness/reliability/conform_figures.py tokens
        the shipped token lists: vectors per list, passes against the unix board
    .venv/bin/python tools/harness/reliability/conform_figures.py default
        the run time of a default run (and --certify with --certify)

A loaded run is the default run without the lockout and session clauses (they only wait)
unless --full is given.
"""

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import time

sys.path.append(__file__[: __file__.rfind("/") + 1] + "..")  # tools/harness, for hostpath (README.md)
import hostpath

ROOT = hostpath.ROOT

import zoo  # noqa: E402
from unixboard import UnixBoard, micropython_binary  # noqa: E402

LOADED_ONLY = "signon,session,read,errors,nak,repeat,break,ta"
FIRST_VECTOR = "2371-6100-5011-8319-4197"


def _burn():
    while True:
        pass


def loaded(args):
    burners = [
        multiprocessing.get_context("fork").Process(target=_burn, daemon=True) for _ in range(os.cpu_count() or 2)
    ]
    for p in burners:
        p.start()
    rows = []
    try:
        for n in range(1, args.runs + 1):
            with tempfile.TemporaryDirectory() as d:
                status, report, seconds = _one(os.path.join(d, "state"), args.pty, args.full)
            fails = [c["id"] for c in report["cases"] if c["status"] == "fail"]
            unsure = [c["id"] for c in report["cases"] if c["status"] == "inconclusive"]
            unc = report["timing"]["tr_uncertainty_ms"]
            rows.append((fails, unsure, unc["median"], unc["max"], seconds))
            print(
                "run %3d: exit %d, %d FAIL %s, %d INCONCLUSIVE %s, tr uncertainty median %.2f max %.2f ms, %.0f s"
                % (n, status, len(fails), fails, len(unsure), unsure, unc["median"], unc["max"], seconds),
                flush=True,
            )
    finally:
        for p in burners:
            p.terminate()
            p.join()
    print(
        "%d runs (%s, every core busy): %d with a FAIL, %d with an INCONCLUSIVE; tr uncertainty per run: "
        "median of medians %.2f ms, largest max %.2f ms; run time median %.0f s"
        % (
            len(rows),
            "pty" if args.pty else "TCP",
            sum(1 for r in rows if r[0]),
            sum(1 for r in rows if r[1]),
            statistics.median(r[2] for r in rows),
            max(r[3] for r in rows),
            statistics.median(r[4] for r in rows),
        )
    )


def _one(state, pty, full):
    import subprocess

    only = [] if full else ["--only", LOADED_ONLY]
    if pty:
        proc = subprocess.Popen(
            [micropython_binary(), os.path.join(ROOT, "boards/unix/main.py"), "--pty", "--state", state],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            port = proc.stdout.readline().strip()
            start = time.monotonic()
            status, report = zoo.run_kit(["--port", port] + only)
            return status, report, time.monotonic() - start
        finally:
            proc.kill()
            proc.wait()
    board = UnixBoard(micropython_binary(), state).start()
    try:
        start = time.monotonic()
        status, report = zoo.run_kit(["--port", "socket://127.0.0.1:%d" % board.port] + only)
        return status, report, time.monotonic() - start
    finally:
        board.stop()


def zoo_table(args):
    print("| wrong meter | must fail in | the kit said | other clauses |")
    print("|---|---|---|---|")
    for name in zoo.ZOO:
        with tempfile.TemporaryDirectory() as d:
            if args.sim:
                clause, (status, report) = zoo.judge_sim(name)
            else:
                clause, (status, report) = zoo.judge_meter(name, micropython_binary(), os.path.join(d, "state"))
        fails = [c for c in report["cases"] if c["status"] == "fail"]
        others = sorted({c["clause"] for c in fails} - {clause})
        said = "; ".join("%s: %s" % (c["id"], c["finding"][:110]) for c in fails[:2])
        print("| %s | %s | %s | %s |" % (name, clause, said.replace("|", "/"), ", ".join(others) or "none"), flush=True)


def tokens(args):
    from vtc07.conform import tokenlist

    print("| list | vectors | pass |")
    print("|---|---|---|")
    for name, path in tokenlist.shipped().items():
        flags, items = tokenlist.load(path)
        with tempfile.TemporaryDirectory() as d:
            board = UnixBoard(micropython_binary(), os.path.join(d, "state"), *flags.split()).start()
            try:
                status, report = zoo.run_kit(
                    ["--port", "socket://127.0.0.1:%d" % board.port, "--only", "tokens", "--tokens", name]
                )
            finally:
                board.stop()
        cases = [c for c in report["cases"] if c["clause"] == "tokens"]
        print("| %s | %d | %d |" % (name, len(cases), sum(1 for c in cases if c["status"] == "pass")), flush=True)


def default(args):
    with tempfile.TemporaryDirectory() as d:
        board = UnixBoard(micropython_binary(), os.path.join(d, "state")).start()
        try:
            extra = ["--certify"] if args.certify else []
            start = time.monotonic()
            status, report = zoo.run_kit(
                [
                    "--port",
                    "socket://127.0.0.1:%d" % board.port,
                    "--token",
                    FIRST_VECTOR,
                    "--address",
                    "600727000000000009",
                ]
                + extra
            )
            print(
                "%s run: exit %d, %s, %.0f s"
                % ("certification" if extra else "default", status, report["counts"], time.monotonic() - start)
            )
        finally:
            board.stop()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="what", required=True)
    lo = sub.add_parser("loaded")
    lo.add_argument("--runs", type=int, default=100)
    lo.add_argument("--pty", action="store_true")
    lo.add_argument("--full", action="store_true", help="the whole default run")
    z = sub.add_parser("zoo")
    z.add_argument("--sim", action="store_true", help="on virtual time (the line simulator), not a real line")
    sub.add_parser("tokens")
    d = sub.add_parser("default")
    d.add_argument("--certify", action="store_true")
    args = p.parse_args()
    {"loaded": loaded, "zoo": zoo_table, "tokens": tokens, "default": default}[args.what](args)


if __name__ == "__main__":
    main()
