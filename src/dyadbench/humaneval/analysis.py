"""Exported 2AFC votes -> the statistics of ``metrics/human.py`` (a report section).

Per comparison (system A vs system B): preference rate for A with the Wilson interval and the
exact binomial test against ½; agreement between raters (Fleiss' κ when every item has the same
number of judgements, Krippendorff's α always; both over items × {A, B}); the left-side choice
rate (a counterbalanced design should not be moved by position). Attention checks: the failure
rate overall and per rater; raters with more than ``max_failed_checks`` failures are excluded
from the preference statistics (the report says how many, and gives the unfiltered rate too).
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from ..metrics import human as H


def analyze(rows: list[dict], *, max_failed_checks: int = 0, confidence: float = 0.95,
            item_goals: dict[str, str] | None = None, item_systems: dict[str, str] | None = None) -> dict:
    """``item_goals`` (a study built for several goals): ``per_goal`` repeats every comparison on
    each goal's items alone (same exclusions). ``item_systems`` (a mismatched-interlocutor study:
    matched vs mismatched pairings of each system's listener): ``per_system`` does the same per
    generating system — its matched-preference rate, Wilson interval and binomial test."""
    answered = [r for r in rows if r.get("choice") is not None]
    checks = [r for r in answered if r["attention"]]
    failed_by_rater: dict[int, int] = defaultdict(int)
    checks_by_rater: dict[int, int] = defaultdict(int)
    for r in checks:
        checks_by_rater[r["rater"]] += 1
        failed_by_rater[r["rater"]] += int(r["choice"] != r["expected"])
    excluded = sorted(k for k, v in failed_by_rater.items() if v > max_failed_checks)
    out = {
        "trials": len(rows), "answered": len(answered),
        "raters": len({r["rater"] for r in rows}),
        "attention": {
            "checks": len(checks), "failed": int(sum(failed_by_rater.values())),
            "failure_rate": (sum(failed_by_rater.values()) / len(checks)) if checks else None,
            "per_rater": {int(k): {"checks": checks_by_rater[k], "failed": failed_by_rater[k]} for k in sorted(checks_by_rater)},
            "max_failed_checks": max_failed_checks, "excluded_raters": excluded,
        },
        "comparisons": {},
    }
    rated = [r for r in answered if not r["attention"]]
    out["comparisons"] = _comparisons(rated, excluded, confidence)
    if item_goals:
        out["per_goal"] = {goal: _comparisons([r for r in rated if item_goals.get(r["item"]) == goal], excluded, confidence)
                           for goal in sorted(set(item_goals.values()))}
    if item_systems:
        out["per_system"] = {name: _comparisons([r for r in rated if item_systems.get(r["item"]) == name], excluded, confidence)
                             for name in sorted(set(item_systems.values()))}
    return out


def _comparisons(rated: list[dict], excluded: list, confidence: float) -> dict:
    pairs: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in rated:
        pairs[(r["system_a"], r["system_b"])].append(r)
    out = {}
    for (a, b), votes in pairs.items():
        kept = [r for r in votes if r["rater"] not in excluded]
        entry = {"system_a": a, "system_b": b, "judgements": len(kept), "judgements_unfiltered": len(votes)}
        if kept:
            entry.update(_preference(kept, a, confidence))
            entry["unfiltered_rate"] = float(np.mean([r["chosen"] == a for r in votes]))
        out[f"{a} vs {b}"] = entry
    return out


def _preference(votes: list[dict], a: str, confidence: float) -> dict:
    chose_a = np.array([int(r["chosen"] == a) for r in votes])
    summary = H.preference_summary(chose_a, confidence=confidence)
    left = np.array([int(r["choice"] == "left") for r in votes])
    by_item: dict[str, list[int]] = defaultdict(list)
    for r, c in zip(votes, chose_a):
        by_item[r["item"]].append(int(c))
    counts = np.array([[sum(v), len(v) - sum(v)] for v in by_item.values()])
    raters = sorted({r["rater"] for r in votes})
    items = sorted(by_item)
    table = np.full((len(raters), len(items)), np.nan)
    ri, ii = {x: i for i, x in enumerate(raters)}, {x: i for i, x in enumerate(items)}
    for r, c in zip(votes, chose_a):
        table[ri[r["rater"]], ii[r["item"]]] = c
    equal_n = len(set(counts.sum(axis=1))) == 1
    agreement = {
        "fleiss_kappa": _defined(H.fleiss_kappa, counts) if equal_n else None,
        "krippendorff_alpha": _defined(H.krippendorff_alpha_nominal, table),
    }
    return {
        "preference_a": summary["rate"], "low": summary["low"], "high": summary["high"], "p_value": summary["p_value"],
        "k": summary["k"], "n": summary["n"], "confidence": confidence, "items": len(items), "raters": len(raters),
        "agreement": agreement,
        "left_rate": float(left.mean()), "left_p_value": H.binomial_test(int(left.sum()), len(left)),
    }


def _defined(statistic, table) -> float | None:
    """κ or α, or None where undefined (one rater per item, or every judgement the same)."""
    try:
        value = statistic(table)
    except ValueError:
        return None
    return float(value) if np.isfinite(value) else None
