"""Builds MicroPython sources as a board runs them (`make compile`, `make deploy`, `make frozen`).

    python3 tools/harness/build/build_firmware.py MPY_CROSS OUT_DIR SOURCE.py...   .mpy files
    python3 tools/harness/build/build_firmware.py --py OUT_DIR SOURCE.py...        sources, for freezing

Before mpy-cross sees a module, every integer constant it imports from a firmware module
(tables.py's numbers, frames' events, formats' format letters) becomes a
`_NAME = const(value)` of its own, and the integer constants a firmware module defines are
renamed `_NAME` where they are defined. On MicroPython an imported name costs RAM at run
time: an entry in the importer's globals, one in the defining module's globals and an
interned name, some 60 bytes on the 64-bit unix port, and the firmware imports about 170
of them. A `_NAME = const()` is folded into the bytecode and costs nothing. A module-level
`NAME = bytes((1, 2, ...))` of literal numbers (the tables, in the standards' decimal
numbers) is written as the bytes literal it makes: a .mpy would keep the tuple in RAM too
(2.9 KB in tables.py). The sources stay
as they are, with each number written once; a module that still looked one up at run time
would fail the tests instead of costing RAM.

Each .mpy names its module (`-s tables`) as its source file: the name is interned anyway,
so this costs no RAM, where `tables.py` would be one more interned string per module.
mpy-cross runs with -O3: no line-number table in the bytecode (7% of the .mpy bytes,
2.6 KB of the firmware; heap on a board that loads .mpy files, where the unix board's 64 KB
start had 0.7 KB to spare and now has 3 KB). A traceback still names each module and
function, with line 1 for every line. The rewrite keeps every line where it was anyway,
so a build without -O3 points at the source.
`catalogue` (the companion register rows) never reaches a board as rows: a module that
imports from it gets each imported value written in as a literal (COMPACT: bytes), so
the register names and units stay on the host and cost the meter no RAM and no name.
"""

import ast
import io
import os
import subprocess
import sys
import tempfile
import tokenize

sys.path.append(__file__[: __file__.rfind("/") + 1] + "..")  # tools/harness, for hostpath (README.md)
import hostpath

FIRMWARE = os.path.join(hostpath.ROOT, "firmware")


def _is_const(node):
    return (
        isinstance(node, ast.Assign)
        and len(node.targets) == 1
        and isinstance(node.targets[0], ast.Name)
        and not node.targets[0].id.startswith("_")
        and isinstance(node.value, ast.Call)
        and getattr(node.value.func, "id", None) == "const"
    )


def int_constants(source, known=None):
    """{name: value} for each public `NAME = const(...)` of a module, in order."""
    values = {}
    scope = dict(known or {})
    for node in ast.parse(source).body:
        if _is_const(node):
            expr = ast.Expression(node.value.args[0])
            scope[node.targets[0].id] = values[node.targets[0].id] = eval(
                compile(expr, "const", "eval"), {"__builtins__": {}}, scope
            )
    return values


def firmware_constants():
    """{module: {name: value}} for every firmware module (tables first: others use it)."""
    with open(os.path.join(FIRMWARE, "tables.py")) as f:
        found = {"tables": int_constants(f.read())}
    for name in sorted(os.listdir(FIRMWARE)):
        module = name[:-3]
        if name.endswith(".py") and module not in found:
            with open(os.path.join(FIRMWARE, name)) as f:
                found[module] = int_constants(f.read(), found["tables"])
    return found


def _replace_names(source, replacements):
    """`source` with each use of a name in `replacements` (a name, not an attribute)
    written as the text it maps to; lines keep their places."""
    lines = source.splitlines(keepends=True)
    spots = []
    previous = None
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.NAME and tok.string in replacements and previous != ".":
            spots.append((tok.start, tok.end, tok.string))
        if tok.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT):
            previous = tok.string
    for (row, col), (_, end), name in reversed(spots):
        line = lines[row - 1]
        lines[row - 1] = line[:col] + replacements[name] + line[end:]
    return "".join(lines)


