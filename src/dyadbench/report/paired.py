"""Paired comparisons between reports of one task on the same items (``metrics.compare``)."""

from __future__ import annotations

from ..metrics.compare import paired_difference


def per_item_linear(report: dict, name: str) -> dict:
    """``{"value", "linear"}`` of a headline metric: the input of ``metrics.compare.paired_difference``."""
    m = report["metrics"].get(name) or {}
    return {"value": m.get("value"), "linear": (report.get("per_item") or {}).get(name)}


def paired_to(report: dict, reference: dict, *, confidence: float = 0.95) -> dict:
    """Each metric's difference ``report − reference`` with its paired interval (``None`` where the
    two cannot be paired: a metric missing on one side, or other items — the reason is kept)."""
    out = {}
    for name in report["metrics"]:
        if name not in reference["metrics"]:
            continue
        try:
            out[name] = paired_difference(per_item_linear(report, name), per_item_linear(reference, name),
                                          confidence=confidence)
        except ValueError as exc:
            out[name] = {"error": str(exc)}
    return out
