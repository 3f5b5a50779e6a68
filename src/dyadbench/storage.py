"""Content hashes and the cache folder: the two things every layer needs (datasets to key
videos, features to key the feature cache, humaneval to name clips) and no layer owns."""

from __future__ import annotations

import hashlib
import os
import threading
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


class SpillRows:
    """Per-item statistic vectors by metric name, appended to one float64 file per metric in a
    private temporary folder and read back in chunks by plain reads (not a memory map, whose
    pages would count as the process's memory). Same interface as ``metrics.streaming.MemoryRows``;
    the folder goes when the object does (or on ``close``)."""

    def __init__(self, parent: str | Path | None = None):
        import tempfile
        import weakref

        import numpy as np

        self._np = np
        self.folder = Path(tempfile.mkdtemp(prefix="dyadbench-item-stats-", dir=parent))
        self._files: dict[str, object] = {}
        self._index: dict[str, dict[str, int]] = {}
        self._size: dict[str, int] = {}
        self._finalizer = weakref.finalize(self, SpillRows._remove, self.folder, self._files)
        self._lock = threading.Lock()

    @staticmethod
    def _remove(folder: Path, files: dict) -> None:
        import shutil

        for f in files.values():
            f.close()
        shutil.rmtree(folder, ignore_errors=True)

    def append(self, name: str, item_id: str, row) -> None:
        row = self._np.ascontiguousarray(row, dtype=self._np.float64).reshape(-1)
        if name not in self._files:
            self._files[name] = open(self.folder / f"{len(self._files)}.f64", "w+b")  # noqa: SIM115 (closed by close())
            self._index[name], self._size[name] = {}, len(row)
        if len(row) != self._size[name]:
            raise ValueError(f"stats of item {item_id} for {name}: {len(row)} values, expected {self._size[name]}")
        f = self._files[name]
        f.seek(0, os.SEEK_END)
        self._index[name][item_id] = f.tell() // (8 * self._size[name])
        f.write(row.tobytes())

    def size(self, name: str) -> int:
        return self._size[name]

    def chunks(self, name: str, ids: list[str], chunk: int = 64):
        """Rows of ``ids`` in chunks. Safe to call from several threads once appending is over
        (the slices are scored in threads): positioned reads, no shared file offset."""
        np, f, size = self._np, self._files[name], self._size[name]
        with self._lock:
            f.flush()
        for start in range(0, len(ids), chunk):
            part = ids[start : start + chunk]
            out = np.empty((len(part), size))
            for k, item in enumerate(part):
                self._read_at(f, self._index[name][item] * 8 * size, memoryview(out[k]).cast("B"))
            yield part, out

    def _read_at(self, f, offset: int, buffer) -> None:
        if hasattr(os, "preadv"):
            if os.preadv(f.fileno(), [buffer], offset) != len(buffer):
                raise OSError(f"{f.name}: a short read at byte {offset} (the item statistics file was truncated?)")
        else:  # no positioned read on this platform (Windows): one reader at a time
            with self._lock:
                f.seek(offset)
                f.readinto(buffer)

    def close(self) -> None:
        self._finalizer()
