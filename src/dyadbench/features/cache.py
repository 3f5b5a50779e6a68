"""On-disk feature cache keyed by (content hash of the input, extractor name, extractor version).

A second evaluation of the same data decodes nothing: ``get`` answers from
``<root>/<extractor>/v<version>/<hash[:2]>/<hash>.npz``. Writes are atomic (temporary file +
rename), so parallel workers (local processes or Ray actors) may race on the same entry safely:
the last complete write wins and a reader never sees a half-written file.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ..storage import cache_dir, content_hash  # noqa: F401 - content_hash re-exported for callers


class FeatureCache:
    def __init__(self, root: Path | str | None = None):
        self.root = Path(root) if root is not None else cache_dir() / "features"
        self.hits = 0
        self.misses = 0

    def path(self, input_hash: str, extractor: str, version: int) -> Path:
        return self.root / extractor / f"v{version}" / input_hash[:2] / f"{input_hash}.npz"

    def has(self, input_hash: str, extractor: str, version: int) -> bool:
        return self.path(input_hash, extractor, version).exists()

    def get(self, input_hash: str, extractor: str, version: int) -> dict[str, np.ndarray] | None:
        path = self.path(input_hash, extractor, version)
        try:
            with np.load(path, allow_pickle=False) as z:
                out = {k: z[k] for k in z.files}
        except (FileNotFoundError, ValueError, OSError):
            self.misses += 1
            return None
        self.hits += 1
        return out

    def put(self, input_hash: str, extractor: str, version: int, arrays: dict[str, np.ndarray]) -> Path:
        path = self.path(input_hash, extractor, version)
        _atomic_savez(path, arrays)
        return path

    def get_or_compute(self, input_hash: str, extractor: str, version: int,
                       compute: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
        cached = self.get(input_hash, extractor, version)
        if cached is not None:
            return cached
        arrays = compute()
        self.put(input_hash, extractor, version, arrays)
        return arrays


def _atomic_savez(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write an npz so that readers see the old file or the complete new one, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "wb") as f:
        f.write(buf.getvalue())
    os.replace(tmp, path)


class ShardLedger:
    """Completion records of whole shards for one set of extractors (names and versions).

    ``<cache>/shards/<set>/<sha1(shard key)>.npz`` holds the shard's fingerprint, its summary rows
    and the per-extractor ``RunningStats`` states. It is written atomically and *last*, after every
    video's features are in the cache, so a record exists only for a shard that finished: a re-run
    skips recorded shards without opening them, and a shard whose worker died is simply run again
    (its finished videos answer from the cache). A ``.running`` file next to it names the process
    working on it (pid, host), for operators.
    """

    def __init__(self, cache: FeatureCache, extractors: list[tuple[str, int]]):
        tag = ",".join(f"{name}@v{version}" for name, version in sorted(extractors))
        self.dir = cache.root / "shards" / hashlib.sha1(tag.encode()).hexdigest()[:16]

    def path(self, key: str) -> Path:
        return self.dir / f"{hashlib.sha1(key.encode()).hexdigest()}.npz"

    def read(self, key: str, fingerprint: str) -> dict | None:
        """The record of a finished shard, or None (absent, unreadable, or the shard changed)."""
        try:
            with np.load(self.path(key), allow_pickle=False) as z:
                if str(z["key"]) != key or str(z["fingerprint"]) != fingerprint:
                    return None
                stats: dict[str, dict] = {}
                for name in z.files:
                    if name.startswith("stats."):
                        _, extractor, field = name.split(".", 2)
                        stats.setdefault(extractor, {})[field] = z[name]
                return {"rows": json.loads(str(z["rows"])), "stats": stats}
        except (FileNotFoundError, ValueError, OSError, KeyError):
            return None

    def write(self, key: str, fingerprint: str, rows: list[dict], stats: dict[str, dict]) -> None:
        arrays = {"key": np.asarray(key), "fingerprint": np.asarray(fingerprint), "rows": np.asarray(json.dumps(rows))}
        for extractor, state in stats.items():
            arrays.update({f"stats.{extractor}.{field}": value for field, value in state.items()})
        _atomic_savez(self.path(key), arrays)

    @contextmanager
    def running(self, key: str) -> Iterator[Path]:
        marker = self.path(key).with_suffix(".running")
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(json.dumps({"key": key, "pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}))
        try:
            yield marker
        finally:
            marker.unlink(missing_ok=True)
