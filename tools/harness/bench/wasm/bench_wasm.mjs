// The core's heap figures on the 32-bit MicroPython WebAssembly port (run by bench_wasm.py).
//
//     node tools/harness/bench/wasm/bench_wasm.mjs PACKAGE_DIR LIB_DIR TRACE...
//
// PACKAGE_DIR: the installed @micropython/micropython-webassembly-pyscript (make venv puts
// it in .venv/wasm/node_modules); LIB_DIR: the firmware as .mpy (build/firmware), or a
// ROMFS image (.img) whose lib/ holds them, mounted at /rom and run in place. Prints
// "name value" lines, as tools/harness/bench/bench_core.py does on the unix port, from the same
// measurements (tools/harness/bench/heap_figures.py).
//
// A collection runs on this port only between two top-level calls (runPython), so the
// measurement is driven one step per call: heap_figures.step() returns after each point
// where it wants a collection or may have one (a received message).
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const BENCH = path.dirname(path.dirname(fileURLToPath(import.meta.url)));  // tools/harness/bench
const ROOT = path.dirname(path.dirname(path.dirname(BENCH)));
const PY_FILES = [path.join(BENCH, "heap_figures.py"), path.join(ROOT, "tools", "vtc07", "tracefile.py"),
                  path.join(ROOT, "boards", "common", "link.py")];

function usage(message) {
    process.stderr.write("bench_wasm: " + message + "\n");
    process.exit(2);
}

const args = process.argv.slice(2);
// --names-first: the modules' figure only, with the qstr pools grown beforehand (below)
const namesFirst = args.includes("--names-first");
if (namesFirst) args.splice(args.indexOf("--names-first"), 1);
if (args.length < 2) usage("usage: bench_wasm.mjs PACKAGE_DIR LIB_DIR [--names-first] TRACE...");
const [packageDir, libDir, ...traces] = args;
const entry = path.join(packageDir, "micropython.mjs");
if (!fs.existsSync(entry)) usage("no MicroPython WebAssembly port at " + packageDir + ": run `make venv`");
const image = libDir.endsWith(".img");
if (image && !fs.existsSync(libDir)) usage("no ROMFS image " + libDir + ": run `make romfs BOARD=unix`");
const mpys = !image && fs.existsSync(libDir) ? fs.readdirSync(libDir).filter((f) => f.endsWith(".mpy")) : [];
if (!image && !mpys.length) usage("no .mpy files in " + libDir + ": run `make compile`");

const { loadMicroPython } = await import(pathToFileURL(path.resolve(entry)).href);
const out = [];
const mp = await loadMicroPython({
    stdout: (line) => out.push(line),
    stderr: (line) => process.stderr.write(line + "\n"),
});

// The port's file system (emscripten's, in memory): firmware in /lib as a board has it,
// the harness and the traces beside it.
const FS = mp.FS;
for (const dir of ["/lib", "/harness", "/traces"]) {
    if (!FS.analyzePath(dir).exists) FS.mkdir(dir);
}
for (const name of mpys) FS.writeFile("/lib/" + name, fs.readFileSync(path.join(libDir, name)));
if (image) FS.writeFile("/rom.img", fs.readFileSync(libDir));
for (const file of PY_FILES) FS.writeFile("/harness/" + path.basename(file), fs.readFileSync(file));
const inFs = traces.map((file, i) => {
    const name = "/traces/" + i + "_" + path.basename(file);
    FS.writeFile(name, fs.readFileSync(file));
    return name;
});

try {
    if (image) {  // read into the heap before anything is measured (a board maps it from flash)
        mp.runPython("import vfs\nwith open('/rom.img', 'rb') as f:\n    vfs.mount(vfs.VfsRom(f.read()), '/rom')");
    }
    mp.runPython("import sys\nsys.path[:0] = ['" + (image ? "/rom/lib" : "/lib") + "', '/harness']\nimport heap_figures as _h");
    if (namesFirst) {
        // Names are interned into pools that double in size (20, 40, ... 640 entries), each
        // taken from the heap when the last is full. Until the 6th pool has opened (at the
        // 621st name), 10 names at a time: the firmware's 300 or so then land in slots
        // already there, and the figure is its objects alone.
        const pools = () => {
            const at = out.length;
            mp.runPython("import micropython\nmicropython.qstr_info()");
            const line = out.splice(at).find((l) => l.startsWith("qstr pool"));
            return Number(/n_pool=(\d+)/.exec(line)[1]);
        };
        for (let i = 0; pools() < 6; i += 10) {
            mp.runPython("exec(';'.join('_name%d=0' % k for k in range(" + i + ", " + (i + 10) + ")))");
        }
        mp.runPython("_h.start(_h.modules())\n_r = None");
    } else {
        mp.runPython("_h.start(_h.heap(" + JSON.stringify(inFs) + "))\n_r = None");
    }
    while (mp.globals.get("_r") == null) mp.runPython("_r = _h.step()");
} catch (error) {
    process.stderr.write(String(error) + "\n");
    process.exit(1);
}
process.stdout.write(out.concat([mp.globals.get("_r")]).join("\n") + "\n");
