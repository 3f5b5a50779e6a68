"""The public door to the metric registry: ``score(name, items)`` and the declarations.

A task names metrics; a protocol gathers each item's inputs and the one engine
(``metrics.aggregate``) scores them with the registered function of the chosen convention — the
same function the tests check against each reference code. ``report.json`` entries carry the
function's dotted name, so every number is one hop from its code. ``score`` is that engine on an
in-memory ``ItemSet``: value, interval and linearisation equal ``evaluate``'s on the same items.
"""

from __future__ import annotations

from .aggregate import plan, score_items
from .spec import (
    DIRECTIONS,
    INTERVALS,
    METRICS,
    Convention,
    ItemSet,
    MetricResult,
    MetricSpec,
    Streaming,
    get_metric,
    list_metrics,
    register_metric,
)

__all__ = ["DIRECTIONS", "INTERVALS", "METRICS", "Convention", "ItemSet", "MetricResult", "MetricSpec", "Streaming",
           "get_metric", "list_metrics", "register_metric", "score"]


def score(name: str, data: ItemSet, idx=None, *, convention: str | None = None, n_boot: int = 200, seed: int = 0,
          confidence: float = 0.95) -> list[MetricResult]:
    """Score metric ``name`` on items ``idx`` of ``data`` (default: all); one result per output (part).

    Raises ``ValueError`` when the convention cannot score an item (its function's message)."""
    return score_items(plan([name], {name: convention} if convention else None), data, idx, n_boot=n_boot, seed=seed,
                       confidence=confidence)
