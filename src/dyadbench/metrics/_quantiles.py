"""Distribution quantiles the intervals use, without importing ``scipy.stats`` (~1 s, paid by the
main process and every worker of an evaluation): ``scipy.special`` is loaded already (by
``scipy.fft``), and ``scipy.stats.t.ppf`` is ``special.stdtrit`` after its argument checks."""

from __future__ import annotations

from scipy import special


def t_quantile(q: float, df: float) -> float:
    """Student's t quantile, equal to ``scipy.stats.t.ppf(q, df)`` (tested)."""
    if not (0.0 < q < 1.0 and df > 0):
        raise ValueError(f"t quantile: expected 0 < q < 1 and df > 0, got q={q}, df={df}")
    return float(special.stdtrit(df, q))
