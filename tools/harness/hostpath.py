"""Importing this makes a harness script run from the checkout (CPython) find the host
package (tools/vtc07, which brings the firmware's modules: tables, crc, the RegisterTable),
the firmware itself and the harness's role folders, without an install.

    import sys

    sys.path.append(__file__[: __file__.rfind("/") + 1] + "..")  # tools/harness: this module
    import hostpath
"""

import os
import sys

import firmwarepath

HARNESS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HARNESS))
for _sub in ("cpython", "firmware", "tools"):
    if os.path.join(ROOT, _sub) not in sys.path:
        sys.path.insert(0, os.path.join(ROOT, _sub))
for _role in firmwarepath.ROLES:
    if os.path.join(HARNESS, _role) not in sys.path:
        sys.path.append(os.path.join(HARNESS, _role))
