# The part of every hardware board's manifest.py that is the same: the VTC07 core, the
# token engine and the shared board glue, as `make frozen` stages them in build/frozen
# (constants folded in, tools/build_firmware.py). Paths are relative to this file.
freeze("../../build/frozen")  # noqa: F821  (manifest functions are MicroPython's build tool's)
