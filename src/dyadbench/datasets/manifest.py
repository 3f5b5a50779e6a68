"""The canonical manifest of what a task scores: its items, their frames and a content hash of every
array the task reads, and one hash over all of it.

Two labs that hold the same manifest hash scored the same items on the same numbers, whatever
layout they downloaded (WebDataset tars, extracted folders, the per-file layout): a content hash
is taken of each array's dtype, shape and values (C order, little-endian), never of file bytes, so
an npz member and the per-file ``.npy`` of the same array hash alike. ``dyadbench data manifest``
writes it; ``evaluate`` computes the same records while it reads the ground truth and puts the
hash in report.json; the leaderboard keeps runs on different manifests apart.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from .errors import DatasetError

MANIFEST_VERSION = 1


def array_digest(arr: np.ndarray) -> str:
    """SHA-256 of an array's dtype, shape and values, independent of the file format it came from."""
    a = np.ascontiguousarray(arr)
    if a.dtype.byteorder == ">" or (a.dtype.byteorder == "=" and np.little_endian is False):
        a = a.astype(a.dtype.newbyteorder("<"))
    h = hashlib.sha256()
    h.update(f"{a.dtype.newbyteorder('<').str}|{a.shape}|".encode())
    h.update(memoryview(a).cast("B"))
    return h.hexdigest()


def item_record(item_id: str, arrays: dict[str, np.ndarray], valid: np.ndarray) -> dict:
    """One scored item: its frames, valid frames and each read array's digest."""
    frames = max((len(a) for k, a in arrays.items() if k != "movement:hypernet_features"), default=0)
    return {"id": item_id, "frames": int(frames), "valid_frames": int(np.count_nonzero(valid)),
            "arrays": {k: array_digest(a) for k, a in sorted(arrays.items())}}


def manifest_doc(task: str, split: str, records: list[dict], excluded: dict | None = None, content: str = "arrays") -> dict:
    """The manifest: items sorted by id, and ``hash`` over task, split and items (canonical JSON).
    ``excluded`` (reason -> count) is shown beside, not hashed: the hash says what was scored."""
    items = sorted(records, key=lambda r: r["id"])
    body = {"version": MANIFEST_VERSION, "task": task, "split": split, "content": content, "items": items}
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    return {**body, "hash": digest, "n_items": len(items), "frames": int(sum(r.get("frames", 0) for r in items)),
            "excluded_items": dict(excluded or {})}


def manifest_summary(doc: dict) -> dict:
    """What report.json carries: the hash and the counts (the item list stays in the manifest file)."""
    return {k: doc[k] for k in ("hash", "version", "content", "n_items", "frames")}


def write_manifest(doc: dict, path: Path) -> None:
    """Write atomically; an existing file is replaced only when it is a dyadbench manifest."""
    path = Path(path)
    if path.exists():
        try:
            old = json.loads(path.read_text())
            ours = isinstance(old, dict) and {"version", "task", "items", "hash"} <= set(old)
        except (OSError, ValueError):
            ours = False
        if not ours:
            raise DatasetError(path, "exists and is not a dyadbench manifest; never overwritten: choose another --out")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial-{os.getpid()}")
    tmp.write_text(json.dumps(doc, indent=1))
    os.replace(tmp, path)


def read_manifest(path: Path) -> dict:
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise DatasetError(path, f"unreadable manifest ({exc})") from exc
    if not isinstance(doc, dict) or "hash" not in doc or "items" not in doc:
        raise DatasetError(path, "not a dyadbench manifest (expected keys hash, items)")
    return doc
