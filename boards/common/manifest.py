# The part of every hardware board's manifest.py that is the same: the VTC07 core, the
# token engine and the shared board glue, as `make frozen` stages them in build/frozen
# (constants folded in, tools/build_firmware.py). Paths are relative to this file.
freeze("../../build/frozen", opt=3)  # noqa: F821  (MicroPython's build tool's; opt=3 as make compile:
# no line-number tables, tools/harness/build/build_firmware.py)
