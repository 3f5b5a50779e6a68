"""Dyadic training windows for PyTorch: aligned, fixed-length windows of both people of a dyad.

``DyadicWindows(root, task=...)`` is an ``IterableDataset`` over any layout the readers accept
(Seamless tar shards streamed without unpacking, extracted folders, the features-only per-file
layout; RealTalk clips). Each window is a dict of tensors::

    target        (W, D)  the generated person's motion in the task's feature space
    partner       (W, D)  the other person's motion (RealTalk: the speaker; target is the listener)
    target_valid  (W,)    bool: frames the release marks valid (RealTalk: a face was fitted)
    partner_valid (W,)    bool
    target_audio  (W, M)  log-mel of the target's audio averaged per motion frame
    partner_audio (W, M)  the partner's (RealTalk has one mixed track: both are the mix)
    item_id, start        the evaluation item the window comes from and its first frame

Sharding: items (not windows) are dealt to ``world_size × num_workers`` shards — shard
``rank · num_workers + worker`` takes every such item of the (seeded, per-epoch) item order — so
every window of a split is yielded exactly once across DataLoader workers and distributed ranks
(``torch.distributed`` when initialised, else ``RANK``/``WORLD_SIZE``; Ray Train sets both).
Within a shard a seeded shuffle buffer mixes windows of several items. The same seed and epoch
give the same order. Items are read whole (one participant's arrays are small: 128 × 30 Hz ×
float32 is 15 KB/s) and dropped after their windows are yielded unless ``cache=True``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from ..features.audio import log_mel_at_rate
from ..tasks.registry import Task, get_task

N_MELS = 40


@dataclass(frozen=True)
class ItemArrays:
    """One evaluation item's aligned arrays (float32; masks bool), all ``n`` frames long."""

    item_id: str
    group: str  # what must stay on one side of a train/validation split (the dyad, the video)
    target: np.ndarray
    partner: np.ndarray
    target_valid: np.ndarray
    partner_valid: np.ndarray
    target_audio: np.ndarray
    partner_audio: np.ndarray

    @property
    def n(self) -> int:
        return len(self.target)


