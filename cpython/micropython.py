"""CPython stand-in for MicroPython's `micropython` module.

Only what firmware/ uses: `const` (compile-time constant on MicroPython, identity here).
tests and tools put this folder on sys.path before they import firmware/.
"""


def const(value):
    return value
