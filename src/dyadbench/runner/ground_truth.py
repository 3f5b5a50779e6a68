"""The ground truth's side of a streamed motion evaluation: what its pass over the target arrays
finds, the fits made on it, and how a second evaluation of the same data starts without the pass.

The pass reads every target array once for three things that depend on the arrays alone: per-dim
moments (the standardization), the data manifest's rows (a content hash of every array) and the
seeded frame samples' cut-offs. They are kept in the cache under the files' stat data (path,
size, modification time: ``Participant.feature_identity``), but only as a *claim*. An evaluation
that starts from a claim hands each item's expected manifest row to the worker that scores it;
the worker hashes the arrays it has just read and scores nothing when they differ, and one such
item sends the evaluation back to the pass itself. So "equal manifest hashes, equal arrays" holds
exactly as when the pass runs, and a second evaluation of unchanged data reads each ground-truth
array once instead of twice.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import numpy as np

from ..datasets.manifest import manifest_doc
from ..metrics.aggregate import prepare

GROUND_TRUTH_VERSION = 1  # bump when the pass's moments, cut-offs or manifest rows change for the same arrays
FITS_VERSION = 1  # bump when a Streaming.prepare's fit (SI-diversity's k-means) changes its numbers


@dataclass
class GroundTruth:
    """What the ground-truth pass found (``claimed``: read from the cache, not yet checked)."""

    mean: np.ndarray
    std: np.ndarray
    counts: dict  # frames and valid frames over all items
    records: list[dict]  # the manifest's rows, one per item
    gt_cutoff: float | None  # the fit sample's k-th smallest priority (None: every valid frame)
    score_cutoff: float | None  # the same for the Aggregator's frame sample
    claimed: bool = False

    @property
    def frames(self) -> dict[str, int]:
        return {r["id"]: r["frames"] for r in self.records}

    def manifest(self, task) -> dict:
        return manifest_doc(task.name, task.split, self.records)


def claim_key(task, items, seed: int, gt_k: int, score_k: int) -> str:
    """The key a pass's findings are kept under: task, seed, sample sizes and every target's files'
    stat data, so a changed, moved or replaced file (or another item set) gives another key."""
    keys = [*task.feature_keys, *([task.valid_key] if task.valid_key else [])]
    lines = [f"v{GROUND_TRUTH_VERSION}|{task.name}|{task.split}|{seed}|{gt_k}|{score_k}|{','.join(keys)}"]
    lines += [f"{it.id}|{it.target.feature_identity(keys)}" for it in sorted(items, key=lambda it: it.id)]
    return hashlib.blake2b("\n".join(lines).encode(), digest_size=16).hexdigest()


def claimed(cache_root: str | None, key: str) -> GroundTruth | None:
    """The findings of an earlier pass over files with the same stat data, or None."""
    from ..features.cache import FeatureCache

    kept = FeatureCache(cache_root).get(key, "ground_truth_pass", GROUND_TRUTH_VERSION)
    if kept is None or str(kept.get("key")) != key:
        return None
    doc = json.loads(str(kept["doc"]))
    return GroundTruth(kept["mean"], kept["std"], doc["counts"], doc["records"], doc["gt_cutoff"], doc["score_cutoff"],
                       claimed=True)


def keep(cache_root: str | None, key: str, gt: GroundTruth) -> None:
    from ..features.cache import FeatureCache

    doc = {"counts": gt.counts, "records": gt.records, "gt_cutoff": gt.gt_cutoff, "score_cutoff": gt.score_cutoff}
    FeatureCache(cache_root).put(key, "ground_truth_pass", GROUND_TRUTH_VERSION,
                                 {"key": np.asarray(key), "mean": gt.mean, "std": gt.std, "doc": np.asarray(json.dumps(doc))})


def merge_moments(rows: list[dict]) -> tuple[np.ndarray, np.ndarray, dict]:
    """Per-dim mean and std (floored at 1e-6) of all valid ground-truth frames, merged in id order
    (Chan et al.'s pairwise update), so any partition of the items gives the same numbers."""
    n, mean, m2 = 0, None, None
    for r in sorted(rows, key=lambda r: r["id"]):
        if not r["n"]:
            continue
        if mean is None:
            n, mean, m2 = r["n"], r["mean"].copy(), r["m2"].copy()
            continue
        delta = r["mean"] - mean
        total = n + r["n"]
        mean = mean + delta * r["n"] / total
        m2 = m2 + r["m2"] + delta ** 2 * n * r["n"] / total
        n = total
    if mean is None:
        raise ValueError("reference: no valid ground-truth frame in any item")
    return mean, np.maximum(np.sqrt(m2 / n), 1e-6), {"frames": int(sum(r["frames"] for r in rows)), "valid_frames": int(n)}


def prepared_fits(plans, fit_frames, shared: dict, cache_root: str | None, ref_key: str) -> dict:
    """The plans' fits on the ground-truth frame sample (``fit_frames()``; SI-diversity's k-means
    centres): they depend on the data, seed and conventions alone (``ref_key``), so a second
    evaluation of the same data reads them instead of collecting the sample and fitting again
    (serial: ~12 s of a 4 M-frame facial-motion run)."""
    if not any(p.mode == "sums" and p.conv.stream.prepare is not None for p in plans):
        return {}
    from ..features.cache import FeatureCache

    compute = lambda: prepare(plans, fit_frames(), shared)
    key = hashlib.blake2b(f"{ref_key}|fits".encode(), digest_size=16).hexdigest()
    arrays = FeatureCache(cache_root).get_or_compute(key, "reference_fits", FITS_VERSION, compute)
    return {k: (np.asarray(v).item() if np.ndim(v) == 0 else np.asarray(v)) for k, v in arrays.items()}
