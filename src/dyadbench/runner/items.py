"""Evaluation items of the Seamless tasks: each participant of each dyad in the split, generated
given the other; with the ground truth in the task's feature space and the item's slice groups."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..datasets.seamless import Participant, SeamlessInteraction
from ..datasets.seamless_format import NPZ_SPEC
from ..datasets.seamless_meta import PERSONALITY_COLUMNS, personality_band
from ..tasks.registry import Task

GROUP_COLUMNS = ("label", "vendor", "relationship", "interaction_type") + tuple(c.replace("_raw", "") for c in PERSONALITY_COLUMNS)


@dataclass(eq=False)
class MotionItem:
    id: str
    dyad: str
    target: Participant
    partner: Participant
    groups: dict[str, str] = field(default_factory=dict)


def motion_items(task: Task, root: Path, split: str | None = None, excluded: dict | None = None,
                 skipped: list | None = None, excluded_ids: set | None = None) -> list[MotionItem]:
    """Every participant of every dyad of the split, generated given the other.

    Left out of the task, never silently (each counted in ``excluded`` by reason, its id added to
    ``excluded_ids``): an item a dataset fault touches (``datasets.seamless_faults``: duplicated
    ids, two archives, a feature group not at 30 Hz, partners far apart in length, features
    filelist.csv promises but lacks), and a participant or partner without the task's feature keys
    (the release has movement features for some vendors only). Records filelist.csv lists for
    this split but the root lacks are counted too. Bundles the reader skipped are appended to
    ``skipped``.
    """
    ds = SeamlessInteraction(root, split=split or task.split)
    if skipped is not None:
        skipped.extend(ds.skipped)  # bundles the reader could not use (cut shard, missing partner, bad id)
    excluded = {} if excluded is None else excluded
    excluded_ids = set() if excluded_ids is None else excluded_ids

    def leave_out(item_id: str, reason: str) -> None:
        excluded[reason] = excluded.get(reason, 0) + 1
        excluded_ids.add(item_id)

    for fault in ds.missing_on_disk():
        leave_out(fault.file_ids[0], fault.reason())
    keys = (*task.feature_keys, *((task.valid_key,) if task.valid_key else ()))
    items = []
    for dyad in ds:
        faults = [f for f in ds.dyad_faults(dyad) if f.excludes and f.touches(keys)]
        missing = {p.id: [k for k in task.feature_keys if not p.has_feature(k)] for p in dyad.participants}
        for target in dyad.participants:
            partner = dyad.partner(target)
            reason = None
            if faults:
                reason = faults[0].reason()
            elif missing[target.id]:
                reason = f"participant lacks {', '.join(missing[target.id])}"
            elif missing[partner.id]:
                reason = f"partner lacks {', '.join(missing[partner.id])}"
            if reason:
                leave_out(target.id, reason)
                continue
            meta = target.metadata_row or {}
            groups = {
                "label": dyad.label,
                "vendor": f"V{target.file_id.vendor}",
                "relationship": (dyad.relationship or {}).get("relationship", "unknown"),
                "interaction_type": (dyad.interaction or {}).get("interaction_type", "unknown"),
                **{c.replace("_raw", ""): personality_band(meta.get(c)) for c in PERSONALITY_COLUMNS},
            }
            items.append(MotionItem(target.id, dyad.key, target, partner, groups))
    return items


def per_frame_shapes(task: Task) -> dict[str, tuple]:
    return {k: NPZ_SPEC[k][0] for k in task.feature_keys}


def features(p: Participant, task: Task) -> np.ndarray:
    """(N, D) float64: the task's keys flattened per frame and concatenated."""
    arrays = [p.feature(k).reshape(p.feature(k).shape[0], -1) for k in task.feature_keys]
    return np.concatenate(arrays, axis=1).astype(np.float64)


def read_arrays(p: Participant, task: Task) -> dict[str, np.ndarray]:
    """The released arrays the task reads of one participant (feature keys and validity key)."""
    keys = [*task.feature_keys, *([task.valid_key] if task.valid_key and p.has_feature(task.valid_key) else [])]
    return {k: p.feature(k) for k in keys}


def valid_mask(p: Participant, task: Task, n: int) -> np.ndarray:
    if task.valid_key and p.has_feature(task.valid_key):
        v = p.feature(task.valid_key).reshape(-1)
        return (v > 0.5) if v.dtype.kind == "f" else v.astype(bool)
    return np.ones(n, bool)


def align_length(x: np.ndarray, n: int) -> np.ndarray:
    """Crop or edge-pad along frames: partner recordings differ by a few frames in the release."""
    if len(x) >= n:
        return x[:n]
    return np.concatenate([x, np.repeat(x[-1:], n - len(x), axis=0)])
