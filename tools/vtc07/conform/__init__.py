"""`vtc07 conform`: the VTC07 profile's cases against whatever meter is on a port.

A conformance kit for a meter maker or a test lab, split by role:
  profile   the profile's numbers, the kit's own (not the firmware's tables.py)
  line      the line: characters sent and received, time as the line sees it, every
            answer classified (an injected clock and pyserial-like port are accepted)
  checks    what a message and a value must be; verdicts from intervals and uncertainty
  clauses   the profile's clauses as cases, and the Kit (the profile's messages)
  runner    setup first, the cases in order, one fault one finding
  reports   text, JSON, JUnit, the evidence package (--report DIR)
  command   the `conform` options (cli.py registers them) and main
docs/conformance.md says what each case checks.
"""

from .clauses import bad_class1_token, random_class0_token  # noqa: F401
from .command import add_parser, main  # noqa: F401
from .runner import CLAUSES, SECTIONS  # noqa: F401
