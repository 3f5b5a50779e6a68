"""Paired comparisons between reports of one task on the same items (``metrics.compare``)."""

from __future__ import annotations

from pathlib import Path

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


def compared_to(report: dict, reference: dict) -> dict:
    """What report.json records of ``evaluate --compare-to``: the other system and each difference."""
    return {"system": reference["system"], "submission": reference.get("submission"),
            "differences": paired_to(report, reference)}


def load_comparable(path: Path, task: str) -> dict:
    """The report at ``path`` (a report.json or a folder holding one), refused unless it is of ``task``."""
    from .files import load_report

    path = Path(path)
    if path.is_dir():
        path = path / "report.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no report.json to compare to")
    report = load_report(path)
    if report["task"] != task:
        raise ValueError(f"{path}: a report of {report['task']}, not of {task}: nothing to pair")
    if not report.get("per_item"):
        raise ValueError(f"{path}: written by an older dyadbench (no per-item linearisation); evaluate it again to compare")
    return report