def _zero_invalid(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ok = np.isfinite(x).all(axis=1)
    return np.where(ok[:, None], x, 0.0).astype(np.float32), ok


class ItemSource:
    """The items of one task and split, as light references; ``load(i)`` reads item ``i``."""

    def __init__(self, task: Task, root: Path, split: str, source: str = "auto", audio: bool = True):
        self.task, self.root, self.split, self.source, self.audio = task, Path(root), split, source, audio
        if task.dataset == "seamless":
            from ..runner.items import motion_items

            self._refs = motion_items(task, self.root, split=split)
        elif task.dataset == "realtalk":
            from ..datasets.realtalk import RealTalk

            self._refs = RealTalk(self.root).split(split)
        else:
            raise ValueError(f"{task.name}: no training windows for dataset {task.dataset!r}")
        self.fps = float(task.fps)

    def __len__(self) -> int:
        return len(self._refs)

    def ids(self) -> list[str]:
        return [r.id for r in self._refs]

    def groups(self) -> list[str]:
        return [r.dyad if self.task.dataset == "seamless" else r.video_id for r in self._refs]

    def load(self, i: int) -> ItemArrays:
        ref = self._refs[i]
        if self.task.dataset == "realtalk":
            return self._load_clip(ref)
        from ..runner.items import align_length, features, valid_mask

        target = features(ref.target, self.task)
        n = len(target)
        partner_raw = features(ref.partner, self.task)
        partner = align_length(partner_raw, n)  # partner recordings differ by a few frames in the release
        t_ok = valid_mask(ref.target, self.task, n)
        p_ok = align_length(valid_mask(ref.partner, self.task, len(partner_raw))[:, None], n)[:, 0]
        audio = [self._mel(p.audio, n) for p in (ref.target, ref.partner)]
        ref.target.release()
        ref.partner.release()
        target, t_fin = _zero_invalid(target)
        partner, p_fin = _zero_invalid(partner)
        return ItemArrays(ref.id, ref.dyad, target, partner, t_ok & t_fin, p_ok & p_fin, audio[0], audio[1])

    def _mel(self, read_audio, n: int) -> np.ndarray:
        """Log-mel at the motion rate, or (n, 0) without audio (resampling and STFT are ~80 % of an
        item's read time: motion-only models skip them)."""
        if not self.audio:
            return np.zeros((n, 0), np.float32)
        return log_mel_at_rate(*read_audio(), self.fps, n, N_MELS)

    def _load_clip(self, clip) -> ItemArrays:
        target, t_ok = _zero_invalid(clip.listener_motion())
        partner, p_ok = _zero_invalid(clip.speaker_motion())
        mel = self._mel(clip.audio, len(target))
        return ItemArrays(clip.id, clip.video_id, target, partner, t_ok, p_ok, mel, mel)


def holdout(groups: list[str], fraction: float = 0.2) -> set[str]:
    """The groups (dyads, videos) held out for validation when a root has no dev split: chosen by a
    hash of the group name, so the choice does not depend on order, seed or which items exist."""
    return {g for g in set(groups) if int(hashlib.sha1(g.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF < fraction}


def distributed_rank() -> tuple[int, int]:
    """(rank, world_size) from torch.distributed when initialised, else RANK/WORLD_SIZE, else (0, 1)."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))


class DyadicWindows(IterableDataset):
    """Fixed-length windows of a task's split (see the module docstring).

    ``window`` frames per window, ``stride`` between starts (default: ``window``, so windows do
    not overlap); an item shorter than a window gives one window padded with invalid frames.
    ``items``: keep only these item ids (a train/validation split of one folder); ``audio=False``
    gives (W, 0) audio arrays and reads no audio.
    """

    def __init__(self, root: Path, *, task: str, split: str | None = None, window: int = 64, stride: int | None = None,
                 seed: int = 0, shuffle: bool = True, shuffle_buffer: int = 256, source: str = "auto",
                 rank: int | None = None, world_size: int | None = None, items: set[str] | None = None, cache: bool = False,
                 audio: bool = True):
        if window < 1 or (stride is not None and stride < 1):
            raise ValueError(f"window/stride: expected positive frame counts, got {window}/{stride}")
        self.task = get_task(task)
        self.root, self.split = Path(root), split or "train"
        self.window, self.stride = int(window), int(stride or window)
        self.seed, self.shuffle, self.shuffle_buffer, self.source = seed, shuffle, max(1, shuffle_buffer), source
        self._rank, self._world = rank, world_size
        self.items, self.cache, self.audio = items, cache, audio
        self.epoch = 0
        self._source: ItemSource | None = None
        self._cache: dict[int, ItemArrays] = {}

    def set_epoch(self, epoch: int) -> None:
        """Reshuffle for ``epoch`` (call before each epoch, as with DistributedSampler)."""
        self.epoch = int(epoch)

    @property
    def source_items(self) -> ItemSource:
        if self._source is None:  # built lazily, in the process that iterates (DataLoader workers)
            self._source = ItemSource(self.task, self.root, self.split, self.source, self.audio)
        return self._source

    def item_indices(self) -> list[int]:
        ids = self.source_items.ids()
        return [i for i, x in enumerate(ids) if self.items is None or x in self.items]

    def load(self, i: int) -> ItemArrays:
        if i in self._cache:
            return self._cache[i]
        arrays = self.source_items.load(i)
        if self.cache:
            self._cache[i] = arrays
        return arrays

    def starts(self, n: int) -> range:
        return range(0, max(1, n - self.window + 1), self.stride)

    def window_at(self, item: ItemArrays, start: int) -> dict:
        stop = min(start + self.window, item.n)
        pad = self.window - (stop - start)
        out = {}
        for key in ("target", "partner", "target_valid", "partner_valid", "target_audio", "partner_audio"):
            x = getattr(item, key)[start:stop]
            if pad:
                x = np.concatenate([x, np.zeros((pad, *x.shape[1:]), x.dtype)])
            out[key] = torch.from_numpy(np.ascontiguousarray(x))
        out["item_id"], out["start"] = item.item_id, start
        return out

    def shard(self) -> tuple[int, int]:
        """(this iterator's shard, number of shards) over ranks × DataLoader workers."""
        rank, world = distributed_rank()
        rank = self._rank if self._rank is not None else rank
        world = self._world if self._world is not None else world
        info = get_worker_info()
        wid, nw = (info.id, info.num_workers) if info is not None else (0, 1)
        return rank * nw + wid, world * nw

    def __iter__(self) -> Iterator[dict]:
        shard, n_shards = self.shard()
        order = self.item_indices()
        if self.shuffle:
            order = [order[i] for i in np.random.default_rng([self.seed, self.epoch]).permutation(len(order))]
        mine = order[shard::n_shards]
        if not self.shuffle:
            for i in mine:
                item = self.load(i)
                for s in self.starts(item.n):
                    yield self.window_at(item, s)
            return
        rng = np.random.default_rng([self.seed, self.epoch, shard])
        buffer: list[dict] = []
        for i in mine:
            item = self.load(i)
            for s in self.starts(item.n):
                buffer.append(self.window_at(item, s))
                if len(buffer) >= self.shuffle_buffer:
                    yield buffer.pop(int(rng.integers(len(buffer))))
        while buffer:
            yield buffer.pop(int(rng.integers(len(buffer))))
