"""RealTalk reader: videos, ASR, active-speaker annotations, EMOCA, embeddings and 15.36 s clips.

Release layout (Hugging Face ``scottgeng00/realtalk``): ``videos/videos_<xx>.tar`` of
``<video_id>.avi`` (25 fps), and ``audio``/``asr``/``annotations``/``emoca``/``embeddings``
``.tar.gz`` archives. Each ``.tar.gz`` is used as an extracted folder of the same name when one
exists under the root, else extracted once into the cache (``$DYADBENCH_CACHE``, default
``~/.cache/dyadbench``). Videos are read straight from their tar shards.

Clip protocol (Geng et al. 2023): non-overlapping 384-frame (15.36 s) windows from frame 0; the
speaker is the person annotated ``current_speaker`` on the most frames of the window, if on at
least ``min_speaker_fraction`` of them (else the window is skipped with the reason); the other
person is the listener. Split: clips are ordered by SHA-1 of their id, the first
round(n · 1489/1896) are ``train``, the rest ``eval``; the retrieval ``bank`` is all clips
(1,489 / 407 / 1,896 on the full release; proportional and deterministic on smaller data).
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path

import numpy as np

from ..storage import content_hash
from . import media
from .errors import DatasetError, Skip
from .refs import VideoRef
from .stores import TarStore

FPS = 25.0
CLIP_FRAMES = 384  # 15.36 s
TRAIN_FRACTION = 1489 / 1896
ROLES = ("p0", "p1")
ARCHIVES = ("audio", "asr", "annotations", "emoca", "embeddings")
EMOCA_DIMS = {"expression": 50, "pose": 6, "shape": 100}


def train_count(n_clips: int) -> int:
    """Clips in the train split for ``n_clips`` in all: 1,489 of 1,896 on the full release."""
    return int(round(n_clips * TRAIN_FRACTION))


def cache_root() -> Path:
    return Path(os.environ.get("DYADBENCH_CACHE", Path.home() / ".cache" / "dyadbench"))


@dataclass(frozen=True, eq=False)
class Clip:
    """A 15.36 s window of one video with speaker/listener roles; arrays load lazily."""

    dataset: RealTalk = field(repr=False)
    video_id: str
    start: int
    speaker: str
    split: str
    n_frames: int = CLIP_FRAMES

    @property
    def id(self) -> str:
        return f"{self.video_id}_{self.start:06d}"

    @property
    def listener(self) -> str:
        return "p1" if self.speaker == "p0" else "p0"

    @property
    def stop(self) -> int:
        return self.start + self.n_frames

    def motion(self, role: str) -> np.ndarray:
        """(384, 56) EMOCA expression 50 ‖ pose 6 of ``role`` (Learning2Listen order)."""
        return self.dataset.emoca(self.video_id)[_role(role)][self.start : self.stop]

    def video_ref(self) -> VideoRef:
        """The clip's video (the whole file: a clip is a frame range of it)."""
        return self.dataset.video_ref(self.video_id)

    def speaker_motion(self) -> np.ndarray:
        return self.motion(self.speaker)

    def listener_motion(self) -> np.ndarray:
        return self.motion(self.listener)

    def embeddings(self, role: str) -> np.ndarray:
        return self.dataset.embeddings(self.video_id)[_role(role)][self.start : self.stop]

    def frames(self, *, batch_size: int = 64, step: int = 1) -> Iterator[np.ndarray]:
        """The clip's RGB frames (every ``step``-th from its first)."""
        return self.dataset.iter_frames(self.video_id, start=self.start, stop=self.stop, batch_size=batch_size, step=step)

    def person_box(self, role: str) -> tuple[int, int, int, int]:
        """A square around ``role``'s median annotated box over the clip, 1.6x its larger side."""
        ann = self.dataset.annotations(self.video_id)
        boxes = np.array([ann[t]["people"][role]["bbox"] for t in range(self.start, self.stop)
                          if role in (ann.get(t) or {}).get("people", {})], dtype=np.float64)
        if not len(boxes):
            raise DatasetError(self.id, f"no annotated box for {role} in the clip: cannot crop the face")
        x1, y1, x2, y2 = np.median(boxes, axis=0)
        cx, cy, half = (x1 + x2) / 2, (y1 + y2) / 2, 0.8 * max(x2 - x1, y2 - y1)
        return int(round(cx - half)), int(round(cy - half)), int(round(cx + half)), int(round(cy + half))

    def person_frames(self, role: str, *, size: int = 224, step: int = 1) -> np.ndarray:
        """(frames, size, size, 3): every ``step``-th frame cropped around ``role`` (black past the
        picture's edges), resized to ``size`` px."""
        from PIL import Image

        x1, y1, x2, y2 = self.person_box(role)
        out = []
        for batch in self.frames(step=step):
            h, w = batch.shape[1:3]
            pad = max(0, -x1, -y1, x2 - w, y2 - h)
            if pad:
                batch = np.pad(batch, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
            crop = batch[:, y1 + pad : y2 + pad, x1 + pad : x2 + pad]
            out.extend(np.asarray(Image.fromarray(f).resize((size, size), Image.BILINEAR)) for f in crop)
        return np.stack(out)

    def words(self) -> list[dict]:
        t0, t1 = self.start / FPS, self.stop / FPS
        return [w for w in self.dataset.words(self.video_id) if w["start"] < t1 and w["end"] > t0]

    def audio(self) -> tuple[np.ndarray, int]:
        samples, sr = self.dataset.audio(self.video_id)
        return samples[int(self.start / FPS * sr) : int(self.stop / FPS * sr)], sr


def _role(role: str) -> str:
    if role not in ROLES:
        raise ValueError(f"role: expected 'p0' or 'p1', got {role!r}")
    return role


class RealTalk:
    """A RealTalk root: per-video accessors and the clip protocol (see module docstring)."""

    def __init__(self, root: Path, *, cache_dir: Path | None = None, min_speaker_fraction: float = 0.5):
        self.root = Path(root)
        if not self.root.is_dir():
            raise DatasetError(self.root, "dataset root is not a folder")
        self.cache_dir = Path(cache_dir) if cache_dir else cache_root()
        self.min_speaker_fraction = float(min_speaker_fraction)
        self.skipped: list[Skip] = []
        self._videos = self._index_videos()
        self._clips: list[Clip] | None = None

    # -- files ---------------------------------------------------------------------------------
    def _index_videos(self) -> dict[str, tuple[TarStore | None, Path]]:
        folder = self.root / "videos"
        if not folder.is_dir():
            raise DatasetError(folder, "missing videos/ folder (expected videos_<xx>.tar shards of <video_id>.avi)")
        videos: dict[str, tuple[TarStore | None, Path]] = {}
        for tar in sorted(folder.glob("videos_*.tar")):
            store = TarStore(tar)
            try:
                names = store.names()
            except DatasetError as exc:
                self.skipped.append(Skip(exc.path, exc.problem))
                continue
            for name in names:
                if name.endswith(".avi"):
                    videos[name[:-4]] = (store, tar)
        for avi in sorted(folder.glob("*.avi")):  # already extracted shards
            videos[avi.stem] = (None, avi)
        return videos

    def archive_dir(self, name: str) -> Path:
        """Folder holding ``<name>/...`` members: an extracted folder, or the cached extraction."""
        extracted = self.root / name
        if extracted.is_dir():
            return self.root
        archive = self.root / f"{name}.tar.gz"
        if not archive.exists():
            raise DatasetError(archive, f"missing {name}.tar.gz (and no extracted {name}/ folder)")
        st = archive.stat()
        tag = hashlib.sha1(f"{archive.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()[:16]
        target = self.cache_dir / "realtalk" / tag
        done = target / f".{name}.complete"
        if not done.exists():
            target.mkdir(parents=True, exist_ok=True)
            try:
                with tarfile.open(archive, "r:gz") as tf:
                    tf.extractall(target, filter="data")
            except (tarfile.TarError, OSError, EOFError) as exc:
                raise DatasetError(archive, f"unreadable archive ({exc})") from exc
            done.touch()
        return target

    def _member(self, archive: str, video_id: str, ext: str) -> Path:
        path = self.archive_dir(archive) / archive / f"{video_id}.{ext}"
        if not path.exists():
            raise DatasetError(self.root / f"{archive}.tar.gz", f"no member {archive}/{video_id}.{ext}")
        return path

    def video_ids(self) -> list[str]:
        return sorted(self._videos)

    def video_source(self, video_id: str):
        if video_id not in self._videos:
            raise KeyError(f"no video {video_id!r} under {self.root / 'videos'}")
        store, path = self._videos[video_id]
        return (store.read(f"{video_id}.avi"), store.label(f"{video_id}.avi")) if store else (path, str(path))

    @cache
    def video_hash(self, video_id: str) -> str:
        """Content hash of the video (computed once per video; keys feature caches)."""
        src, _ = self.video_source(video_id)
        return content_hash(src)

    def video_ref(self, video_id: str) -> VideoRef:
        """A picklable reference to the video file (a path, or its tar shard and member)."""
        if video_id not in self._videos:
            raise KeyError(f"no video {video_id!r} under {self.root / 'videos'}")
        store, path = self._videos[video_id]
        return VideoRef(video_id, str(path)) if store is None else VideoRef(video_id, str(path), f"{video_id}.avi")

    def video_info(self, video_id: str) -> media.VideoInfo:
        store, path = self._videos[video_id]
        if store is None:
            info, label = media.probe_video(path), str(path)
        else:
            label = store.label(f"{video_id}.avi")
            with store.open(f"{video_id}.avi") as f:  # headers only: no need to read the member
                info = media.probe_video(f, label=label)
        if abs(info.fps - FPS) > 0.01:
            raise DatasetError(label, f"frame rate {info.fps:.3f} fps, expected {FPS:g}")
        return info

    def iter_frames(self, video_id: str, *, start: int = 0, stop: int | None = None, batch_size: int = 64, step: int = 1):
        self.video_info(video_id)
        src, label = self.video_source(video_id)
        return media.iter_frames(src, start=start, stop=stop, batch_size=batch_size, label=label, step=step)

    # -- per-video annotations -----------------------------------------------------------------
    @lru_cache(maxsize=64)
    def annotations(self, video_id: str) -> dict[int, dict]:
        path = self._member("annotations", video_id, "json")
        try:
            raw = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise DatasetError(path, f"invalid json ({exc})") from exc
        out = {}
        for key, entry in raw.items():
            if not str(key).isdigit() or not isinstance(entry, dict):
                raise DatasetError(path, f"expected frame-index keys with objects, got {key!r}")
            speaker = entry.get("current_speaker")
            if speaker not in (None, "p0", "p1"):
                raise DatasetError(path, f"frame {key}: current_speaker must be 'p0', 'p1' or null, got {speaker!r}")
            out[int(key)] = entry
        return out

    @lru_cache(maxsize=64)  # a clip list visits each video's clips apart: keep a whole sample's videos
    def emoca(self, video_id: str) -> dict[str, np.ndarray]:
        """Per role, (frames, 56) expression 50 ‖ pose 6; frames without a face are NaN rows."""
        path = self._member("emoca", video_id, "pkl")
        try:
            with open(path, "rb") as f:
                raw = pickle.load(f)  # the release's own format; only open archives you trust
        except (pickle.UnpicklingError, EOFError, OSError) as exc:
            raise DatasetError(path, f"unreadable pickle ({exc})") from exc
        n = max(int(k) for k in raw) + 1 if raw else 0
        out = {role: np.full((n, 56), np.nan, np.float32) for role in ROLES}
        for frame, people in raw.items():
            for role, params in (people or {}).items():
                if role not in ROLES or params is None:
                    continue
                for name, dim in (("expression", 50), ("pose", 6)):
                    arr = np.asarray(params.get(name), dtype=np.float32).reshape(-1)
                    if arr.shape != (dim,) or not np.isfinite(arr).all():
                        raise DatasetError(path, f"frame {frame} {role}: {name} must be {dim} finite values, got {arr.shape}")
                out[role][int(frame)] = np.concatenate([np.asarray(params["expression"]).reshape(-1), np.asarray(params["pose"]).reshape(-1)])
        return out

    @lru_cache(maxsize=16)
    def embeddings(self, video_id: str) -> dict[str, np.ndarray]:
        path = self._member("embeddings", video_id, "npz")
        try:
            with np.load(path, allow_pickle=False) as z:
                return {role: z[role] for role in ROLES}
        except (KeyError, ValueError, OSError) as exc:
            raise DatasetError(path, f"expected arrays 'p0' and 'p1' ({exc})") from exc

    @lru_cache(maxsize=64)
    def words(self, video_id: str) -> list[dict]:
        path = self._member("asr", video_id, "json")
        try:
            doc = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise DatasetError(path, f"invalid json ({exc})") from exc
        if "segments" not in doc:
            raise DatasetError(path, "expected a Whisper-style object with 'segments'")
        words = []
        for seg in doc["segments"]:
            for w in seg.get("words") or [{"word": seg["text"], "start": seg["start"], "end": seg["end"]}]:
                words.append({"word": w["word"].strip(), "start": float(w["start"]), "end": float(w["end"])})
        return words

    def audio(self, video_id: str) -> tuple[np.ndarray, int]:
        path = self._member("audio", video_id, "wav")
        return media.read_audio(path, label=str(path))

    # -- clips ---------------------------------------------------------------------------------
    def clips(self) -> list[Clip]:
        if self._clips is None:
            self._clips = self._build_clips()
        return self._clips

    def _build_clips(self) -> list[Clip]:
        windows = []
        for vid in self.video_ids():
            try:
                ann = self.annotations(vid)
            except DatasetError as exc:
                self.skipped.append(Skip(exc.path, exc.problem))
                continue
            n = max(ann) + 1 if ann else 0
            for start in range(0, n - CLIP_FRAMES + 1, CLIP_FRAMES):
                counts = {r: 0 for r in ROLES}
                for t in range(start, start + CLIP_FRAMES):
                    who = ann.get(t, {}).get("current_speaker")
                    if who in counts:
                        counts[who] += 1
                speaker = max(ROLES, key=counts.get)
                if counts[speaker] < self.min_speaker_fraction * CLIP_FRAMES:
                    self.skipped.append(Skip(f"{vid}_{start:06d}", f"no clear speaker ({counts} of {CLIP_FRAMES} frames)"))
                    continue
                windows.append((vid, start, speaker))
        order = sorted(range(len(windows)), key=lambda i: hashlib.sha1(f"{windows[i][0]}_{windows[i][1]:06d}".encode()).hexdigest())
        n_train = train_count(len(windows))
        train = set(order[:n_train])
        return [Clip(self, vid, start, spk, "train" if i in train else "eval") for i, (vid, start, spk) in enumerate(windows)]

    def split(self, name: str) -> list[Clip]:
        """``train``, ``eval`` or ``bank`` (all clips, the retrieval bank)."""
        if name == "bank":
            return list(self.clips())
        if name not in ("train", "eval"):
            raise ValueError(f"split: expected 'train', 'eval' or 'bank', got {name!r}")
        return [c for c in self.clips() if c.split == name]

    def clip(self, clip_id: str) -> Clip:
        for c in self.clips():
            if c.id == clip_id:
                return c
        raise KeyError(f"no clip {clip_id!r}")
