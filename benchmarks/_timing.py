"""Shared by the benchmark scripts (run as `python benchmarks/X.py`, so this folder is on sys.path)."""

import time


def timed(fn):
    """(seconds, result) of one call."""
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out
