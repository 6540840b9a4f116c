# Freezes the meter into a custom MicroPython build for this board, so its bytecode runs
# from flash and leaves the heap to the meter (docs/boards.md):
#   make -C micropython/ports/<port> BOARD=<BOARD> FROZEN_MANIFEST=<repo>/boards/<this>/manifest.py
# main.py stays on the board's file system (make deploy copies it).
include("$(PORT_DIR)/boards/manifest.py")  # noqa: F821  (the port's own frozen modules)
include("../common/manifest.py")  # noqa: F821
module("board.py")  # noqa: F821  this board's pins, UART and front end
