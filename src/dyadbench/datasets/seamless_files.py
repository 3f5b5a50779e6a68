"""The release's per-file ("features-only") layout of one ``<label>/<split>`` folder.

::

    <root>/<label>/<split>/{smplh,movement,boxes_and_keypoints}/<feature>/<file_id>.npy
    <root>/<label>/<split>/audio/<file_id>.wav        (video/<file_id>.mp4 when downloaded)
    <root>/<label>/<split>/metadata/{transcript,vad}/<file_id>.jsonl
    <root>/<label>/<split>/annotations/<type>/<file_id>.json

A user who downloaded features (not 27 TB of video) evaluates the motion tasks from it. The store
presents each participant as the same members a bundle has — ``<id>.npz`` (its arrays, one
``.npy`` per key, loaded per key on demand), ``<id>.json`` (transcript, VAD and annotations
gathered into the bundle's json document), ``<id>.wav`` and ``<id>.mp4`` — so every reader above
it is the one that reads bundles and shards.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import BinaryIO

import numpy as np

from .errors import DatasetError
from .seamless_format import npy_header

FEATURE_GROUPS = ("smplh", "movement", "movement_v4", "boxes_and_keypoints")
MEDIA = {"wav": "audio", "mp4": "video"}


def is_files_layout(folder: Path) -> bool:
    return any((folder / d).is_dir() for d in (*FEATURE_GROUPS, "audio", "metadata"))


class FeatureFilesStore:
    """Participants of one ``<label>/<split>`` folder of the per-file layout."""

    kind = "files"

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self._keys: dict[str, dict[str, Path]] = {}  # stem -> {"group:feature": npy path}
        self._media: dict[str, dict[str, Path]] = {}  # stem -> {"wav"/"mp4": path}
        for group in FEATURE_GROUPS:
            for feature_dir in sorted(p for p in (self.folder / group).glob("*") if p.is_dir()):
                for npy in feature_dir.glob("*.npy"):
                    self._keys.setdefault(npy.stem, {})[f"{group}:{feature_dir.name}"] = npy
        for ext, sub in MEDIA.items():
            for f in (self.folder / sub).glob(f"*.{ext}"):
                self._media.setdefault(f.stem, {})[ext] = f

    def stems(self) -> list[str]:
        return sorted(set(self._keys) | set(self._media))

    def names(self) -> list[str]:
        out = []
        for stem in self.stems():
            out += [f"{stem}.npz", f"{stem}.json"] if stem in self._keys else []
            out += [f"{stem}.{ext}" for ext in sorted(self._media.get(stem, {}))]
        return out

    def label(self, name: str) -> str:
        stem, _, ext = name.partition(".")
        if ext in MEDIA:
            return str(self.folder / MEDIA[ext] / name)
        return str(self.folder / f"*/*/{stem}.npy") if ext == "npz" else str(self.folder / f"metadata/*/{stem}.jsonl")

    def path(self, name: str) -> Path | None:
        stem, _, ext = name.partition(".")
        return self._media.get(stem, {}).get(ext)

    def size(self, name: str) -> int:
        path = self.path(name)
        return path.stat().st_size if path else 0

    def open(self, name: str) -> BinaryIO:
        path = self.path(name)
        if path is None:
            raise DatasetError(self.label(name), "no such file in the per-file layout")
        return open(path, "rb")

    def read(self, name: str) -> bytes:
        stem, _, ext = name.partition(".")
        if ext == "json":
            return json.dumps(self.metadata_doc(stem)).encode()
        if ext in MEDIA:
            with self.open(name) as f:
                return f.read()
        raise DatasetError(self.label(name), "the per-file layout has no npz: read its arrays with feature_keys/load")

    # -- arrays, one file per key --------------------------------------------------------------
    def feature_keys(self, stem: str) -> list[str]:
        return sorted(self._keys.get(stem, {}))

    def key_path(self, stem: str, key: str) -> Path | None:
        return self._keys.get(stem, {}).get(key)

    def load(self, stem: str, key: str) -> np.ndarray:
        path = self.key_path(stem, key)
        if path is None:
            raise DatasetError(self.folder / key.replace(":", "/") / f"{stem}.npy", "file is missing")
        try:
            return np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise DatasetError(path, f"truncated or corrupt npy ({exc})") from exc

    def headers(self, stem: str) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
        """Shape and dtype of every key from the .npy headers alone."""
        out = {}
        for key, path in self._keys.get(stem, {}).items():
            try:
                with open(path, "rb") as f:
                    shape, _, dtype = npy_header(f)
            except (ValueError, OSError) as exc:
                raise DatasetError(path, f"unreadable npy header ({exc})") from exc
            out[key] = (shape, dtype)
        return out

    # -- metadata ------------------------------------------------------------------------------
    def metadata_doc(self, stem: str) -> dict:
        """The bundle json document: transcript and VAD from jsonl lines, annotations per type."""
        doc: dict = {"id": stem}
        for kind in ("transcript", "vad"):
            path = self.folder / "metadata" / kind / f"{stem}.jsonl"
            if path.exists():
                doc[f"metadata:{kind}"] = _jsonl(path)
        for ann in sorted(p for p in (self.folder / "annotations").glob("*") if p.is_dir()):
            path = ann / f"{stem}.json"
            if path.exists():
                try:
                    doc[f"annotations:{ann.name}"] = json.loads(path.read_text())
                except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                    raise DatasetError(path, f"invalid json ({exc})") from exc
        return doc


def _jsonl(path: Path) -> list:
    rows = []
    for i, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetError(path, f"line {i}: invalid json ({exc})") from exc
        rows.extend(value if isinstance(value, list) else [value])
    return rows
