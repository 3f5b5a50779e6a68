"""Content hashes and the cache folder: the two things every layer needs (datasets to key
videos, features to key the feature cache, humaneval to name clips) and no layer owns."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def cache_dir() -> Path:
    """``$DYADBENCH_CACHE``, else ``~/.cache/dyadbench``: weights and extracted features live under it."""
    return Path(os.environ.get("DYADBENCH_CACHE", Path.home() / ".cache" / "dyadbench"))


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
