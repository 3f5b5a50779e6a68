"""Where a dataset file's bytes live: a folder of loose files or an (uncompressed) tar shard.

Both give the same bytes for the same member, so every reader above them returns identical
records from either layout. Tar shards are indexed once (member -> offset, size) and members
are read by seeking, never by extracting to disk; ``open`` returns a seekable file object so
PyAV and zipfile can read headers without loading whole members.
"""

from __future__ import annotations

import io
import os
import tarfile
import threading
from pathlib import Path
from typing import BinaryIO

from .errors import DatasetError


class LooseStore:
    """Members are files in one folder."""

    kind = "loose"

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def names(self) -> list[str]:
        return sorted(p.name for p in self.folder.iterdir() if p.is_file())

    def label(self, name: str) -> str:
        return str(self.folder / name)

    def path(self, name: str) -> Path | None:
        return self.folder / name

    def size(self, name: str) -> int:
        return (self.folder / name).stat().st_size

    def read(self, name: str) -> bytes:
        try:
            return (self.folder / name).read_bytes()
        except FileNotFoundError as exc:
            raise DatasetError(self.label(name), "file is missing") from exc

    def open(self, name: str) -> BinaryIO:
        return open(self.folder / name, "rb")


class _Slice(io.RawIOBase):
    """A read-only, seekable window [offset, offset + size) of a file."""

    def __init__(self, path: Path, offset: int, size: int):
        self._f = open(path, "rb")
        self._offset, self._size, self._pos = offset, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, pos: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._pos, os.SEEK_END: self._size}[whence]
        self._pos = max(0, min(self._size, base + pos))
        return self._pos

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self._size - self._pos)
        if n <= 0:
            return 0
        self._f.seek(self._offset + self._pos)
        data = self._f.read(n)
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def close(self) -> None:
        self._f.close()
        super().close()


class TarStore:
    """Members of one uncompressed tar (a WebDataset shard, a RealTalk video tar)."""

    kind = "shard"

    def __init__(self, tar_path: Path):
        self.tar_path = Path(tar_path)
        self._index: dict[str, tuple[int, int]] | None = None
        self._lock = threading.Lock()

    @property
    def index(self) -> dict[str, tuple[int, int]]:
        with self._lock:
            if self._index is None:
                self._index = self._build_index()
            return self._index

    def _build_index(self) -> dict[str, tuple[int, int]]:
        if self.tar_path.stat().st_size == 0:
            raise DatasetError(self.tar_path, "tar shard is empty (0 bytes)")
        try:
            with tarfile.open(self.tar_path, mode="r:") as tf:
                return {Path(m.name).name: (m.offset_data, m.size) for m in tf.getmembers() if m.isfile()}
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise DatasetError(self.tar_path, f"unreadable tar shard ({exc})") from exc

    def names(self) -> list[str]:
        return sorted(self.index)

    def label(self, name: str) -> str:
        return f"{self.tar_path}::{name}"

    def path(self, name: str) -> Path | None:
        return None

    def size(self, name: str) -> int:
        return self._entry(name)[1]

    def _entry(self, name: str) -> tuple[int, int]:
        try:
            return self.index[name]
        except KeyError as exc:
            raise DatasetError(self.label(name), "member is missing from the shard") from exc

    def read(self, name: str) -> bytes:
        offset, size = self._entry(name)
        with open(self.tar_path, "rb") as f:
            f.seek(offset)
            data = f.read(size)
        if len(data) != size:
            raise DatasetError(self.label(name), f"truncated member: {len(data)} of {size} bytes")
        return data

    def open(self, name: str) -> BinaryIO:
        offset, size = self._entry(name)
        return io.BufferedReader(_Slice(self.tar_path, offset, size))
