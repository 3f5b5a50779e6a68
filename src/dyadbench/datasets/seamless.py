"""Seamless Interaction reader: ``Dyad`` records from loose files or WebDataset shards.

Layouts (both under ``<root>/<label>/<split>/<batch:04d>/``):

* loose:  ``<archive:04d>/<file_id>.{mp4,wav,json,npz}``
* shards: ``<archive:04d>.tar`` holding the same four members per sample.

and the per-file ("features-only") layout directly under ``<root>/<label>/<split>/``
(``seamless_files.py``): one ``.npy`` per feature key, ``audio/``, ``metadata/``, optional ``video/``.

The two participants of an interaction (same ``V_S_I`` key) are paired across archives of a
(label, split). Everything is lazy: constructing the dataset lists file names only; arrays,
audio and frames are read on access and validated then (a ``DatasetError`` names the file).
Problems that make a record unusable (bad id, missing partner, unreadable shard) become
``Skip`` entries in ``dataset.skipped`` unless ``strict=True``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from . import media
from .errors import DatasetError, Skip
from .ids import FileId
from .refs import VideoRef
from .seamless_files import FeatureFilesStore, is_files_layout
from .seamless_format import (
    AUDIO_SAMPLE_RATE,
    LABELS,
    SPLITS,
    VIDEO_FPS_ACCEPTED,
    FeatureReport,
    load_npz,
    parse_metadata_json,
    validate_features,
    validate_headers,
)
from .seamless_faults import Fault, location_faults, record_faults
from .seamless_meta import SeamlessMetadata
from .stores import LooseStore, TarStore

EXTENSIONS = ("mp4", "wav", "json", "npz")


@dataclass(eq=False)
class Participant:
    """One participant's bundle; every accessor reads lazily and validates."""

    file_id: FileId
    label: str
    split: str
    batch: int
    archive: int
    store: LooseStore | TarStore | FeatureFilesStore
    extensions: tuple[str, ...]
    metadata_row: dict | None = None
    _keys: dict = field(default_factory=dict, repr=False, init=False)  # per-key arrays read so far (per-file layout)

    @property
    def id(self) -> str:
        return str(self.file_id)

    def member(self, ext: str) -> str:
        if ext not in self.extensions:
            raise DatasetError(self.store.label(f"{self.id}.{ext}"), f"no .{ext} file for this participant")
        return f"{self.id}.{ext}"

    def source_label(self, ext: str) -> str:
        return self.store.label(f"{self.id}.{ext}")

    def read_bytes(self, ext: str) -> bytes:
        return self.store.read(self.member(ext))

    def video_ref(self) -> VideoRef:
        """A picklable reference to the participant's mp4: a loose file, or its tar shard and member."""
        member = self.member("mp4")
        path = self.store.path(member)
        return VideoRef(self.id, str(path)) if path else VideoRef(self.id, str(self.store.tar_path), member)

    @property
    def _per_file(self) -> bool:
        return isinstance(self.store, FeatureFilesStore)

    @cached_property
    def _features(self) -> tuple[dict[str, np.ndarray], FeatureReport]:
        label = self.source_label("npz")
        if self._per_file:
            arrays = {k: self.store.load(self.id, k) for k in self.store.feature_keys(self.id)}
        else:
            arrays = load_npz(self.read_bytes("npz"), label)
        return arrays, validate_features(arrays, label)

    def features(self) -> dict[str, np.ndarray]:
        """Every array of the participant (released keys validated; unknown keys passed through)."""
        return self._features[0]

    def feature_keys(self) -> list[str]:
        """The keys present, without reading arrays (npz or npy headers)."""
        if self._per_file:
            return self.store.feature_keys(self.id)
        if "_features" in self.__dict__:
            return sorted(self.features())
        from .seamless_format import npz_headers

        with self.store.open(self.member("npz")) as f:
            return sorted(npz_headers(f, self.source_label("npz")))

    def feature_headers(self) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
        """Shape and dtype of every array from the npy headers alone (npz member or per-file)."""
        if self._per_file:
            return self.store.headers(self.id)
        from .seamless_format import npz_headers

        with self.store.open(self.member("npz")) as f:
            return npz_headers(f, self.source_label("npz"))

    def group_frames(self) -> dict[str, int]:
        """Frames of each feature group (``smplh``, ``movement``, ...), headers only, validated."""
        return validate_headers(self.feature_headers(), self.source_label("npz")).frames

    def has_feature(self, key: str) -> bool:
        return key in self.feature_keys()

    def feature(self, key: str) -> np.ndarray:
        if self._per_file and "_features" not in self.__dict__:
            return self._one_key(key)  # the per-file layout reads (and validates) only the keys asked for
        arrays = self.features()
        if key not in arrays:
            raise DatasetError(self.source_label("npz"), f"no key {key!r}; present: {sorted(arrays)}")
        return arrays[key]

    def _one_key(self, key: str) -> np.ndarray:
        if key not in self._keys:
            if key not in self.store.feature_keys(self.id):
                raise DatasetError(self.source_label("npz"), f"no key {key!r}; present: {self.store.feature_keys(self.id)}")
            arr = self.store.load(self.id, key)
            validate_features({key: arr}, str(self.store.folder / key.replace(":", "/") / f"{self.id}.npy"))
            self._keys[key] = arr
        return self._keys[key]

    def release(self) -> None:
        """Drop the arrays read so far (a streamed evaluation reads each participant once)."""
        self.__dict__.pop("_features", None)
        self._keys.clear()

    @property
    def feature_report(self) -> FeatureReport:
        return self._features[1]

    @cached_property
    def metadata(self) -> dict:
        return parse_metadata_json(self.read_bytes("json"), self.source_label("json"), expected_id=self.id)

    @property
    def transcript(self) -> list[dict]:
        return self.metadata.get("metadata:transcript", []) or []

    @property
    def vad(self) -> list[dict]:
        return self.metadata.get("metadata:vad", []) or []

    @property
    def annotations(self) -> dict[str, list[dict]]:
        return {k.split(":", 1)[1]: v for k, v in self.metadata.items() if k.startswith("annotations:")}

    def audio(self) -> tuple[np.ndarray, int]:
        samples, sr = media.read_audio(self._source("wav"), label=self.source_label("wav"))
        if sr != AUDIO_SAMPLE_RATE:
            raise DatasetError(self.source_label("wav"), f"sample rate {sr} Hz, expected {AUDIO_SAMPLE_RATE} Hz")
        return samples, sr

    def audio_identity(self) -> str:
        """Where the wav's bytes are and their size and modification time: a cache key that costs
        one stat (a changed file gets a new key)."""
        return self._file_identity(self.member("wav"))

    def feature_identity(self, keys) -> str:
        """The same for the arrays of ``keys``: the npz (loose or in its shard), or each key's
        ``.npy`` in the per-file layout ("-" for a key that has none). Stat data, not content: what
        is kept under it must be checked against the arrays' content hashes before it is used."""
        if not self._per_file:
            return self._file_identity(self.member("npz"))
        paths = {k: self.store.key_path(self.id, k) for k in sorted(keys)}
        return ";".join(f"{k}={_stat_identity(p) if p is not None else '-'}" for k, p in paths.items())

    def _file_identity(self, member: str) -> str:
        path = self.store.path(member)
        if path is not None:
            return _stat_identity(path)
        st = self.store.tar_path.stat()
        offset, size = self.store.index[member]
        return f"{self.store.tar_path.resolve()}::{member}|{offset}|{size}|{st.st_size}|{st.st_mtime_ns}"

    def _source(self, ext: str):
        path = self.store.path(self.member(ext))
        return path if path is not None else self.read_bytes(ext)

    @cached_property
    def video_info(self) -> media.VideoInfo:
        info = media.probe_video(self._source("mp4"), label=self.source_label("mp4"))
        if not any(abs(info.fps - f) < 0.01 for f in VIDEO_FPS_ACCEPTED):
            raise DatasetError(self.source_label("mp4"), f"frame rate {info.fps:.3f} fps, expected 30 or 29.97")
        return info

    def iter_frames(self, *, batch_size: int = 64, start: int = 0, stop: int | None = None) -> Iterator[np.ndarray]:
        """RGB uint8 batches (B, H, W, 3), decoded once and streamed."""
        _ = self.video_info  # validates fps before any decoding
        return media.iter_frames(self._source("mp4"), batch_size=batch_size, start=start, stop=stop, label=self.source_label("mp4"))


