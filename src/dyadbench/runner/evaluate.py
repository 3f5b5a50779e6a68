"""``evaluate(task, data, submission) -> report``: the one entry point the CLI and users call.

The report is a plain dict (``report.json``, schema ``dyadbench.report/1``): every metric with
its value, confidence interval, n and direction; metrics that could not run with the reason;
the same metrics per slice (demographic and context groups) with group sizes.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from .. import __version__
from ..datasets.manifest import manifest_summary
from ..metrics.registry import get_metric
from ..report.files import SCHEMA
from ..tasks.registry import get_task
from ..engine import default_workers
from .protocols import PROTOCOLS, Scored, declared_outputs


def check_conventions(task, conventions: dict) -> dict:
    """Refuse a convention for a metric the task does not declare, or one the metric does not have."""
    for name, conv in conventions.items():
        if name not in task.metrics:
            raise ValueError(f"--convention {name}={conv}: task {task.name} has no metric {name!r} (it has {', '.join(task.metrics)})")
        known = get_metric(name).conventions
        if conv not in known:
            raise ValueError(f"--convention {name}={conv}: unknown; {name} has {', '.join(known)}")
    return dict(conventions)

MIN_SLICE_ITEMS = 1
SLICE_ORDER = ("label", "vendor", "relationship", "interaction_type", "speaker_role")  # kept first when two split alike


def evaluate(task_name: str, data_root: Path, submission: Path, *, system: str | None = None, n_boot: int = 200,
             slice_boot: int = 50, seed: int = 0, engine: str = "local", workers: int | None = None, device: str = "cpu",
             cache_root: str | None = None, address: str | None = None, conventions: dict | None = None,
             threads: int | None = 1, progress: Callable[[int, int, str], None] | None = None,
             face_stride: int | None = None, scratch: str | Path | None = None) -> dict:
    """Score ``submission`` on ``task_name``; ``conventions`` picks a named convention per metric
    (``{"l2": "learning2listen"}``; defaults in ``dyadbench metrics``). ``progress(done, total,
    what)`` is called as the whole set and each slice group are scored. ``face_stride`` (retrieval):
    embed every n-th frame of a clip for perceptual L2 (default: the task's, 8)."""
    task = get_task(task_name)
    if n_boot < 0 or slice_boot < 0:
        raise ValueError(f"bootstrap resamples must be >= 0 (got {n_boot} and {slice_boot} for slices)")
    conventions = check_conventions(task, conventions or {})
    t_start = time.perf_counter()
    scored = PROTOCOLS[task.protocol](task, Path(data_root), Path(submission), seed, engine=engine, workers=workers,
                                      device=device, cache_root=cache_root, address=address, conventions=conventions,
                                      n_boot=n_boot, slice_boot=slice_boot, threads=threads, progress=progress,
                                      face_stride=face_stride, scratch=scratch)
    all_idx = list(range(len(scored.ids)))
    columns = sorted({k for g in scored.groups for k in g}, key=lambda c: (SLICE_ORDER.index(c) if c in SLICE_ORDER else 99, c))
    slice_values = {col: sorted({g.get(col, "unknown") for g in scored.groups}) for col in columns}
    slice_values = {col: v for col, v in slice_values.items() if len(v) >= 2}  # one group = the whole set again
    same_as = _same_partitions(scored.groups, slice_values)
    slice_values = {col: v for col, v in slice_values.items() if col not in same_as}
    total = 1 + sum(len(v) for v in slice_values.values())
    tick = (lambda done, what: progress(done, total, what)) if progress else (lambda done, what: None)
    tick(0, "all items")
    t_items = time.perf_counter()
    metrics = scored.compute(all_idx, n_boot, "all")
    t_headline = time.perf_counter()
    per_item = {name: m.pop("linear") for name, m in metrics.items() if m.get("linear")}
    tick(1, "all items")
    missing = [name for name, outs in declared_outputs(task).items()
               if name not in scored.skipped and not all(o in metrics for o in outs)]
    if missing:  # a protocol bug, never a silent gap in the report
        raise RuntimeError(f"task {task.name}: declared metric(s) {missing} neither reported nor skipped")
    report = {
        "schema": SCHEMA,
        "dyadbench_version": __version__,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "task": task.name,
        "task_declaration": task.declaration(),
        "system": system or Path(submission).name,
        "data_root": str(data_root),
        "submission": str(submission),
        "n_items": len(scored.ids),
        # which items were scored (until a canonical manifest exists): runs are comparable only on the same ones
        "items_fingerprint": hashlib.blake2b("\n".join(sorted(scored.ids)).encode(), digest_size=8).hexdigest(),
        "excluded_items": scored.excluded,
        # the canonical data manifest's hash (datasets.manifest): equal hashes, equal items and arrays
        "manifest": manifest_summary(scored.extras.pop("manifest")) if "manifest" in scored.extras else None,
        "bootstrap": {"resamples": n_boot, "slice_resamples": slice_boot, "confidence": 0.95, "seed": seed},
        "conventions": {name: conventions.get(name, get_metric(name).default) for name in task.metrics},
        "metrics": metrics,
        "skipped": scored.skipped,
        "slices": {},
        "extras": scored.extras,
        # each headline metric's linearisation (per-item influences or bootstrap replicates): what
        # a paired comparison with another system on the same items needs (metrics.compare)
        "per_item": per_item,
        # a grouping that splits the items exactly as an earlier one does is not scored twice
        "slices_same_as": same_as,
    }
    groups = {(col, value): [i for i, g in enumerate(scored.groups) if g.get(col, "unknown") == value]
              for col, values in slice_values.items() for value in values}
    done = 1
    with _slice_pool(scored, workers) as submit:
        pending = {key: submit(_slice_metrics, scored, idx, slice_boot, key)
                   for key, idx in groups.items() if len(idx) >= MIN_SLICE_ITEMS}
        for col, values in slice_values.items():
            report["slices"][col] = {}
            for value in values:
                if (col, value) in pending:
                    report["slices"][col][value] = {"n": len(groups[col, value]), "metrics": pending[col, value]()}
                done += 1
                tick(done, f"{col} = {value}")
    # Where the time went: per-item work in workers (summed worker-seconds by stage and metric),
    # and the fixed set-level work in this process (headline and slices: values and intervals).
    report["timing"] = {"wall_s": time.perf_counter() - t_start, "items_s": t_items - t_start,
                        "headline_s": t_headline - t_items, "slices_s": time.perf_counter() - t_headline,
                        "worker_seconds": scored.extras.pop("worker_seconds", {}),
                        "main_seconds": scored.extras.pop("main_seconds", {})}
    return _plain(report)


def _slice_metrics(scored: Scored, idx: list[int], slice_boot: int, key) -> dict:
    group = scored.compute(idx, slice_boot, key)
    for m in group.values():
        m.pop("linear", None)
    return group


@contextmanager
def _slice_pool(scored: Scored, workers: int | None):
    """``submit(fn, *args)`` -> a callable giving ``fn(*args)``. Slice groups are independent: where
    the protocol's scorer allows (``Scored.thread_safe``: the streamed motion tasks) they run in as
    many threads as the item passes had workers, each with one BLAS thread (their Fréchet finishes
    and row reads release the GIL), so the set-level work shrinks with the cores like the items do.
    The numbers do not depend on it: each group's computation is the same, in whichever thread."""
    # On Ray too: the groups run in this (the driver's) process, its cores idle once the items are scored.
    threads = min(workers or default_workers(), os.cpu_count() or 1) if scored.thread_safe else 1
    if threads <= 1:
        yield lambda fn, *args: (lambda result=fn(*args): result)
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1), ThreadPoolExecutor(max_workers=threads) as pool:
        yield lambda fn, *args: pool.submit(fn, *args).result


def _same_partitions(groups: list[dict], slice_values: dict) -> dict[str, str]:
    """``{column: earlier column}`` for columns whose groups hold exactly the same items as an
    earlier column's (on the sample, interaction type splits the items as label does)."""
    seen: dict[frozenset, str] = {}
    same = {}
    for col in slice_values:
        parts: dict[str, set] = {}
        for i, g in enumerate(groups):
            parts.setdefault(g.get(col, "unknown"), set()).add(i)
        key = frozenset(frozenset(p) for p in parts.values())
        if key in seen:
            same[col] = seen[key]
        else:
            seen[key] = col
    return same


def _plain(obj):
    """JSON-safe: NumPy scalars to Python, NaN/inf to None."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _plain(obj.tolist())
    if isinstance(obj, (np.floating, float)):
        return float(obj) if np.isfinite(obj) else None
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj
