// Does a session fit a fixed heap on the 32-bit MicroPython WebAssembly port? (run by
// tools/harness/bench/smallest_heap.py --wasm)
//
//     node tools/harness/bench/wasm/smallest_heap.mjs PACKAGE_DIR HEAPSIZE [IMAGE] < STEPS.json
//
// PACKAGE_DIR: the installed @micropython/micropython-webassembly-pyscript; HEAPSIZE: the
// GC heap in bytes; IMAGE: a ROMFS image, given to the port as `romfs`: copied to memory
// outside the GC heap and mounted at /rom by the port's start-up (/rom/lib on sys.path),
// as a board maps its flash. STEPS.json: [[python, times], ...], run in order, one
// runPython call each time. Prints what the steps print, then "fits", and exits 0 when
// every step ran in the heap; exits 1 with why on stderr when one did not.
//
// The port never fails an allocation: when its heap is full it adds another area from
// the C heap (MICROPY_GC_SPLIT_HEAP_AUTO). Each step therefore ends by comparing the
// heap's size with its size at start-up: a step that made it grow did not fit. The
// comparison runs inside the step, before the collection at its end, which frees an
// added area again once it is empty.
//
// A collection runs on this port only between two top-level calls (runPython), never in
// one (it scans no C stack): each step asks for one at its end (gc.collect() marks it
// pending), as a board's loop lets its collector run between rounds.
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

function usage(message) {
    process.stderr.write("smallest_heap: " + message + "\n");
    process.exit(2);
}

const args = process.argv.slice(2);
if (args.length < 2) usage("usage: smallest_heap.mjs PACKAGE_DIR HEAPSIZE [IMAGE] < STEPS.json");
const [packageDir, heapArg, image] = args;
const heapsize = Number(heapArg);
if (!Number.isInteger(heapsize) || heapsize <= 0) usage("HEAPSIZE must be a number of bytes, not " + heapArg);
const entry = path.join(packageDir, "micropython.mjs");
if (!fs.existsSync(entry)) usage("no MicroPython WebAssembly port at " + packageDir + ": run `make venv`");
if (image && !fs.existsSync(image)) usage("no ROMFS image " + image + ": run `make romfs BOARD=unix`");
const steps = JSON.parse(fs.readFileSync(0, "utf8"));

// The heap's size as the port reports it (gc.mem_free() adds the size a new area may
// have), taken at start-up; each step's end checks it and asks for a collection. The
// start-up's own fit: mem_info's total (the areas' blocks) within HEAPSIZE.
const PRELUDE = `import gc, micropython
micropython.mem_info()
def _fit():
    if gc.mem_alloc() + gc.mem_free() != _heap:
        raise MemoryError("the heap grew")
    gc.collect()
_heap = gc.mem_alloc() + gc.mem_free()
gc.collect()`;

const { loadMicroPython } = await import(pathToFileURL(path.resolve(entry)).href);
const out = [];
let mp;
try {
    mp = await loadMicroPython({
        heapsize,
        romfs: image ? new Uint8Array(fs.readFileSync(image)) : undefined,
        stdout: (line) => out.push(line),
        stderr: (line) => process.stderr.write(line + "\n"),
    });
    mp.runPython(PRELUDE);
} catch (error) {
    process.stderr.write("the port did not start in " + heapsize + " B: " + String(error) + "\n");
    process.exit(1);
}
const total = Number((out.find((line) => line.startsWith("GC: total: ")) || "").split(/[:,]/)[2]);
if (!(total <= heapsize)) {
    process.stderr.write("the port's start-up did not fit " + heapsize + " B (its heap: " + total + " B)\n");
    process.exit(1);
}
out.length = 0;
for (const [i, [code, times]] of steps.entries()) {
    for (let n = 0; n < times; n++) {
        try {
            mp.runPython(code + "\n_fit()");
        } catch (error) {
            process.stderr.write("step " + i + " (time " + (n + 1) + " of " + times + "): " + String(error) + "\n");
            process.exit(1);
        }
    }
}
process.stdout.write(out.concat(["fits"]).join("\n") + "\n");
