"""Decode and execute one token K times (no store): run under valgrind by bench.py, which
takes the instructions per token from two runs (K and 0), the start-up cancelled out.

    micropython tools/harness/bench/token_loop.py --lib build/firmware ALGORITHM K
"""

import sys

sys.path.append(__file__[: __file__.rfind("/") + 1] + "..")  # tools/harness, for firmwarepath (README.md)
import firmwarepath

_args = firmwarepath.setup(sys.argv[1:])

from heap_figures import CONFIGS, TOKENS  # noqa: E402
from meterapp import MeterApplication  # noqa: E402

algorithm, rounds = _args[0], int(_args[1])
app = MeterApplication(None, CONFIGS[algorithm])
digits = bytearray(int(c, 16) for c in "%017X" % TOKENS[algorithm])  # as the server takes it
for _ in range(rounds):
    app.forget_tids()  # accept it every time: the full path of rules
    app.submit(digits, 0)
    assert app.step(0) == 1
