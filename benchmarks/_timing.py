"""Shared by the benchmark scripts (run as `python benchmarks/X.py`, so this folder is on sys.path)."""

import time


def timed(fn):
    """(seconds, result) of one call."""
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def best_of(fn, repeats=3):
    """(fastest seconds, result) over ``repeats`` calls after one warm-up call (LAPACK workspaces
    and thread pools cost tens of ms on the first calls)."""
    fn()
    times = [timed(fn) for _ in range(repeats)]
    return min(t for t, _ in times), times[-1][1]
