"""The motion protocol, streamed: items are read, scored and dropped one at a time, in parallel.

Two passes over the items, each a set of jobs (batches of item ids) run by one pool of workers
(``engine.actor_pool``) on local processes or Ray:

1. ground truth only (``ground_truth``): per-dim moments of the valid frames (the standardization;
   merged in item-id order), the manifest's rows, the seeded frame samples' cut-offs. A second
   evaluation of the same files starts from the first one's, each item checked as it is scored;
2. scoring: each item's inputs are gathered and ``metrics.item_plan.item_outputs`` gives its
   per-item values and additive statistics; the parent folds them (``metrics.aggregate.Aggregator``,
   the one engine) and keeps nothing per frame. Memory does not grow with frames; results do not
   depend on the number of workers, the engine, or the order items finish in.
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
)
from ..metrics.streaming import FrameSample, item_sample, sample_cutoff
from ..storage import SpillRows
from ..datasets.manifest import item_record
from . import ground_truth
from .items import align_length, features, motion_items, per_frame_shapes, read_arrays, valid_mask
from ..tasks.registry import get_task

GT_SAMPLE_FRAMES = SAMPLE_FRAMES  # ground-truth frames kept for fits whose convention sets no fit_frames
ITEMS_PER_WORKER = 64  # a worker process costs about a second to start: small sets run in-process


class MotionWorker:
    """Built once per worker process; ``worker(("gt" | "gt_sample" | "score", [item ids]))`` -> per-item results."""

    def __init__(self, task: str, root: str, seed: int, submission: str | None = None, conventions: dict | None = None,
                 shared: dict | None = None, gt_sample: int = 0, score_sample: int = 0, threads: int | None = 1,
                 cache_root: str | None = None, ref_key: str | None = None, skip=(), sample_at_most: float | None = None,
                 items: list | None = None):
        if threads:
            from threadpoolctl import threadpool_limits

            self._limits = threadpool_limits(limits=threads)  # one BLAS thread per worker process
        self.task = get_task(task)
        # the parent's listing when it sends one (unpickling it: ~0.2 s; scanning the split again: ~1 s)
        self.items = {it.id: it for it in (items if items is not None else motion_items(self.task, Path(root)))}
        self.seed, self.shared = seed, shared or {}
        self._early_shared = dict(self.shared)
        self.submission = Path(submission) if submission else None
        self.plans = [p for p in plan(self.task.metrics, conventions) if p.name not in skip]
        self.onset_kinds = {p.conv.features["onsets"] for p in self.plans if "onsets" in p.conv.features}
        self.gt_sample, self.score_sample = gt_sample, score_sample
        self.sample_at_most = sample_at_most  # the score sample's cut-off priority, known from the ground-truth pass
        self.cache_root = cache_root
        self.ref_key = ref_key  # the data manifest's hash, seed and conventions: the ground truth's values are a function of them
        self.expect = None

    def __call__(self, job):
        """``(kind, ids)`` or ``(kind, ids, late)``: ``late`` carries what the ground-truth pass
        found (the moments and fits in ``shared``, ``ref_key``, the sample's cut-off) to actors
        built before it, so one pool of workers serves every pass of an evaluation."""
        kind, ids, late = job if len(job) == 3 else (*job, None)
        if late is not None:
            self.shared = {**self._early_shared, **late["shared"]}
            self.ref_key, self.sample_at_most = late["ref_key"], late["sample_at_most"]
            self.expect = late.get("expect")  # id -> the manifest row a kept ground-truth pass claims
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
        if self.expect is not None:  # moments and cut-offs came from a kept pass: score only the arrays it was made on
            t1 = time.perf_counter()
            if item_record(item.id, read_arrays(item.target, self.task), valid) != self.expect.get(item.id):
                return {"id": item.id, "checked": False}
            check_seconds = time.perf_counter() - t1
        gen = read_motion_item(self.submission / f"{item.id}{MOTION_EXT}", self.task.feature_keys, per_frame_shapes(self.task), n)
        inputs = {"generated": gen, "reference": ref, "reference_samples": ref[None], "valid": valid,
                  "partner": align_length(features(item.partner, self.task), n)}
        seconds = {"read": time.perf_counter() - t0}
        if self.expect is not None:
            seconds = {"read": seconds["read"] - check_seconds, CHECK_STAGE: check_seconds}
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
        out = {"id": item.id, "outputs": outputs, "samples": gen.shape[0], "checked": self.expect is not None}
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
CHECK_STAGE = "ground truth's manifest rows checked (content hashes)"
REFS_VERSION = 2  # bump when a metric's numbers change without its convention's name or parameters changing


def _add_seconds(total: dict, part: dict, metric_prefix: str = "") -> None:
    """Sum per-item seconds by stage; metric names (not the fixed stage names) get a prefix."""
    stages = ("read", "audio onsets (read + spectral flux)", "audio onsets (read + librosa's, EMAGE)", "frame sample for set-level metrics",
              "ground-truth frame sample for fits",
              "ground-truth pass (moments, manifest hashes, frame sample)", CHECK_STAGE)
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


def _jobs(kind: str, ids: list[str], workers: int, late: dict | None = None, expect: dict | None = None) -> list:
    """Batches of item ids; ``expect`` (id -> manifest row) goes with the batch that holds the item."""
    size = max(1, min(8, math.ceil(len(ids) / (4 * max(1, workers)))))
    chunks = [ids[i:i + size] for i in range(0, len(ids), size)]
    if late is None:
        return [(kind, chunk) for chunk in chunks]
    return [(kind, chunk, {**late, "expect": {i: expect[i] for i in chunk}} if expect else late) for chunk in chunks]


def score_motion(task, root: Path, submission: Path, items: list, seed: int, *, conventions: dict | None, n_boot: int,
                 slice_boot: int, engine: str = "local", workers: int | None = None, address: str | None = None,
                 threads: int | None = 1, progress=None, ignore=(), cache_root: str | None = None, scratch=None):
    """Score every item; returns ``(combiner, shared, extras)``. Submitted files for ``ignore`` ids
    (items a dataset fault excludes) are not read."""
    from ..engine import actor_pool, default_workers

    submission_ids(submission, MOTION_EXT, [it.id for it in items], ignore)  # a wrong folder fails before any reading
    plans = plan(task.metrics, conventions)
    convention_inputs, skipped_metrics, file_digests = _convention_files(plans)
    plans = [p for p in plans if p.name not in skipped_metrics]
    ids = sorted(it.id for it in items)
    if workers is None and engine == "local":  # starting a process costs ~1 s: one per ITEMS_PER_WORKER items
        workers = max(1, min(default_workers(), len(ids) // ITEMS_PER_WORKER))
    gt_k = fit_sample_size(plans, GT_SAMPLE_FRAMES)
    score_k = SAMPLE_FRAMES if any(p.sampled for p in plans) else 0  # the Aggregator's frame sample
    early = {"task": task.name, "root": str(root), "seed": seed, "threads": threads, "cache_root": cache_root,
             "skip": sorted(skipped_metrics), "submission": str(submission), "conventions": conventions, "gt_sample": gt_k,
             "score_sample": score_k, "shared": {"fps": task.fps, "si_clusters": task.si_clusters, **convention_inputs},
             "items": items}
    run = _Run(task, submission, plans, ids, {it.id: list(it.groups.items()) for it in items}, seed, workers, ignore,
               (gt_k, score_k), (n_boot, slice_boot), cache_root, scratch, file_digests, early["shared"],
               progress or (lambda done, total, what: None))
    key = ground_truth.claim_key(task, items, seed, gt_k, score_k)
    gt = ground_truth.claimed(cache_root, key)
    t_start = time.perf_counter()
    # One pool of workers for every pass (a worker's start-up, imports and dataset scan, is ~2 s):
    # what the ground-truth pass finds reaches the actors with each later job (``MotionWorker.__call__``).
    with actor_pool(MotionWorker, early, len(_jobs("gt", ids, workers or 2)), engine=engine, workers=workers,
                    address=address) as pool:
        run.main_seconds["workers' start"] = time.perf_counter() - t_start
        scored = run.score(pool, gt) if gt is not None else None
        if scored is None:  # no claim, or an item's arrays are not what it claimed: the pass itself
            gt = run.ground_truth_pass(pool)
            ground_truth.keep(cache_root, key, gt)
            scored = run.score(pool, gt)
    combiner, shared, samples = scored
    extras = {"samples_per_item": samples, **gt.counts,
              "ground_truth_pass": ("kept from an earlier evaluation of these files; every item's manifest row checked "
                                    "against the arrays it was scored on") if gt.claimed else "run",
              "worker_seconds": {k: round(v, 3) for k, v in sorted(run.seconds.items(), key=lambda kv: -kv[1])},
              "main_seconds": run.main_seconds, "manifest": gt.manifest(task), "metric_skips": skipped_metrics}
    return combiner, shared, extras


class _Run:
    """One evaluation's passes on one pool of workers."""

    def __init__(self, task, submission, plans, ids, groups, seed, workers, ignore, sample_sizes, resamples,
                 cache_root, scratch, file_digests, early_shared, tick):
        self.task, self.submission, self.plans, self.ids, self.groups, self.seed = task, submission, plans, ids, groups, seed
        self.workers, self.ignore, (self.gt_k, self.score_k) = workers or 2, ignore, sample_sizes
        (self.n_boot, self.slice_boot), self.cache_root, self.scratch = resamples, cache_root, scratch
        self.file_digests, self.early_shared, self.tick = file_digests, early_shared, tick
        self.seconds: dict = {}  # summed over workers, by stage and metric
        self.main_seconds: dict = {}

    def ground_truth_pass(self, pool) -> ground_truth.GroundTruth:
        t_pass, cpu_pass = time.perf_counter(), time.process_time()
        rows, gt_priorities, score_priorities = [], FrameSample(self.gt_k), FrameSample(self.score_k)
        for _, batch in pool.run(_jobs("gt", self.ids, self.workers)):
            for r in batch:
                rows.append({k: r[k] for k in ("id", "frames", "n", "mean", "m2", "record")})
                _add_seconds(self.seconds, r["seconds"])
                if self.gt_k:
                    gt_priorities.add(r["id"], r["gt_priorities"], {})
                if self.score_k:
                    score_priorities.add(r["id"], r["score_priorities"], {})
            self.tick(len(rows), 2 * len(self.ids), "ground truth read")
        self.main_seconds.update({"ground-truth pass, wall": time.perf_counter() - t_pass,
                                  "ground-truth pass, this process's CPU": time.process_time() - cpu_pass})
        mean, std, counts = ground_truth.merge_moments(rows)
        return ground_truth.GroundTruth(mean, std, counts, [r["record"] for r in rows], sample_cutoff(gt_priorities),
                                        sample_cutoff(score_priorities) if self.score_k else None)

    def score(self, pool, gt: ground_truth.GroundTruth):
        """``(Aggregator, shared, samples per item)``, or None when ``gt`` is a claim that an item's
        arrays (or the submission's frame counts) contradict."""
        try:
            check_motion_submission(self.submission, self.task.feature_keys, per_frame_shapes(self.task), gt.frames, self.ignore)
        except SubmissionError:
            if gt.claimed:  # the claimed frame counts may be what is wrong: only the pass can tell
                return None
            raise
        shared = {**self.early_shared, "mean": gt.mean, "std": gt.std}
        manifest = gt.manifest(self.task)
        ref_key = f"{manifest['hash']}|{self.seed}|{self.gt_k}|{plan_signature(self.plans)}|{self.file_digests}"
        t_fit = time.perf_counter()

        def fit_frames() -> np.ndarray:  # only when the fits are not cached: a pass that sends the sample's frames alone
            sample = FrameSample(self.gt_k)
            late = {"shared": {"mean": gt.mean, "std": gt.std}, "ref_key": None, "sample_at_most": gt.gt_cutoff}
            for _, batch in pool.run(_jobs("gt_sample", self.ids, self.workers, late)):
                for r in batch:
                    sample.add(r["id"], *r["sample"])
                    _add_seconds(self.seconds, r["seconds"])
            return sample.rows.get("reference", np.empty((0, len(gt.mean))))

        prepared = ground_truth.prepared_fits(self.plans, fit_frames, shared, self.cache_root, ref_key)
        self.main_seconds["fits on the ground-truth frame sample (k-means; its frames' pass when not cached)"] = time.perf_counter() - t_fit
        shared.update(prepared)
        # Item statistics go to disk (a 256-d paired FD is 263 KB an item): the parent's memory stays
        # flat however many items the split has; each group's replicates are folded when reported.
        combiner = Aggregator(self.plans, n_boot=self.n_boot, slice_boot=self.slice_boot, seed=self.seed, rows=SpillRows(self.scratch))
        for p in self.plans:
            if p.mode == "sums" and p.conv.stream.prepare is not None:
                combiner.notes[p.name] = {k: v for k, v in prepared.items() if isinstance(v, (int, float))}
        if combiner.sample_frames != self.score_k:
            raise RuntimeError(f"frame sample: {combiner.sample_frames} frames planned, {self.score_k} announced to the workers")
        # Each item sends only its frames at or below the set's k-th smallest priority (the same seeded
        # priorities as the ground-truth pass's): the same sample, without every frame crossing to this process.
        late = {"shared": {k: v for k, v in shared.items() if k not in self.early_shared}, "ref_key": ref_key,
                "sample_at_most": gt.score_cutoff}
        expect = {r["id"]: r for r in gt.records} if gt.claimed else None
        samples, done, stale, seconds = set(), 0, False, {}
        t_pass, cpu_pass = time.perf_counter(), time.process_time()
        for _, batch in pool.run(_jobs("score", self.ids, self.workers, late, expect)):
            for r in batch:
                done += 1
                stale = stale or (gt.claimed and not r.get("checked"))  # an item's arrays are not the claimed ones
                if stale:
                    continue  # the pass runs to its end (its jobs are out); nothing more is folded
                combiner.add(r["id"], self.groups[r["id"]], r["outputs"])
                _add_seconds(seconds, r["seconds"], "metric ")
                if self.score_k:
                    combiner.add_sample(r["id"], *r["sample"])
                samples.add(r["samples"])
            self.tick(len(self.ids) + done, 2 * len(self.ids), "items scored")
        self.main_seconds.update({"score pass, wall": time.perf_counter() - t_pass,
                                  "score pass, this process's CPU": time.process_time() - cpu_pass})
        if stale:
            return None
        _add_seconds(self.seconds, seconds)
        if len(samples) > 1:  # the header check refuses this; a file changed while scoring must not slip through
            raise SubmissionError(self.submission, f"items have different numbers of samples {sorted(samples)}")
        return combiner, shared, samples.pop() if samples else None


__all__ = ["ALL", "MotionWorker", "score_motion"]
