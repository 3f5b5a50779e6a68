"""The motion protocol, streamed: items are read, scored and dropped one at a time, in parallel.

Two passes over the items, each a set of jobs (batches of item ids) run by one pool of workers
(``engine.actor_pool``) on local processes or Ray:

1. ground truth only: per-dim mean and variance of the valid frames (the standardization every
   standardized convention uses; merged in item-id order) and a seeded bottom-k sample of valid
   frames for what must be fitted on the ground truth (SI-diversity's clusters);
2. scoring: each item's inputs are gathered and ``metrics.aggregate.item_outputs`` gives its
   per-item values and additive statistics; the parent folds them (``metrics.aggregate.Aggregator``,
   the one engine) and keeps
   nothing per frame. Memory does not grow with frames; results do not depend on the number of
   workers, the engine, or the order items finish in.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np

from ..datasets.submission import (
    MOTION_EXT,
    SubmissionError,
    check_motion_submission,
    read_motion_item,
    submission_ids,
)
from ..metrics.aggregate import (
    ALL,
    REFERENCE_PART,
    SAMPLE_FRAMES,
    Aggregator,
    fit_sample_size,
    item_outputs,
    plan_signature,
    plan,
    prepare,
)
from ..metrics.streaming import FrameSample, item_sample, sample_cutoff
from ..storage import SpillRows
from ..datasets.manifest import item_record, manifest_doc
from .items import align_length, features, motion_items, per_frame_shapes, read_arrays, valid_mask
from ..tasks.registry import get_task

GT_SAMPLE_FRAMES = SAMPLE_FRAMES  # ground-truth frames kept for fits whose convention sets no fit_frames
ITEMS_PER_WORKER = 64  # a worker process costs about a second to start: small sets run in-process


class MotionWorker:
    """Built once per worker process; ``worker(("gt" | "gt_sample" | "score", [item ids]))`` -> per-item results."""

    def __init__(self, task: str, root: str, seed: int, submission: str | None = None, conventions: dict | None = None,
                 shared: dict | None = None, gt_sample: int = 0, score_sample: int = 0, threads: int | None = 1,
                 cache_root: str | None = None, ref_key: str | None = None, skip=(), sample_at_most: float | None = None):
        if threads:
            from threadpoolctl import threadpool_limits

            self._limits = threadpool_limits(limits=threads)  # one BLAS thread per worker process
        self.task = get_task(task)
        self.items = {it.id: it for it in motion_items(self.task, Path(root))}
        self.seed, self.shared = seed, shared or {}
        self._early_shared = dict(self.shared)
        self.submission = Path(submission) if submission else None
        self.plans = [p for p in plan(self.task.metrics, conventions) if p.name not in skip]
        self.onset_kinds = {p.conv.features["onsets"] for p in self.plans if "onsets" in p.conv.features}
        self.gt_sample, self.score_sample = gt_sample, score_sample
        self.sample_at_most = sample_at_most  # the score sample's cut-off priority, known from the ground-truth pass
        self.cache_root = cache_root
        self.ref_key = ref_key  # the data manifest's hash, seed and conventions: the ground truth's values are a function of them

    def __call__(self, job):
        """``(kind, ids)`` or ``(kind, ids, late)``: ``late`` carries what the ground-truth pass
        found (the moments and fits in ``shared``, ``ref_key``, the sample's cut-off) to actors
        built before it, so one pool of workers serves every pass of an evaluation."""
        kind, ids, late = job if len(job) == 3 else (*job, None)
        if late is not None:
            self.shared = {**self._early_shared, **late["shared"]}
            self.ref_key, self.sample_at_most = late["ref_key"], late["sample_at_most"]
        out = []
        for item_id in ids:
            item = self.items[item_id]
            try:
                out.append({"gt": self._gt, "gt_sample": self._gt_sample, "score": self._score}[kind](item))
            finally:  # participants cache their arrays: drop them, or memory grows with items
                item.target.release()
                item.partner.release()
        return out

    def _gt(self, item) -> dict:
        t0 = time.perf_counter()
        ref = features(item.target, self.task)
        valid = valid_mask(item.target, self.task, len(ref))
        t_read = time.perf_counter() - t0
        frames = ref if valid.all() else ref[valid]
        record = item_record(item.id, read_arrays(item.target, self.task), valid)  # the data manifest's row
        out = {"id": item.id, "frames": len(ref), "n": len(frames), "record": record,
               "mean": np.zeros(ref.shape[1]), "m2": np.zeros(ref.shape[1])}
        if len(frames):  # Σ (x − mean)², the square taken in place: one temporary, not two
            out["mean"] = frames.mean(0)
            deviations = frames - out["mean"]
            out["m2"] = np.multiply(deviations, deviations, out=deviations).sum(0)
        # The samples' priorities alone (~72 KB an item, not its ~9 MB of frames): the parent takes each
        # sample's cut-off, and the frames at or below it are all that later crosses.
        if self.gt_sample:
            out["gt_priorities"] = item_sample(item.id, self.seed, valid, {}, self.gt_sample)[0]
        if self.score_sample:
            out["score_priorities"] = item_sample(item.id, self.seed, valid, {}, self.score_sample)[0]
        out["seconds"] = {"read": t_read, "ground-truth pass (moments, manifest hashes, frame sample)": time.perf_counter() - t0 - t_read}
        return out

    def _gt_sample(self, item) -> dict:
        """The item's ground-truth frames at or below the fit sample's cut-off (only when a fit runs)."""
        t0 = time.perf_counter()
        ref = features(item.target, self.task)
        valid = valid_mask(item.target, self.task, len(ref))
        sample = item_sample(item.id, self.seed, valid, {"reference": ref}, self.gt_sample, at_most=self.sample_at_most)
        return {"id": item.id, "sample": sample, "seconds": {"ground-truth frame sample for fits": time.perf_counter() - t0}}

    def _score(self, item) -> dict:
        t0 = time.perf_counter()
        ref = features(item.target, self.task)
        n = len(ref)
        valid = valid_mask(item.target, self.task, n)
        gen = read_motion_item(self.submission / f"{item.id}{MOTION_EXT}", self.task.feature_keys, per_frame_shapes(self.task), n)
        inputs = {"generated": gen, "reference": ref, "reference_samples": ref[None], "valid": valid,
                  "partner": align_length(features(item.partner, self.task), n)}
        seconds = {"read": time.perf_counter() - t0}
        if "spectral_flux" in self.onset_kinds:
            t1 = time.perf_counter()
            inputs["onsets"] = self._onsets(item.target)
            seconds["audio onsets (read + spectral flux)"] = time.perf_counter() - t1
        if "emage" in self.onset_kinds:
            t1 = time.perf_counter()
            inputs["emage_onsets"] = self._emage_onsets(item.target, n)
            seconds["audio onsets (read + librosa's, EMAGE)"] = time.perf_counter() - t1
        known = self._known_refs(item.id)
        outputs = item_outputs(self.plans, inputs, self.shared, seconds, known)
        # data-only parts of statistics are kept here, never sent to the parent (263 KB an item for a 256-d FD)
        parts = {name + REFERENCE_PART: o.pop("reference_part") for name, o in outputs.items() if "reference_part" in o}
        self._keep_refs(item.id, known, outputs, parts)
        out = {"id": item.id, "outputs": outputs, "samples": gen.shape[0]}
        if self.score_sample:
            t1 = time.perf_counter()
            out["sample"] = item_sample(item.id, self.seed, valid, inputs, self.score_sample, at_most=self.sample_at_most)
            seconds["frame sample for set-level metrics"] = time.perf_counter() - t1
        out["seconds"] = seconds
        return out

    def _ref_entry(self, item_id: str) -> str:
        import hashlib

        return hashlib.blake2b(f"{self.ref_key}|{item_id}".encode(), digest_size=16).hexdigest()

    def _known_refs(self, item_id: str) -> dict:
        """The ground truth's own metric values for this item from an earlier evaluation of the same
        data (same manifest hash, seed and conventions), or {}."""
        if not self.ref_key:
            return {}
        from ..features.cache import FeatureCache

        cached = FeatureCache(self.cache_root).get(self._ref_entry(item_id), "reference_outputs", REFS_VERSION) or {}
        return {k: (float(v) if v.ndim == 0 else v) for k, v in cached.items()}

    def _keep_refs(self, item_id: str, known: dict, outputs: dict, parts: dict) -> None:
        """Cache the ground truth's own values and the statistics' data-only parts of this item
        (with those already cached) when something new was computed."""
        if not self.ref_key:
            return
        refs = {name: o.get("ref", o.get("ref_stats")) for name, o in outputs.items() if "error" not in o}
        numeric = {}
        for k, v in refs.items():
            try:
                numeric[k] = np.asarray(v, np.float64)
            except (TypeError, ValueError):
                continue  # a value that is not numbers (none among the motion metrics today) is recomputed
        refs = {**numeric, **parts}
        if set(refs) - set(known):
            from ..features.cache import FeatureCache

            kept = {k: np.asarray(v, np.float64) for k, v in {**known, **refs}.items()}
            FeatureCache(self.cache_root).put(self._ref_entry(item_id), "reference_outputs", REFS_VERSION, kept)

    def _onsets(self, participant) -> np.ndarray:
        """The participant's audio onsets, cached per audio file (path, size, modification time):
        they depend on the dataset only, so a second system's evaluation reads none of the audio."""
        import hashlib

        from ..features.audio import onsets as audio_onsets
        from ..features.cache import FeatureCache

        key = hashlib.blake2b(participant.audio_identity().encode(), digest_size=16).hexdigest()
        compute = lambda: {"onsets": audio_onsets(*participant.audio())}
        return FeatureCache(self.cache_root).get_or_compute(key, "audio_onsets", ONSETS_VERSION, compute)["onsets"]


    def _emage_onsets(self, participant, n_frames: int) -> np.ndarray:
        """EMAGE's onsets of the participant's audio cut to an item of ``n_frames`` (cached per audio
        file and length): librosa's detector at 16 kHz (``features.librosa_onsets``)."""
        import hashlib

        from ..features.cache import FeatureCache
        from ..features.librosa_onsets import emage_onsets

        key = hashlib.blake2b(f"{participant.audio_identity()}|{n_frames}|{self.task.fps}".encode(), digest_size=16).hexdigest()
        compute = lambda: {"onsets": emage_onsets(*participant.audio(), n_frames, self.task.fps)}
        return FeatureCache(self.cache_root).get_or_compute(key, "audio_onsets_emage", ONSETS_VERSION, compute)["onsets"]


ONSETS_VERSION = 1  # bump when features.audio.onsets or features.librosa_onsets changes its numbers
FITS_VERSION = 1  # bump when a Streaming.prepare's fit (SI-diversity's k-means) changes its numbers
REFS_VERSION = 2  # bump when a metric's numbers change without its convention's name or parameters changing


def _add_seconds(total: dict, part: dict, metric_prefix: str = "") -> None:
    """Sum per-item seconds by stage; metric names (not the fixed stage names) get a prefix."""
    stages = ("read", "audio onsets (read + spectral flux)", "audio onsets (read + librosa's, EMAGE)", "frame sample for set-level metrics",
              "ground-truth frame sample for fits",
              "ground-truth pass (moments, manifest hashes, frame sample)")
    for k, v in part.items():
        key = k if k in stages else metric_prefix + k
        key = "read (ground truth + submission + partner)" if k == "read" else key
        total[key] = total.get(key, 0.0) + v


def _convention_files(plans) -> tuple[dict, dict, str]:
    """Shared inputs read from files a convention names (EMAGE's body model and mean speeds),
    ``{metric: why}`` for those whose files are missing or wrong (that metric is skipped with the
    reason, where to get the file; never the evaluation), and the files' SHA-256s: the ground
    truth's own values depend on them, so they are part of the key those values are cached under."""
    from ..features.weights import REGISTRY, WeightsError, resolve, verify

    shared, skipped, digests = {}, {}, {}
    for p in plans:
        body = p.conv.features.get("body_model")
        if body is None:
            continue
        from ..features.body_model import load_body_model, load_mean_velocity

        files = [body] + (["emage_mean_velocity"] if "mean_velocity" in p.conv.features else [])
        try:
            shared.update(load_body_model(name=body))
            if "mean_velocity" in p.conv.features:
                shared["mean_velocity"] = load_mean_velocity()
            digests.update({name: verify(REGISTRY[name], resolve(name)) for name in files})
        except WeightsError as exc:
            skipped[p.name] = str(exc)
    return shared, skipped, ";".join(f"{k}={v}" for k, v in sorted(digests.items()))


def _jobs(kind: str, ids: list[str], workers: int, late: dict | None = None) -> list:
    size = max(1, min(8, math.ceil(len(ids) / (4 * max(1, workers)))))
    return [(kind, ids[i:i + size]) if late is None else (kind, ids[i:i + size], late) for i in range(0, len(ids), size)]


def _merge_moments(rows: list[dict]) -> tuple[np.ndarray, np.ndarray, dict]:
    """Per-dim mean and std (floored at 1e-6) of all valid ground-truth frames, merged in id order
    (Chan et al.'s pairwise update), so any partition of the items gives the same numbers."""
    n, mean, m2 = 0, None, None
    for r in sorted(rows, key=lambda r: r["id"]):
        if not r["n"]:
            continue
        if mean is None:
            n, mean, m2 = r["n"], r["mean"].copy(), r["m2"].copy()
            continue
        delta = r["mean"] - mean
        total = n + r["n"]
        mean = mean + delta * r["n"] / total
        m2 = m2 + r["m2"] + delta ** 2 * n * r["n"] / total
        n = total
    if mean is None:
        raise ValueError("reference: no valid ground-truth frame in any item")
    return mean, np.maximum(np.sqrt(m2 / n), 1e-6), {"frames": int(sum(r["frames"] for r in rows)), "valid_frames": int(n)}


def _prepared(plans, fit_frames, shared: dict, cache_root: str | None, ref_key: str) -> dict:
    """The plans' fits on the ground-truth frame sample (``fit_frames()``; SI-diversity's k-means
    centres): they depend on the data, seed and conventions alone (``ref_key``), so a second
    evaluation of the same data reads them instead of collecting the sample and fitting again
    (serial: ~12 s of a 4 M-frame facial-motion run)."""
    if not any(p.mode == "sums" and p.conv.stream.prepare is not None for p in plans):
        return {}
    import hashlib

    from ..features.cache import FeatureCache

    compute = lambda: prepare(plans, fit_frames(), shared)
    key = hashlib.blake2b(f"{ref_key}|fits".encode(), digest_size=16).hexdigest()
    arrays = FeatureCache(cache_root).get_or_compute(key, "reference_fits", FITS_VERSION, compute)
    return {k: (np.asarray(v).item() if np.ndim(v) == 0 else np.asarray(v)) for k, v in arrays.items()}


def score_motion(task, root: Path, submission: Path, items: list, seed: int, *, conventions: dict | None, n_boot: int,
                 slice_boot: int, engine: str = "local", workers: int | None = None, address: str | None = None,
                 threads: int | None = 1, progress=None, ignore=(), cache_root: str | None = None, scratch=None):
    """Score every item; returns ``(combiner, shared, extras, sample counts)``. Submitted files
    for ``ignore`` ids (items a dataset fault excludes) are not read."""
    from ..engine import actor_pool, default_workers

    submission_ids(submission, MOTION_EXT, [it.id for it in items], ignore)  # a wrong folder fails before any reading
    plans = plan(task.metrics, conventions)
    convention_inputs, skipped_metrics, file_digests = _convention_files(plans)
    plans = [p for p in plans if p.name not in skipped_metrics]
    ids = sorted(it.id for it in items)
    groups = {it.id: [(col, val) for col, val in it.groups.items()] for it in items}
    if workers is None and engine == "local":  # starting a process costs ~1 s: one per ITEMS_PER_WORKER items
        workers = max(1, min(default_workers(), len(ids) // ITEMS_PER_WORKER))
    n_workers = workers
    fits = [p for p in plans if p.mode == "sums" and p.conv.stream.prepare is not None]
    gt_k = fit_sample_size(plans, GT_SAMPLE_FRAMES)
    score_k = SAMPLE_FRAMES if any(p.sampled for p in plans) else 0  # the Aggregator's frame sample
    base = {"task": task.name, "root": str(root), "seed": seed, "threads": threads, "cache_root": cache_root,
            "skip": sorted(skipped_metrics)}
    tick = progress or (lambda done, total, what: None)
    # One pool of workers for every pass (a worker's start-up, imports and dataset scan, is ~4 s):
    # what the ground-truth pass finds reaches the actors with each later job (``MotionWorker.__call__``).
    early = {**base, "submission": str(submission), "conventions": conventions, "gt_sample": gt_k, "score_sample": score_k,
             "shared": {"fps": task.fps, "si_clusters": task.si_clusters, **convention_inputs}}
    t_pass, cpu_pass = time.perf_counter(), time.process_time()
    with actor_pool(MotionWorker, early, len(_jobs("gt", ids, n_workers or 2)), engine=engine, workers=n_workers,
                    address=address) as pool:
        gt_rows, gt_priorities, score_priorities, seconds = [], FrameSample(gt_k), FrameSample(score_k), {}
        for _, batch in pool.run(_jobs("gt", ids, n_workers or 2)):
            for r in batch:
                gt_rows.append({k: r[k] for k in ("id", "frames", "n", "mean", "m2", "record")})
                _add_seconds(seconds, r["seconds"])
                if gt_k:
                    gt_priorities.add(r["id"], r["gt_priorities"], {})
                if score_k:
                    score_priorities.add(r["id"], r["score_priorities"], {})
            tick(len(gt_rows), 2 * len(ids), "ground truth read")
        main_seconds = {"ground-truth pass, wall (workers' start included)": time.perf_counter() - t_pass,
                        "ground-truth pass, this process's CPU": time.process_time() - cpu_pass}
        mean, std, counts = _merge_moments(gt_rows)
        frames = {r["id"]: r["frames"] for r in gt_rows}
        check_motion_submission(submission, task.feature_keys, per_frame_shapes(task), frames, ignore)
        shared = {**early["shared"], "mean": mean, "std": std}
        manifest = manifest_doc(task.name, task.split, [r["record"] for r in gt_rows])
        ref_key = f"{manifest['hash']}|{seed}|{gt_k}|{plan_signature(plans)}|{file_digests}"
        t_fit = time.perf_counter()

        def fit_frames() -> np.ndarray:  # only when the fits are not cached: a pass that sends the sample's frames alone
            sample = FrameSample(gt_k)
            late = {"shared": {"mean": mean, "std": std}, "ref_key": None, "sample_at_most": sample_cutoff(gt_priorities)}
            for _, batch in pool.run(_jobs("gt_sample", ids, n_workers or 2, late)):
                for r in batch:
                    sample.add(r["id"], *r["sample"])
                    _add_seconds(seconds, r["seconds"])
            return sample.rows.get("reference", np.empty((0, len(mean))))

        prepared = _prepared(plans, fit_frames, shared, cache_root, ref_key)
        main_seconds["fits on the ground-truth frame sample (k-means; its frames' pass when not cached)"] = time.perf_counter() - t_fit
        shared.update(prepared)
        # Item statistics go to disk (a 256-d paired FD is 263 KB an item): the parent's memory stays
        # flat however many items the split has; each group's replicates are folded when reported.
        combiner = Aggregator(plans, n_boot=n_boot, slice_boot=slice_boot, seed=seed, rows=SpillRows(scratch))
        for p in fits:
            combiner.notes[p.name] = {k: v for k, v in prepared.items() if isinstance(v, (int, float))}
        if combiner.sample_frames != score_k:
            raise RuntimeError(f"frame sample: {combiner.sample_frames} frames planned, {score_k} announced to the workers")
        # Each item sends only its frames at or below the set's k-th smallest priority (the same seeded
        # priorities as above): the sample is the same, without every frame of every item crossing to this process.
        late = {"shared": {k: v for k, v in shared.items() if k not in early["shared"]}, "ref_key": ref_key,
                "sample_at_most": sample_cutoff(score_priorities) if score_k else None}
        samples, done = set(), 0
        t_pass, cpu_pass = time.perf_counter(), time.process_time()
        for _, batch in pool.run(_jobs("score", ids, n_workers or 2, late)):
            for r in batch:
                combiner.add(r["id"], groups[r["id"]], r["outputs"])
                _add_seconds(seconds, r["seconds"], "metric ")
                if score_k:
                    combiner.add_sample(r["id"], *r["sample"])
                samples.add(r["samples"])
                done += 1
            tick(len(ids) + done, 2 * len(ids), "items scored")
        main_seconds.update({"score pass, wall": time.perf_counter() - t_pass,
                             "score pass, this process's CPU": time.process_time() - cpu_pass})
    if len(samples) > 1:  # the header check refuses this; a file changed while scoring must not slip through
        raise SubmissionError(submission, f"items have different numbers of samples {sorted(samples)}")
    extras = {"samples_per_item": samples.pop() if samples else None, **counts,
              "worker_seconds": {k: round(v, 3) for k, v in sorted(seconds.items(), key=lambda kv: -kv[1])},
              "main_seconds": main_seconds,
              "manifest": manifest, "metric_skips": skipped_metrics}
    return combiner, shared, extras


__all__ = ["ALL", "MotionWorker", "score_motion"]
