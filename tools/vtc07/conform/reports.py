"""The kit's reports: text, JSON, JUnit XML, and the evidence package (--report DIR)."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import statistics
import sys
import xml.etree.ElementTree as ET
from typing import Any, Optional, Sequence, cast

from . import clauses as C
from .checks import FAIL, INAPPLICABLE, INCONCLUSIVE, PASS, SKIP
from .runner import CLAUSES, SECTIONS, Case

RESULTS = {0: "pass", 1: "fail", 3: "no meter"}


def counts(cases: Sequence[Case]) -> dict[str, int]:
    return {s.lower(): sum(1 for c in cases if c.status == s) for s in (PASS, FAIL, INCONCLUSIVE, INAPPLICABLE, SKIP)}


def result(cases: Sequence[Case]) -> tuple[int, str]:
    """(exit status, result word): 0 only when no case failed or stayed undecided."""
    n = counts(cases)
    if n["fail"]:
        return 1, "fail"
    if n["inconclusive"]:
        return 1, "inconclusive"
    return 0, "pass"


def _stats(values: Sequence[float]) -> Optional[dict[str, Any]]:
    if not values:
        return None
    return {
        "n": len(values),
        "min": round(min(values), 1),
        "median": round(statistics.median(values), 1),
        "max": round(max(values), 1),
    }


def timing(kit: Optional[C.Kit]) -> Optional[dict[str, Any]]:
    if kit is None:
        return None
    figures = C.tr_figures(kit)
    wake = kit.line.wake_s()
    rec = [a.interval(kit.line.char_s) for a, _ in kit.recovery]
    return {
        "tr_ms": _stats([hi for _, hi, _ in figures]),
        "tr_uncertainty_ms": _stats([hi - lo for lo, hi, _ in figures]),
        "recovery_ms": _stats([hi * 1000 for _, hi in rec]),
        "recovery_uncertainty_ms": _stats([(hi - lo) * 1000 for lo, hi in rec]),
        "token_execution_ms": _stats(kit.execution),
        "host_wake_latency_ms": round(wake * 1000, 2),
        "arrival_stamps": getattr(kit.line.port, "stamps", None) or "host clock",
        "line_char_ms": round(kit.line.char_s * 1000, 3),
    }


def stats_text(s: Optional[dict[str, Any]], unit: str = "ms") -> str:
    if not s:
        return "none"
    return "n=%d min %.1f median %.1f max %.1f %s" % (s["n"], s["min"], s["median"], s["max"], unit)


def case_line(case: Case) -> str:
    text = "  %-12s %-22s %s" % (case.status, case.cid, case.title)
    if case.finding:
        text += ("\n        -> " if case.status != PASS else ": ") + case.finding
    return text


def report_text(kit: Optional[C.Kit], cases: Sequence[Case], seconds: float, status: int, header: str = "") -> str:
    lines = [header] if header else []
    clause = None
    for case in cases:
        if case.clause != clause:
            clause = case.clause
            lines.append("section %s  %s" % SECTIONS[cast(str, clause)])
        lines.append(case_line(case))
    lines += summary_lines(kit, cases, seconds)
    return "\n".join(lines) + "\n"


def summary_lines(kit: Optional[C.Kit], cases: Sequence[Case], seconds: float) -> list[str]:
    n = counts(cases)
    t = timing(kit)
    out = ["", "meter %s" % (kit.ident if kit else None)]
    if t:
        out.append("tr        %s, uncertainty %s" % (stats_text(t["tr_ms"]), stats_text(t["tr_uncertainty_ms"])))
        out.append("recovery  %s" % stats_text(t["recovery_ms"]))
        out.append("token     %s (write to final TokenStatus)" % stats_text(t["token_execution_ms"]))
        out.append(
            "host      wake-up latency %.2f ms, arrival times from the %s"
            % (t["host_wake_latency_ms"], t["arrival_stamps"])
        )
    for note in kit.notes if kit else []:
        out.append("note: " + note)
    status, word = result(cases)
    verdict = {"pass": "CONFORMS", "fail": "DOES NOT CONFORM", "inconclusive": "NOT DECIDED"}[word]
    out.append(
        "%s: %d passed, %d failed, %d inconclusive, %d inapplicable, %d skipped in %.1f s"
        % (verdict, n["pass"], n["fail"], n["inconclusive"], n["inapplicable"], n["skip"], seconds)
    )
    return out


def report_json(
    kit: Optional[C.Kit],
    cases: Sequence[Case],
    seconds: float,
    status: int,
    error: Optional[str] = None,
    extra: Optional[dict[str, Any]] = None,
) -> str:
    data = {
        "tool": "vtc07 conform",
        "port": kit.url if kit else None,  # command.py sets it
        "meter": kit.ident if kit else None,
        "result": "no meter" if status == 3 else result(cases)[1],
        "exit_status": status,
        "error": error,
        "seconds": round(seconds, 1),
        "counts": counts(cases),
        "timing": timing(kit),
        "notes": kit.notes if kit else [],
        "cases": [
            {
                "clause": c.clause,
                "section": SECTIONS[cast(str, c.clause)][0],
                "id": c.cid,
                "title": c.title,
                "status": c.status.lower(),
                "finding": c.finding,
                "seconds": round(c.seconds, 2),
            }
            for c in cases
        ],
    }
    if extra:
        data.update(extra)
    return json.dumps(data, indent=2)


def report_junit(kit: Optional[C.Kit], cases: Sequence[Case], seconds: float, error: Optional[str] = None) -> str:
    """JUnit XML: one testsuite per clause, one testcase per case, totals on the root.
    FAIL is a failure, INCONCLUSIVE an error (not decided), INAPPLICABLE and SKIP skipped."""
    root = ET.Element("testsuites", name="vtc07 conform", time="%.3f" % seconds)
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    if error:
        suite = ET.SubElement(
            root, "testsuite", name="vtc07.setup", tests="1", failures="0", errors="1", skipped="0", time="0"
        )
        case = ET.SubElement(suite, "testcase", classname="vtc07.setup", name="setup", time="0")
        ET.SubElement(case, "error", message=error, type="setup").text = error
        totals["tests"] += 1
        totals["errors"] += 1
    for key, section, title in CLAUSES:
        mine = [c for c in cases if c.clause == key]
        if not mine:
            continue
        n = counts(mine)
        suite = ET.SubElement(
            root,
            "testsuite",
            name="vtc07.%s" % key,
            tests=str(len(mine)),
            failures=str(n["fail"]),
            errors=str(n["inconclusive"]),
            skipped=str(n["skip"] + n["inapplicable"]),
            time="%.3f" % sum(c.seconds for c in mine),
        )
        totals["tests"] += len(mine)
        totals["failures"] += n["fail"]
        totals["errors"] += n["inconclusive"]
        totals["skipped"] += n["skip"] + n["inapplicable"]
        props = ET.SubElement(suite, "properties")
        ET.SubElement(props, "property", name="profile section", value=section)
        ET.SubElement(props, "property", name="clause", value=title)
        if kit:
            ET.SubElement(props, "property", name="port", value=kit.url)
            ET.SubElement(props, "property", name="meter", value=kit.ident or "")
        for c in mine:
            case = ET.SubElement(
                suite, "testcase", classname="vtc07.%s" % key, name="%s: %s" % (c.cid, c.title), time="%.3f" % c.seconds
            )
            if c.status == FAIL:
                ET.SubElement(case, "failure", message=c.finding, type="nonconformance").text = c.finding
            elif c.status == INCONCLUSIVE:
                ET.SubElement(case, "error", message=c.finding, type="inconclusive").text = c.finding
            elif c.status in (SKIP, INAPPLICABLE):
                ET.SubElement(case, "skipped", message="%s: %s" % (c.status, c.finding))
            elif c.finding:
                ET.SubElement(case, "system-out").text = c.finding
    for k, v in totals.items():
        root.set(k, str(v))
    if kit and kit.notes:
        ET.SubElement(root, "system-out").text = "\n".join(kit.notes)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def trace_text(kit: C.Kit, options: dict[str, Any]) -> str:
    """The whole line traffic in the trace format (docs/traces.md), which `vtc07 replay`
    plays back against a meter."""
    lines = [
        "# recorded by vtc07 conform %s against %s" % (options.get("kit_version", ""), kit.url),
        "# meter %s" % kit.ident,
    ]
    from .. import tracefile

    for kind, ms, chars in kit.line.events:
        lines.append("%s %d %s" % (kind, ms, tracefile.escape(chars)))
    return "\n".join(lines) + "\n"


def host_info(version: str) -> dict[str, Any]:
    try:
        import serial

        pyserial = serial.VERSION
    except ImportError:
        pyserial = None
    return {
        "kit": "vtc07 conform",
        "kit_version": version,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "pyserial": pyserial,
    }


def write_package(directory: str, files: dict[str, str]) -> None:
    """Write {name: text} into `directory` and MANIFEST.sha256 over them."""
    os.makedirs(directory, exist_ok=True)
    manifest = []
    for name in sorted(files):
        data = files[name].encode("utf-8")
        with open(os.path.join(directory, name), "wb") as f:
            f.write(data)
        manifest.append("%s  %s" % (hashlib.sha256(data).hexdigest(), name))
    with open(os.path.join(directory, "MANIFEST.sha256"), "w") as f:
        f.write("\n".join(manifest) + "\n")
