"""Importing this makes a harness script run from the checkout find the host package
(tools/vtc07, which brings the firmware's modules: tables, crc, the RegisterTable) and
the firmware itself, without an install."""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
for _sub in ("cpython", "firmware", "tools"):
    if os.path.join(ROOT, _sub) not in sys.path:
        sys.path.insert(0, os.path.join(ROOT, _sub))
