r"""Paired differences between two systems scored on the same items.

Each headline result of the engine carries its linearisation (``aggregate``): per-item
influences S_i (a mean's (v_i − v̄)/n; the delta method's per-item terms), or the bootstrap
replicates drawn with item-seeded weights. The difference of two systems A − B on the same items is
then

* ``influence``: (v_A − v_B) ± t·se (Student, n − 1 df), se² = G/(G − 1) Σ_i (S_A,i − S_B,i)² — the delta method of the
  difference, whose correlated item noise cancels (this is what makes the comparison paired);
* ``replicates`` (same seed, same items, hence the same resamples): the replicates' differences,
  re-centred on v_A − v_B.

Families that differ (one system at a degenerate value takes the bootstrap route) fall back to an
unpaired interval, √(se_A² + se_B²), and say so.
"""

from __future__ import annotations

import numpy as np
from ._quantiles import t_quantile
from .bootstrap import percentile_interval

__all__ = ["paired_difference"]


def _se(linear: dict) -> float:
    v = np.asarray(linear["values"], float)
    if linear["kind"] == "influence":
        g = len(v)
        return float(np.sqrt(g / max(g - 1, 1) * np.sum(v**2)))
    return float(np.std(v, ddof=1))


def paired_difference(a: dict, b: dict, *, confidence: float = 0.95) -> dict | None:
    """A − B for two report entries of one metric (``value`` and ``linear``), with its interval.

    Returns ``{"difference", "low", "high", "method", "n", "excludes_zero"}``, or ``None`` when
    either side has no value or no linearisation. Raises ``ValueError`` when the two were not
    scored on the same items."""
    if a.get("value") is None or b.get("value") is None or not a.get("linear") or not b.get("linear"):
        return None
    la, lb = a["linear"], b["linear"]
    diff = float(a["value"] - b["value"])
    z = t_quantile(0.5 + confidence / 2, max(len(la["ids"]) - 1, 1))  # se from the items: t, n − 1 df
    if la["kind"] == lb["kind"] == "influence":
        ia, ib = dict(zip(la["ids"], la["values"])), dict(zip(lb["ids"], lb["values"]))
        if ia.keys() != ib.keys():
            raise ValueError(f"not the same items: {len(ia)} and {len(ib)} items, {len(ia.keys() ^ ib.keys())} differ")
        s = np.array([ia[k] - ib[k] for k in ia])
        se = _se({"kind": "influence", "values": s})
        low, high, method = diff - z * se, diff + z * se, f"paired delta method over {len(s)} items"
    elif la["kind"] == lb["kind"] == "replicates" and la.get("seed") == lb.get("seed") and la["ids"] == lb["ids"] \
            and len(la["values"]) == len(lb["values"]):
        reps = np.asarray(la["values"], float) - np.asarray(lb["values"], float)
        reps = reps[np.isfinite(reps)]
        lo, hi = percentile_interval(reps, confidence)
        mid = float(np.median(reps))
        low, high, method = diff - (mid - lo), diff + (hi - mid), f"paired bootstrap ({len(reps)} replicates on the same resampled items)"
    else:
        if set(la["ids"]) != set(lb["ids"]):
            raise ValueError(f"not the same items: {len(la['ids'])} and {len(lb['ids'])} items")
        se = float(np.hypot(_se(la), _se(lb)))
        low, high, method = diff - z * se, diff + z * se, "unpaired (the two results use different interval families)"
    return {"difference": diff, "low": float(low), "high": float(high), "method": method, "n": len(la["ids"]),
            "excludes_zero": bool(low > 0 or high < 0)}
