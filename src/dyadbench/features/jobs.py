"""Extraction jobs over a dataset root: one picklable job per video, run by any engine.

A ``VideoRef`` names a video by path, or by tar shard + member, so a worker process (or a Ray
actor on another machine) reads the bytes itself; nothing large crosses process boundaries.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..datasets.refs import VideoRef
from .cache import FeatureCache, content_hash


def video_refs(root: Path, source: str = "auto") -> list[VideoRef]:
    """Every video of a Seamless Interaction or RealTalk root (the layout is detected).
    ``source`` chooses Seamless loose files or tar shards (see ``SeamlessInteraction``)."""
    from ..datasets.inventory import detect_dataset

    root = Path(root)
    refs = []
    if detect_dataset(root) == "seamless":
        from ..datasets.seamless import SeamlessInteraction

        for p in SeamlessInteraction(root, source=source).participants():
            if "mp4" in p.extensions:
                refs.append(p.video_ref())
    else:
        from ..datasets.realtalk import RealTalk

        ds = RealTalk(root)
        refs.extend(ds.video_ref(vid) for vid in ds.video_ids())
    return refs


def build_extractors(names: list[str], device: str = "auto", weights: dict | None = None):
    from .video import EXTRACTORS, VIDEO_FD_EXTRACTORS

    unknown = [n for n in names if n not in EXTRACTORS]
    if unknown:
        raise ValueError(f"extractors: unknown {unknown}; choose from {sorted(EXTRACTORS)}")
    out = []
    for name in names:  # the networks with weights (FID's Inception, FVD's I3D) take a path and a device
        cls = EXTRACTORS[name]
        out.append(cls(path=(weights or {}).get(name), device=device) if name in VIDEO_FD_EXTRACTORS else cls())
    return out


class VideoExtractor:
    """One worker (an actor under Ray): extractors built once, then ``worker(ref)`` extracts (or
    fetches from the cache) every named feature of one video and returns a summary row."""

    def __init__(self, names: list[str], cache_root: str | None, device: str = "cpu", batch_size: int = 32,
                 decode_threads: int = 0):
        self.extractors = build_extractors(names, device)
        self.cache = FeatureCache(cache_root)
        self.batch_size = batch_size
        self.decode_threads = decode_threads  # 0: one per core (a lone worker); 1 in a pool of workers

    @staticmethod
    def versions(names: list[str]) -> dict[str, int]:
        """Each extractor's cache version (bumped by the extractor when its output changes)."""
        from .video import EXTRACTORS

        return {name: EXTRACTORS[name].version for name in names}

    def __call__(self, ref: VideoRef) -> dict:
        return extract_ref(ref, self.extractors, self.cache, self.batch_size, self.decode_threads)[0]


def extract_ref(ref: VideoRef, extractors: list, cache: FeatureCache, batch_size: int = 32,
                decode_threads: int = 0) -> tuple[dict, dict]:
    """Features of one video with already-built extractors: ``(summary row, {name: arrays})``."""
    from .video import extract_video

    src = ref.source()
    key = content_hash(src if isinstance(src, bytes) else Path(src))
    hits = cache.hits
    results = extract_video(src, extractors, cache=cache, input_hash=key, batch_size=batch_size, label=ref.label,
                            decode_threads=decode_threads)
    cached = cache.hits - hits
    row = {"id": ref.id, "hash": key, "cached": cached, "computed": len(extractors) - cached}
    for name, arrays in results.items():
        main = next(iter(arrays.values()))
        row[f"{name}_frames"] = int(main.shape[0])
        flat = main.reshape(main.shape[0], -1) if main.ndim > 1 else main[:, None]
        if flat.dtype.kind == "f":
            row[f"{name}_valid"] = float(np.isfinite(flat).all(axis=1).mean()) if len(flat) else 0.0
    return row, results
