"""Wrap-around-safe millisecond ticks, the same arithmetic on MicroPython and CPython.

The core never reads a clock: callers pass `now` in. It only compares and adds ticks.
"""

from micropython import const

try:
    from time import ticks_add, ticks_diff
except ImportError:  # CPython: mimic MicroPython's 2**30 tick period
    _PERIOD = const(1 << 30)
    _HALF = const(1 << 29)

    def ticks_add(ticks, delta):
        return (ticks + delta) % _PERIOD

    def ticks_diff(end, start):
        return ((end - start + _HALF) % _PERIOD) - _HALF