def inline(source, module, constants):
    """A module's source with the firmware's integer constants made `_NAME = const()`.

    `module` is the module's name, `constants` what firmware_constants() gives."""
    tree = ast.parse(source)
    has_const = any(
        isinstance(n, ast.ImportFrom) and n.module == "micropython" and any(a.name == "const" for a in n.names)
        for n in tree.body
    )
    names = set(constants.get(module, ()))  # its own: renamed where they are defined
    edits = []
    literals = {}
    for node in tree.body:
        data = _bytes_of_literals(node)
        if data is not None:  # bytes((1, 2, ...)) -> b"\x01\x02...": no tuple kept in RAM
            edits.append(
                (node.lineno, node.end_lineno, "%s = %r" % (ast.get_source_segment(source, node.targets[0]), data))
            )
            continue
        if isinstance(node, ast.ImportFrom) and node.module == "catalogue":
            values = catalogue_values()
            literals.update((a.name, values[a.name]) for a in node.names)
            edits.append((node.lineno, node.end_lineno, ""))
            continue
        if not (isinstance(node, ast.ImportFrom) and node.module in constants):
            continue
        values = constants[node.module]
        inlined = [a.name for a in node.names if a.name in values and a.asname is None]
        if not inlined:
            continue
        kept = [a.name + (" as " + a.asname if a.asname else "") for a in node.names if a.name not in inlined]
        statements = [] if has_const else ["from micropython import const"]
        if kept:
            statements.append("from %s import %s" % (node.module, ", ".join(kept)))
        statements += ["_%s = const(%d)" % (name, values[name]) for name in inlined]
        edits.append((node.lineno, node.end_lineno, "; ".join(statements)))
        names.update(inlined)
    replacements = {name: "_" + name for name in names}  # folded constants: _NAME
    replacements.update((name, repr(value)) for name, value in literals.items())  # catalogue
    lines = _replace_names(source, replacements).splitlines(keepends=True)
    for first, last, replacement in sorted(edits, reverse=True):
        lines[first - 1 : last] = [replacement + "\n"] + ["\n"] * (last - first)
    return "".join(lines)


def _bytes_of_literals(node):
    """The value of a module-level `NAME = bytes((int, ...))`, else None. The sources write
    tables so, in the standard's decimal numbers; in a .mpy the tuple would be a constant
    object in RAM beside the bytes (about 9 B an entry on the unix port)."""
    if not (
        isinstance(node, ast.Assign)
        and len(node.targets) == 1
        and isinstance(node.targets[0], ast.Name)
        and isinstance(node.value, ast.Call)
        and isinstance(node.value.func, ast.Name)
        and node.value.func.id == "bytes"
        and len(node.value.args) == 1
        and not node.value.keywords
        and isinstance(node.value.args[0], (ast.Tuple, ast.List))
    ):
        return None
    items = node.value.args[0].elts
    if not all(isinstance(e, ast.Constant) and type(e.value) is int and 0 <= e.value < 256 for e in items):
        return None
    return bytes(e.value for e in items)


def catalogue_values():
    """firmware/catalogue.py's values, as a module importing them gets them written in."""
    scope = {}
    with open(os.path.join(FIRMWARE, "catalogue.py")) as f:
        exec(compile(f.read(), "catalogue", "exec"), scope)
    return scope


def stage(out_dir, sources):
    """Write each source, constants folded in, to out_dir (what a frozen build freezes)."""
    constants = firmware_constants()
    os.makedirs(out_dir, exist_ok=True)
    for path in sources:
        module = os.path.basename(path)[:-3]
        with open(path) as f:
            text = f.read()
        text = inline(text, module, constants)
        with open(os.path.join(out_dir, module + ".py"), "w") as f:
            f.write(text)


def build(mpy_cross, out_dir, sources):
    """Compile each source, constants folded in, to out_dir/<module>.mpy."""
    os.makedirs(out_dir, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="build-firmware-") as staging:
        stage(staging, sources)
        for path in sources:
            module = os.path.basename(path)[:-3]
            subprocess.run(
                [
                    mpy_cross,
                    "-O3",  # no line numbers (above)
                    "-s",
                    module,
                    "-o",
                    os.path.join(out_dir, module + ".mpy"),
                    os.path.join(staging, module + ".py"),
                ],
                check=True,
            )


def main(argv):
    if len(argv) >= 3 and argv[0] == "--py":
        stage(argv[1], argv[2:])
    elif len(argv) >= 3:
        build(argv[0], argv[1], argv[2:])
    else:
        print(__doc__.split("\n\n")[1])
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
