"""Training on the benchmarks' data: the dyadic window loader and the learned baselines' trainer."""

from .windows import DyadicWindows

__all__ = ["DyadicWindows"]
