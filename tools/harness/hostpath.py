"""Importing this puts firmware/ and cpython/ on sys.path, so host tools use the firmware's
own modules (tables, crc, the RegisterTable) instead of second copies."""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for _sub in ("cpython", "firmware"):
    if os.path.join(ROOT, _sub) not in sys.path:
        sys.path.insert(0, os.path.join(ROOT, _sub))
