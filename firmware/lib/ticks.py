"""MicroPython's tick functions, with CPython stand-ins for the fleet simulator and tests."""

try:
    from time import ticks_add, ticks_diff, ticks_ms
except ImportError:  # CPython: plain monotonic milliseconds that never wrap
    import time as _time

    def ticks_ms():
        return int(_time.monotonic() * 1000)  # type: ignore[attr-defined]

    def ticks_diff(a, b):  # type: ignore[no-redef]
        return a - b

    def ticks_add(a, b):  # type: ignore[misc]
        return a + b
