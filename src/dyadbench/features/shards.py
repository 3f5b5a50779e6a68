"""Feature extraction over whole shards, on any engine, resumable, with exact dataset statistics.

The unit of work is a *shard*: one WebDataset tar (``<label>/<split>/<batch>/<archive>.tar``),
or the folder an archive was extracted to, or one RealTalk ``videos_<xx>.tar``. A worker
(``ShardExtractor``, an actor: models are built once per worker) extracts every video of a shard
into the feature cache, accumulates the per-frame features of each extractor into a
``RunningStats`` and writes the shard's completion record (``ShardLedger``) last.

Determinism: per-shard statistics are merged on the driver in shard-key order, never in
completion order, so the merged mean and covariance are bit-identical whichever engine ran the
shards, in whatever order, on however many workers. (Merging per-*worker* accumulators instead
would make the result depend on which worker got which shard, and would lose a dead worker's
partial sums.)
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from ..datasets.errors import DatasetError
from ..metrics.frechet import RunningStats
from .cache import FeatureCache, ShardLedger
from .jobs import VideoExtractor, VideoRef, extract_ref, video_refs


@dataclass(frozen=True)
class Shard:
    key: str  # path relative to the dataset root
    refs: tuple[VideoRef, ...]
    fingerprint: str  # names, sizes and mtimes of its files: a changed shard is extracted again


def _fingerprint(files: list[Path]) -> str:
    # Stat, not content: hashing a 1.1 GiB tar only to learn it can be skipped would cost
    # hours over the release. Content hashes still key every cached feature.
    h = hashlib.sha1()
    for f in sorted(files):
        st = f.stat()
        h.update(f"{f.name}:{st.st_size}:{st.st_mtime_ns};".encode())
    return h.hexdigest()


def list_shards(root: Path, source: str = "auto") -> list[Shard]:
    """The shards of a dataset root, sorted by key."""
    root = Path(root)
    groups: dict[str, list[VideoRef]] = {}
    for ref in video_refs(root, source):
        where = Path(ref.path) if ref.member else Path(ref.path).parent
        groups.setdefault(os.path.relpath(where, root), []).append(ref)
    shards = []
    for key, refs in sorted(groups.items()):
        files = sorted({Path(r.path) for r in refs})
        shards.append(Shard(key, tuple(sorted(refs, key=lambda r: r.label)), _fingerprint(files)))
    return shards


def shards_from_file_list(list_file: Path, per_shard: int = 50) -> list[Shard]:
    """Shards from a text file of video paths (one per line; ``#`` comments and blank lines
    ignored; relative paths are relative to the list), ``per_shard`` consecutive videos each."""
    list_file = Path(list_file)
    if per_shard < 1:
        raise ValueError(f"per_shard: expected >= 1, got {per_shard}")
    paths = []
    for n, line in enumerate(list_file.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        path = (list_file.parent / line).resolve()
        if not path.is_file():
            raise DatasetError(list_file, f"line {n}: {line!r} is not a file")
        paths.append(path)
    if len(set(paths)) != len(paths):
        raise DatasetError(list_file, "lists a video more than once")
    if not paths:
        raise DatasetError(list_file, "lists no videos")
    shards = []
    for start in range(0, len(paths), per_shard):
        chunk = paths[start : start + per_shard]
        refs = tuple(VideoRef(p.stem, str(p)) for p in chunk)
        shards.append(Shard(f"{list_file.name}:{start // per_shard:05d}", refs, _fingerprint(chunk)))
    return shards


def extractor_versions(names: list[str]) -> list[tuple[str, int]]:
    from .video import EXTRACTORS

    unknown = [n for n in names if n not in EXTRACTORS]
    if unknown:
        raise ValueError(f"extractors: unknown {unknown}; choose from {sorted(EXTRACTORS)}")
    return [(n, EXTRACTORS[n].version) for n in names]


class ShardExtractor(VideoExtractor):
    """One worker: extractors built once, then whole shards, each ending in a completion record."""

    def __init__(self, names: list[str], cache_root: str | None, device: str = "cpu", batch_size: int = 32,
                 decode_threads: int = 0):
        super().__init__(names, cache_root, device, batch_size, decode_threads)
        self.ledger = ShardLedger(self.cache, extractor_versions(names))

    def __call__(self, shard: Shard) -> dict:
        done = self.ledger.read(shard.key, shard.fingerprint)
        if done is not None:  # a retried job whose first attempt finished before its worker died
            return {"key": shard.key, "status": "cached", **done}
        stats: dict[str, RunningStats] = {}
        rows = []
        with self.ledger.running(shard.key):
            for ref in shard.refs:
                try:
                    row, results = extract_ref(ref, self.extractors, self.cache, self.batch_size, self.decode_threads)
                except DatasetError as exc:  # a broken video (the release has some) must not stop 10 TB
                    rows.append({"shard": shard.key, "id": ref.id, "error": str(exc)})
                    continue
                rows.append({"shard": shard.key, **row})
                # One BLAS thread: a product's summation order then does not depend on the process
                # (Ray pins its actors to one thread, a local pool's processes have the default),
                # so a shard's statistics are bit-identical on every engine.
                with threadpool_limits(1):
                    for ex in self.extractors:
                        if ex.stats_key is None:
                            continue
                        x = np.asarray(results[ex.name][ex.stats_key], dtype=np.float64)
                        x = x.reshape(len(x), -1)
                        x = x[np.isfinite(x).all(axis=1)]  # frames without a face / body carry NaN rows
                        if len(x):
                            stats.setdefault(ex.name, RunningStats(x.shape[1])).update(x, name=f"{ref.label} {ex.name}")
            states = {name: s.to_state() for name, s in stats.items()}
            self.ledger.write(shard.key, shard.fingerprint, rows, states)
        return {"key": shard.key, "status": "computed", "rows": rows, "stats": states}


@dataclass
class Extraction:
    rows: list[dict]
    stats: dict[str, RunningStats]
    computed: list[str] = field(default_factory=list)  # shard keys extracted by this run
    skipped: list[str] = field(default_factory=list)  # shard keys already recorded as finished


def _extractor_kwargs(names, cache_root, engine, workers, address, device, batch_size, decode_threads) -> tuple[dict, float]:
    """``ShardExtractor`` arguments and GPUs per actor. Decoding: one thread per worker of a pool (a
    worker is one core), FFmpeg's choice (one per core) for a lone local worker, unless asked for."""
    device, gpus = _placement(engine, device, address, workers)
    if decode_threads is None:
        decode_threads = 0 if engine == "local" and workers == 1 else 1
    return {"names": names, "cache_root": cache_root, "device": device, "batch_size": batch_size,
            "decode_threads": decode_threads}, gpus