@dataclass(eq=False)
class Dyad:
    """Two participants of one interaction, with the interaction's metadata rows."""

    key: str
    label: str
    split: str
    participants: tuple[Participant, Participant]
    relationship: dict | None = None
    interaction: dict | None = None
    faults: list[Fault] = field(default_factory=list)  # where its ids sit (seamless_faults.location_faults)

    def partner(self, participant: Participant) -> Participant:
        a, b = self.participants
        if participant is a:
            return b
        if participant is b:
            return a
        raise ValueError(f"{participant.id} is not part of dyad {self.key}")


@dataclass
class SeamlessInteraction:
    """Iterate ``Dyad`` records of a Seamless Interaction root (see module docstring).

    ``source``: ``"auto"`` (loose files where an archive was extracted, else its shard; the
    per-file layout where it exists), ``"loose"``, ``"shards"`` or ``"files"``.
    """

    root: Path
    label: str | tuple[str, ...] | None = None
    split: str | tuple[str, ...] | None = None
    source: str = "auto"
    metadata_dir: Path | None = None
    strict: bool = False
    skipped: list[Skip] = field(default_factory=list, init=False)
    problems: list[Skip] = field(default_factory=list, init=False)
    faults: list[Fault] = field(default_factory=list, init=False)  # the release's known faults (seamless_faults)

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        if not self.root.is_dir():
            raise DatasetError(self.root, "dataset root is not a folder")
        if self.source not in ("auto", "loose", "shards", "files"):
            raise ValueError(f"source: expected 'auto', 'loose', 'shards' or 'files', got {self.source!r}")
        self.labels = _choose(self.label, LABELS, "label")
        self.splits = _choose(self.split, SPLITS, "split")
        self.meta = SeamlessMetadata.load(self.root, self.metadata_dir)
        self._locations: dict[str, set[tuple[str, str]]] = {}
        self._copies: dict[tuple[str, str, str], list[str]] = {}
        self._dyads = self._discover()
        self._find_location_faults()

    def _skip(self, path, reason: str) -> None:
        if self.strict:
            raise DatasetError(path, reason)
        self.skipped.append(Skip(str(path), reason))

    def _stores(self, label: str, split: str) -> Iterator[tuple[int, int, LooseStore | TarStore | FeatureFilesStore]]:
        base = self.root / label / split
        if not base.is_dir():
            return
        if self.source in ("auto", "files") and is_files_layout(base):
            yield 0, 0, FeatureFilesStore(base)
        if self.source == "files":
            return
        for batch_dir in sorted(p for p in base.iterdir() if p.is_dir() and p.name.isdigit()):
            archives: dict[int, LooseStore | TarStore] = {}
            if self.source in ("auto", "shards"):
                for tar in sorted(batch_dir.glob("*.tar")):
                    if tar.stem.isdigit():
                        archives[int(tar.stem)] = TarStore(tar)
            if self.source in ("auto", "loose"):
                for folder in sorted(p for p in batch_dir.iterdir() if p.is_dir() and p.name.isdigit()):
                    archives[int(folder.name)] = LooseStore(folder)  # extracted wins under "auto"
            for archive, store in sorted(archives.items()):
                yield int(batch_dir.name), archive, store

    def _discover(self) -> list[Dyad]:
        dyads: list[Dyad] = []
        for label in self.labels:
            for split in self.splits:
                groups: dict[str, list[Participant]] = {}
                for batch, archive, store in self._stores(label, split):
                    try:
                        names = store.names()
                    except DatasetError as exc:
                        self._skip(exc.path, exc.problem)
                        continue
                    stems: dict[str, list[str]] = {}
                    for name in names:
                        stem, _, ext = name.partition(".")
                        if ext in EXTENSIONS:
                            stems.setdefault(stem, []).append(ext)
                    for stem, exts in sorted(stems.items()):
                        try:
                            fid = FileId.parse(stem)
                        except ValueError as exc:
                            self._skip(store.label(stem), f"unknown id pattern ({exc})")
                            continue
                        self._locations.setdefault(stem, set()).add((label, split))
                        copies = self._copies.setdefault((label, split, stem), [])
                        copies.append(store.label(stem))
                        if len(copies) > 1:
                            continue  # one id in two archives (#18): the dyad is marked faulty, the first copy kept
                        missing = [e for e in ("npz", "json") if e not in exts]
                        if missing:
                            self._skip(store.label(stem), f"bundle lacks .{' and .'.join(missing)}")
                            continue
                        p = Participant(fid, label, split, batch, archive, store, tuple(sorted(exts)),
                                        self.meta.participant(fid.vendor, fid.participant))
                        if self.meta.has("participants") and p.metadata_row is None:
                            self.problems.append(Skip(store.label(stem), "missing metadata row in participants.csv"))
                        groups.setdefault(fid.interaction_key, []).append(p)
                for key, members in sorted(groups.items()):
                    dyads.extend(self._pair(key, label, split, members))
        return dyads

    def _find_location_faults(self) -> None:
        """Ids in several label/split folders (on disk anywhere under the root, or in filelist.csv),
        in two archives, or on disk and in filelist.csv disagreeing (``seamless_faults``)."""
        read = {(label, split) for label in self.labels for split in self.splits}
        for label in LABELS:
            for split in SPLITS:
                if (label, split) in read:
                    continue
                for _, _, store in self._stores(label, split):
                    try:
                        names = store.names()
                    except DatasetError:
                        continue  # an unreadable archive of a split not being read is that split's problem
                    for name in names:
                        stem, _, ext = name.partition(".")
                        if ext in EXTENSIONS:
                            self._locations.setdefault(stem, set()).add((label, split))
        listed = None
        if self.meta.has("filelist"):
            listed = {}
            for row in self.meta.tables["filelist"].to_dict("records"):
                listed.setdefault(str(row["file_id"]).strip(), set()).add((str(row["label"]).strip(), str(row["split"]).strip()))
        present = {(label, split) for label, split in read if (self.root / label / split).is_dir()}
        self.faults = location_faults(self._locations, listed, self._copies, present)
        by_id: dict[str, list[Fault]] = {}
        for f in self.faults:
            for fid in f.file_ids:
                by_id.setdefault(fid, []).append(f)
        for d in self._dyads:
            d.faults = [f for p in d.participants for f in by_id.get(p.id, []) if f.kind != "missing-on-disk"]

    def dyad_faults(self, dyad: Dyad) -> list[Fault]:
        """Every fault of a dyad: where its ids sit, and its records' rates, lengths and promised
        features (headers only; computed once per dyad)."""
        if not hasattr(dyad, "_record_faults"):
            dyad._record_faults = record_faults(dyad, self.meta.file)
        return dyad.faults + dyad._record_faults

    def missing_on_disk(self, label: str | None = None, split: str | None = None) -> list[Fault]:
        return [f for f in self.faults if f.kind == "missing-on-disk"
                and (label is None or f.where.split("/")[0] == label) and (split is None or f.where.split("/")[1] == split)]

    def _pair(self, key: str, label: str, split: str, members: list[Participant]) -> list[Dyad]:
        members = sorted(members, key=lambda p: p.id)
        if len(members) != 2:
            reason = "missing partner of a dyad" if len(members) == 1 else f"{len(members)} participants share one interaction"
            self._skip(members[0].source_label("npz"), f"{reason} ({key}: {[m.id for m in members]})")
            return []
        fid = members[0].file_id
        rel = self.meta.relationship(fid.vendor, fid.session)
        inter = self.meta.interaction(fid.interaction)
        if self.meta.has("relationships") and rel is None:
            self.problems.append(Skip(key, "missing metadata row in relationships.csv"))
        return [Dyad(key, label, split, (members[0], members[1]), rel, inter)]

    def __iter__(self) -> Iterator[Dyad]:
        return iter(self._dyads)

    def __len__(self) -> int:
        return len(self._dyads)

    def __getitem__(self, key: str) -> Dyad:
        for d in self._dyads:
            if d.key == key:
                return d
        raise KeyError(f"no dyad {key!r} under {self.root}")

    def participants(self) -> Iterator[Participant]:
        for d in self._dyads:
            yield from d.participants


def _choose(value, allowed: tuple[str, ...], name: str) -> tuple[str, ...]:
    if value is None:
        return allowed
    chosen = (value,) if isinstance(value, str) else tuple(value)
    bad = [v for v in chosen if v not in allowed]
    if bad:
        raise ValueError(f"{name}: unknown {bad}; expected one of {list(allowed)}")
    return chosen


def _stat_identity(path: Path) -> str:
    st = path.stat()
    return f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}"
