"""STS token conformance through the port (--tokens FILE): a list of tokens, each with the
answer and tokenStatus it must give and its effect on registers.

    # comment
    @ meter --dk E653341F9D5BF36F --algorithm sta    how the meter must be configured
    ID  TOKEN-DIGITS  RESULT  [REG=VALUE | REG+DELTA | REG>VALUE ...]
    wait SECONDS                                      line silence (a lockout running out)

RESULT is a tokenStatus (1 Accept, 10 Used, 13 CRC, ...) or the error data message the write
must get (ERR07). REG is a register ID (4 hex digits); REG+DELTA compares the value after the
token with the value before it. The lists for the public STS 531-1 vectors ship beside this
module (tokens/); docs/conformance.md lists them.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Union

from . import profile as P
from .checks import Finding, Inconclusive

if TYPE_CHECKING:  # runner imports this module
    from .clauses import Kit
    from .runner import Run

LISTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tokens")


class Vector:
    def __init__(
        self, vid: str, digits: str, result: Union[int, str], effects: list[tuple[int, str, int]], line: int
    ) -> None:
        self.vid = vid
        self.digits = digits
        self.result = result  # int tokenStatus or "ERRnn"
        self.effects = effects  # [(rid, op, number)]
        self.line = line


def parse(text: str, name: str = "list") -> tuple[str, list[Union[Vector, tuple[str, int]]]]:
    """(meter flags, [Vector or ("wait", s)]); ValueError naming the line."""
    flags = ""
    items: list[Union[Vector, tuple[str, int]]] = []
    seen: set[str] = set()
    for number, raw in enumerate(text.split("\n"), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        where = "%s line %d" % (name, number)
        if line.startswith("@"):
            key, _, value = line[1:].strip().partition(" ")
            if key != "meter":
                raise ValueError("%s: unknown setting %r (only @ meter)" % (where, key))
            flags = value.strip()
            continue
        parts = line.split()
        if parts[0] == "wait":
            if len(parts) != 2 or not parts[1].isdigit():
                raise ValueError("%s: wait SECONDS" % where)
            items.append(("wait", int(parts[1])))
            continue
        if len(parts) < 3:
            raise ValueError("%s: ID TOKEN RESULT [effects]" % where)
        result: Union[int, str]  # a tokenStatus or ERRnn
        vid, digits, result = parts[:3]
        if vid in seen:
            raise ValueError("%s: vector %s twice" % (where, vid))
        seen.add(vid)
        digits = digits.replace("-", "")
        if len(digits) != 20 or not digits.isdigit() or int(digits) >= 1 << 66:
            raise ValueError("%s: %r is not a token (20 digits, under 2**66)" % (where, parts[1]))
        if result.isdigit():
            result = int(result)
        elif not (result.startswith("ERR") and len(result) == 5 and result[3:].isdigit()):
            raise ValueError("%s: result %r is neither a tokenStatus nor ERRnn" % (where, result))
        effects: list[tuple[int, str, int]] = []
        for effect in parts[3:]:
            for op in ("=", "+", ">"):
                if op in effect:
                    rid, _, value = effect.partition(op)
                    break
            else:
                raise ValueError("%s: effect %r is not REG=V, REG+D or REG>V" % (where, effect))
            try:
                effects.append((int(rid, 16), op, int(value)))
            except ValueError:
                raise ValueError("%s: effect %r: a 4-hex-digit register and a number" % (where, effect))
        items.append(Vector(vid, digits, result, effects, number))
    return flags, items


def load(path: str) -> tuple[str, list[Union[Vector, tuple[str, int]]]]:
    with open(path) as f:
        return parse(f.read(), os.path.basename(path))


def shipped() -> dict[str, str]:
    """The lists that ship with the kit: {name: path}."""
    return {name[:-4]: os.path.join(LISTS, name) for name in sorted(os.listdir(LISTS)) if name.endswith(".txt")}


def clause_tokens(kit: Kit, run: Run, name: str, flags: str, items: list[Union[Vector, tuple[str, int]]]) -> None:
    """One case per vector: tokens.<list>.<id>."""
    for item in items:
        if isinstance(item, tuple):
            kit.pause(item[1], "the token list waits %d s" % item[1])
            kit.in_session = False
            continue
        v = item
        title = "%s -> %s%s" % (
            v.digits,
            v.result if isinstance(v.result, str) else "tokenStatus %d" % v.result,
            "".join(" %04X%s%d" % e for e in v.effects),
        )
        with run("tokens.%s.%s" % (name, v.vid), title) as case:
            kit.session()
            before: dict[int, int] = {}
            for rid, op, _ in v.effects:
                if op == "+":
                    before[rid] = _number(kit, rid)
            status, refused = kit.enter_token(int(v.digits), "token %s (%s)" % (v.vid, v.digits))
            got = refused if refused else status
            if got != v.result:
                if refused and isinstance(v.result, int):
                    raise Finding(
                        "token %s: the write got %s, expected ACK and tokenStatus %d" % (v.vid, refused, v.result)
                    )
                raise Finding("token %s: %s, expected %s" % (v.vid, _said(got), _said(v.result)))
            wrong: list[str] = []
            for rid, op, value in v.effects:
                now = _number(kit, rid)
                if op == "=" and now != value:
                    wrong.append("%04X reads %d, expected %d" % (rid, now, value))
                elif op == "+" and now - before[rid] != value:
                    wrong.append("%04X went from %d to %d, expected +%d" % (rid, before[rid], now, value))
                elif op == ">" and not now > value:
                    wrong.append("%04X reads %d, expected more than %d" % (rid, now, value))
            if wrong:
                raise Finding("token %s: %s" % (v.vid, "; ".join(wrong)))
            case.finding = _said(got)


def _said(result: Any) -> str:  # a tokenStatus or "ERRnn" (enter_token gives one of the two)
    if isinstance(result, str):
        return result
    return "tokenStatus %d (%s)" % (result, P.TOKEN_STATUS_NAMES.get(result, "reserved"))


def _number(kit: Kit, rid: int) -> int:
    value = kit.read(rid, "ReadCommand %04X (for a token's effect)" % rid)
    if not value.isdigit():
        raise Inconclusive("register %04X reads %r, not a number" % (rid, value))
    return int(value)
