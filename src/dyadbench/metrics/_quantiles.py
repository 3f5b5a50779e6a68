"""Distribution quantiles the intervals use, with SciPy's own functions imported on first use:
``scipy.stats`` takes ~1 s to import, which every worker process of an evaluation would pay."""

from __future__ import annotations


def t_quantile(q: float, df: float) -> float:
    """Student's t quantile (``scipy.stats.t.ppf``)."""
    from scipy.stats import t as student_t

    return float(student_t.ppf(q, df))
