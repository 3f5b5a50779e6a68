"""On-disk feature cache keyed by (content hash of the input, extractor name, extractor version).

A second evaluation of the same data decodes nothing: ``get`` answers from
``<root>/<extractor>/v<version>/<hash[:2]>/<hash>.npz``. Writes are atomic (temporary file +
rename), so parallel workers (local processes or Ray actors) may race on the same entry safely:
the last complete write wins and a reader never sees a half-written file.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from pathlib import Path
from typing import Callable

import numpy as np


def content_hash(data: bytes | Path | str, chunk: int = 1 << 22) -> str:
    """BLAKE2b-128 of the bytes (a file is streamed, never loaded whole)."""
    h = hashlib.blake2b(digest_size=16)
    if isinstance(data, (bytes, bytearray, memoryview)):
        h.update(data)
    else:
        with open(data, "rb") as f:
            while block := f.read(chunk):
                h.update(block)
    return h.hexdigest()


class FeatureCache:
    def __init__(self, root: Path | str | None = None):
        from .weights import cache_dir

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
        path.parent.mkdir(parents=True, exist_ok=True)
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(buf.getvalue())
        os.replace(tmp, path)
        return path

    def get_or_compute(self, input_hash: str, extractor: str, version: int,
                       compute: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
        cached = self.get(input_hash, extractor, version)
        if cached is not None:
            return cached
        arrays = compute()
        self.put(input_hash, extractor, version, arrays)
        return arrays