def shard_pool(names: list[str], cache_root: str | None = None, *, engine: str = "local", workers: int | None = None,
               address: str | None = None, device: str = "cpu", batch_size: int = 32, decode_threads: int | None = None):
    """Extractor actors built once (models loaded) for any number of ``extract_shards(..., pool=)``
    runs with the same extractors and cache."""
    from ..engine import ActorPool

    kwargs, gpus = _extractor_kwargs(names, cache_root, engine, workers, address, device, batch_size, decode_threads)
    return ActorPool(ShardExtractor, kwargs, engine=engine, workers=workers, address=address, gpus_per_worker=gpus)


def extract_shards(shards: list[Shard], names: list[str], cache_root: str | None = None, *, engine: str = "local",
                   workers: int | None = None, address: str | None = None, device: str = "cpu", batch_size: int = 32,
                   progress: Callable[[str], None] | None = None, pool=None, decode_threads: int | None = None) -> Extraction:
    """Extract ``names`` over ``shards`` (finished ones are skipped) and merge their statistics.

    ``pool`` (from ``shard_pool`` with the same ``names`` and ``cache_root``) runs the shards on
    actors that are already built; otherwise a pool is started for this run."""
    from ..engine import run_actors

    keys = [s.key for s in shards]
    if len(set(keys)) != len(keys):
        raise ValueError("shards: duplicate shard keys")
    ledger = ShardLedger(FeatureCache(cache_root), extractor_versions(names))
    results: dict[str, dict] = {}
    for shard in shards:
        record = ledger.read(shard.key, shard.fingerprint)
        if record is not None:
            results[shard.key] = {"key": shard.key, "status": "skipped", **record}
            if progress:
                progress(shard.key)
    # Largest shards first (bytes read as a proxy of work): the last shards dealt are short, so no
    # worker finishes long after the others (dealt in key order, the benchmark's alternating 5 s /
    # 1.6 s shards leave one of 2 workers idle ~0.5 s of a 20 s run). Results are merged in key
    # order below, so the order changes no number.
    pending = sorted((s for s in shards if s.key not in results), key=lambda s: -_bytes_read(s))
    if pool is not None:
        if pool.worker_cls is not ShardExtractor or (pool.kwargs["names"], pool.kwargs["cache_root"]) != (names, cache_root):
            raise ValueError(f"pool: built for {pool.kwargs.get('names')} on cache {pool.kwargs.get('cache_root')!r}, "
                             f"not for {names} on {cache_root!r}")
        outcomes = pool.run(pending)
    else:
        kwargs, gpus = _extractor_kwargs(names, cache_root, engine, workers, address, device, batch_size, decode_threads)
        outcomes = run_actors(ShardExtractor, kwargs, pending, engine=engine, workers=workers, address=address,
                              gpus_per_worker=gpus)
    for i, result in outcomes:
        if result["key"] != pending[i].key:
            raise RuntimeError(f"engine returned shard {result['key']!r} for job {pending[i].key!r}")
        results[result["key"]] = result
        if progress:
            progress(result["key"])
    missing = [k for k in keys if k not in results]
    if missing:
        raise RuntimeError(f"shards without a result: {missing}")
    merged: dict[str, RunningStats] = {}
    for key in sorted(keys):  # fixed order: identical numbers on every engine
        for name, state in results[key]["stats"].items():
            part = RunningStats.from_state(state)
            merged.setdefault(name, RunningStats(part.dim)).merge(part)
    rows = [row for key in keys for row in results[key]["rows"]]
    return Extraction(rows, merged, [k for k in keys if results[k]["status"] != "skipped"],
                      [k for k in keys if results[k]["status"] == "skipped"])


def _bytes_read(shard: Shard) -> int:
    """Bytes of the files a shard reads (a tar counted once)."""
    return sum(os.stat(path).st_size for path in {ref.path for ref in shard.refs})


def _placement(engine: str, device: str, address: str | None, workers: int | None) -> tuple[str, float]:
    """Device for the workers and GPUs per Ray actor: GPU actors when asked for, or when
    ``auto`` finds GPUs in the Ray cluster."""
    if engine != "ray":
        return device, 0.0
    if device == "auto":
        from ..scale.ray_engine import connect

        device = "cuda" if connect(address, workers).cluster_resources().get("GPU", 0) > 0 else "cpu"
    return device, 1.0 if device == "cuda" else 0.0


def write_stats(path: Path, stats: dict[str, RunningStats]) -> Path:
    """Dataset statistics per extractor: ``<name>.n``, ``<name>.mean``, ``<name>.cov`` (float64),
    the reference side of a Fréchet distance (``FrechetReference.from_stats``)."""
    arrays = {}
    for name, s in stats.items():
        arrays.update({f"{name}.n": np.asarray(s.n), f"{name}.mean": s.mean, f"{name}.cov": s.cov})
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays)
    return Path(path)
