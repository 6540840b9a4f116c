# The part of every hardware board's manifest.py that is the same: the VTC07 core, the
# token engine and the shared board glue. Paths are relative to this file.
freeze("../../firmware")  # noqa: F821  (manifest functions are MicroPython's build tool's)
freeze(".", ("link.py", "boardmain.py"))  # noqa: F821
