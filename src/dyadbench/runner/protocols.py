"""Protocol runners: gather each item's inputs, then score the task's declared metrics through the
metric registry. No metric math lives here: a protocol reads data and submissions, asks the
feature extractors for what the metrics consume, and calls ``metrics.registry.score``.

``Scored.compute(subset, n_boot)`` gives every declared metric on any subset of items (the whole
split, or one slice).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..datasets.errors import DatasetError
from ..datasets.submission import (
    SubmissionError,
    check_decoded_frames,
    read_retrieval_goals,
    read_video_submission,
)
from ..features.clip_faces import space_model
from ..features.weights import WeightsError, resolve
from ..metrics import retrieval_ranks
from ..metrics.registry import ItemSet, get_metric, score
from ..datasets.manifest import manifest_doc
from .items import align_length, motion_items
from .manifest import CLIPS, VIDEOS, clip_records, video_records
from ..tasks.registry import Task


@dataclass
class Scored:
    ids: list[str]
    groups: list[dict]
    compute: Callable[[list[int], int], dict]
    skipped: dict = field(default_factory=dict)
    extras: dict = field(default_factory=dict)
    excluded: dict = field(default_factory=dict)  # items left out of the task, counted per reason
    thread_safe: bool = False  # compute() may run for several slice groups at once (threads)


def metric_scorer(task: Task, data: ItemSet, seed: int, conventions: dict | None, skipped: dict) -> Callable:
    """``compute(idx, n_boot)``: every declared metric not skipped, as report dicts keyed by output name.

    A metric that cannot run on the whole set (a ``ValueError`` from its function: too few frames,
    a convention whose input does not fit) is reported skipped with that reason; on a slice it is
    left out of that slice only.
    """
    conventions = conventions or {}

    def compute(idx, n_boot, key=None):
        whole = len(idx) == len(data.ids)
        out = {}
        for name in task.metrics:
            if name in skipped:
                continue
            try:
                results = score(name, data, idx, convention=conventions.get(name), n_boot=n_boot, seed=seed)
            except ValueError as exc:
                if whole:
                    skipped[name] = f"could not be computed: {exc}"
                continue
            for r in results:
                out[r.name] = r.to_dict()
        return out

    return compute


def _items(task: Task, root: Path, excluded_ids: set | None = None) -> tuple[list, dict, list]:
    excluded: dict = {}
    skipped: list = []
    items = motion_items(task, root, excluded=excluded, skipped=skipped, excluded_ids=excluded_ids)
    if not items:
        why = "; ".join(f"{n} {reason}" for reason, n in excluded.items()) or "no dyads found"
        raise ValueError(f"{root}: no item of task {task.name} in split {task.split!r} ({why}); see `dyadbench data inspect {root}`")
    return items, excluded, skipped


def _blame_dataset(exc: SubmissionError, root: Path, skipped: list) -> Exception:
    """Submitted items the dataset cannot match are the dataset's fault when the reader skipped bundles."""
    if skipped and "unexpected item" in str(exc):
        first = skipped[0]
        return DatasetError(first.path, f"{first.reason}; the reader skipped {len(skipped)} bundle(s) of {root}, so "
                                         f"submitted items have no ground truth ({exc.problem}); see `dyadbench data inspect {root}`")
    return exc


def motion(task: Task, root: Path, submission: Path, seed: int, conventions: dict | None = None, n_boot: int = 200,
           slice_boot: int = 50, engine: str = "local", workers: int | None = None, address: str | None = None,
           threads: int | None = 1, progress=None, cache_root: str | None = None, scratch=None, **_) -> Scored:
    """Streamed over items (``motion_stream``): memory does not grow with frames."""
    from .motion_stream import score_motion

    if engine == "local" and workers != 1:  # the workers' process server starts while the split is listed
        from ..engine import prestart_local

        prestart_local(score_motion.__module__)
    excluded_ids: set = set()
    items, excluded, skipped = _items(task, root, excluded_ids)
    try:
        combiner, shared, extras = score_motion(task, root, submission, items, seed, conventions=conventions, n_boot=n_boot,
                                                slice_boot=slice_boot, engine=engine, workers=workers, address=address,
                                                threads=threads, progress=progress, ignore=excluded_ids, cache_root=cache_root,
                                                scratch=scratch)
    except SubmissionError as exc:
        raise _blame_dataset(exc, root, skipped) from exc
    metric_skips = {name: f"could not be computed: {why}" for name, why in combiner.errors.items()}
    metric_skips.update(extras.pop("metric_skips", {}))
    order = {it.id: i for i, it in enumerate(items)}
    ids = sorted(order)

    def compute(idx, n_boot, key=None):
        return combiner.results(key or "all", shared, linear=key in (None, "all"))

    # Once the items are in the Aggregator only reads (its frame sample cut to size here, not by
    # the first group that asks): slice groups may be computed in threads.
    if combiner.sample is not None:
        combiner.sample.item_positions()
    return Scored(ids, [items[order[i]].groups for i in ids], compute, metric_skips, extras, excluded=excluded,
                  thread_safe=True)


def video(task: Task, root: Path, submission: Path, seed: int, engine: str = "local", workers: int | None = None,
          device: str = "cpu", cache_root: str | None = None, address: str | None = None,
          conventions: dict | None = None, **_) -> Scored:
    from ..engine import run_actors
    from ..features.cache import FeatureCache
    from ..features.jobs import VideoExtractor, VideoRef
    from ..features.video import VIDEO_FD_EXTRACTORS

    excluded_ids: set = set()
    items, excluded, skipped = _items(task, root, excluded_ids)
    try:
        gen_paths = read_video_submission(submission, {it.id: it.target.video_info.frames for it in items}, ignore=excluded_ids)
    except SubmissionError as exc:
        raise _blame_dataset(exc, root, skipped) from exc
    skipped, extractors = {}, ["face_motion"]
    fd_extractors = {}  # metric -> the network extractor its convention names (FID's Inception, FVD's I3D)
    for metric in task.metrics:
        spec = get_metric(metric)
        name = spec.conventions[(conventions or {}).get(metric, spec.default)].features.get("extractor")
        if name is None:
            continue
        fd_extractors[metric] = VIDEO_FD_EXTRACTORS[name]
        try:
            resolve(fd_extractors[metric].weights)
            extractors.append(name)
        except WeightsError as exc:
            skipped[metric] = str(exc)
    refs = {}
    for it in items:
        refs[("gt", it.id)], refs[("partner", it.id)] = it.target.video_ref(), it.partner.video_ref()
        refs[("gen", it.id)] = VideoRef(it.id, str(gen_paths[it.id]))
    keys = list(refs)
    cache = FeatureCache(cache_root)
    extractor = {"names": extractors, "cache_root": cache_root, "device": device, "batch_size": 32}
    # A partner is usually another item's target: each distinct video is decoded and run through
    # the networks once (two workers given the same video at once would both compute it).
    unique = list(dict.fromkeys(refs[k] for k in keys))
    done = dict(run_actors(VideoExtractor, extractor, unique, engine=engine, workers=workers, address=address))
    row_of = {ref: done[j] for j, ref in enumerate(unique)}
    rows = [row_of[refs[k]] for k in keys]
    for i, k in enumerate(keys):
        if k[0] == "gen":  # decode counts, not header counts: a cut file must not be scored
            check_decoded_frames(gen_paths[k[1]], rows[i]["face_motion_frames"])
    versions = VideoExtractor.versions(extractors)
    arr = {(k, n): cache.get(rows[i]["hash"], n, versions[n]) for i, k in enumerate(keys) for n in extractors}
    face = {k: arr[(k, "face_motion")]["face_motion"].astype(np.float64) for k in keys}
    detected = {k: np.isfinite(v).all(axis=1) for k, v in face.items()}
    n_of = {it.id: min(len(face[("gt", it.id)]), len(face[("gen", it.id)])) for it in items}
    fill = lambda x, n: np.nan_to_num(align_length(x, n))
    reference = [fill(face[("gt", it.id)], n_of[it.id]) for it in items]
    valid = [align_length(detected[("gt", it.id)], n_of[it.id]) & align_length(detected[("gen", it.id)], n_of[it.id]) for it in items]
    inputs = {"generated": [fill(face[("gen", it.id)], n_of[it.id])[None] for it in items], "reference": reference,
              "partner": [fill(face[("partner", it.id)], n_of[it.id]) for it in items], "valid": valid,
              "detected": [detected[("gen", it.id)] for it in items]}
    data = ItemSet([it.id for it in items], inputs, {"fps": 30.0})
    for metric, extractor in fd_extractors.items():
        if metric in skipped:
            continue
        names = get_metric(metric).consumes
        feats = {role: [arr[((role, it.id), extractor.name)][extractor.stats_key].astype(np.float64) for it in items]
                 for role in ("gen", "gt")}
        n_rows = [min(len(g), len(r)) for g, r in zip(feats["gen"], feats["gt"])]  # frames (FID) or clips (FVD)
        data.items.update({names["generated"]: [g[None, :n] for g, n in zip(feats["gen"], n_rows)],
                           names["reference"]: [r[:n] for r, n in zip(feats["gt"], n_rows)],
                           names["valid"]: [np.ones(n, bool) for n in n_rows]})
    if "sync" in task.metrics:
        emb = _sync_embeddings(items, gen_paths, device, skipped)
        if emb is not None:
            data.items["sync_video_emb"], data.items["sync_audio_emb"] = emb
    return Scored(data.ids, [it.groups for it in items], metric_scorer(task, data, seed, conventions, skipped), skipped,
                  {"manifest": manifest_doc(task.name, task.split, video_records(items), excluded, content=VIDEOS)},
                  excluded=excluded)


def _sync_embeddings(items, gen_paths, device, skipped):
    """SyncNet video and audio embeddings of each generated clip (the inputs of the ``sync`` metric)."""
    try:
        from ..features.sync import SyncNetScorer

        scorer = SyncNetScorer(device=device)
    except WeightsError as exc:
        skipped["sync"] = str(exc)
        return None
    from ..datasets import media

    video_emb, audio_emb = [], []
    for it in items:
        audio, sr = it.target.audio()
        v, a = scorer.clip_embeddings(media.read_frames(gen_paths[it.id]), audio, sr, fps=media.probe_video(gen_paths[it.id]).fps)
        video_emb.append(v)
        audio_emb.append(a)
    return video_emb, audio_emb


def _face_space_embeddings(queries, bank, top1, spaces, stride, cache_root, device, models) -> dict[str, list]:
    """Per face space: each query's top-1 retrieved listener's and true listener's per-frame embeddings."""
    from ..features.cache import FeatureCache
    from ..features.clip_faces import clip_face_embeddings

    cache = FeatureCache(cache_root)
    out = {f"{side}_{s}": [] for s in spaces for side in ("top1", "true")}
    for q, t in zip(queries, top1):
        got = clip_face_embeddings(bank[t], bank[t].listener, spaces, stride=stride, device=device, cache=cache, models=models)
        true = clip_face_embeddings(q, q.listener, spaces, stride=stride, device=device, cache=cache, models=models)
        for s in spaces:
            out[f"top1_{s}"].append(got[s])
            out[f"true_{s}"].append(true[s])
    return out


GOAL_METRICS = ("recall_at_500", "recall_at_1000", "median_rank", "mean_rank", "mrr")
CONTRAST_METRICS = ("delta_median_rank", "moved_share")


def goal_results(goals: dict, goal_ranks: dict, ids: list[str], bank_size: int, seed: int, n_boot: int,
                 conventions: dict | None) -> dict:
    """Per goal: the rank metrics, and against the reference goal (the first) the contrast metrics."""
    reference = next(iter(goals))
    out = {}
    for goal, ranks in goal_ranks.items():
        data = ItemSet(ids, {"ranks": list(ranks), "ranks_reference": list(goal_ranks[reference])},
                       {"bank_size": bank_size, "goal_direction": goals[goal]})
        names = GOAL_METRICS + (CONTRAST_METRICS if goal != reference else ())
        metrics = {r.name: r.to_dict() for name in names
                   for r in score(name, data, convention=(conventions or {}).get(name), n_boot=n_boot, seed=seed)}
        out[goal] = {"direction": goals[goal], "reference_goal": reference, "metrics": metrics}
    return out


def retrieval(task: Task, root: Path, submission: Path, seed: int, device: str = "cpu", cache_root: str | None = None,
              conventions: dict | None = None, n_boot: int = 200, face_stride: int | None = None, **_) -> Scored:
    from ..datasets.realtalk import RealTalk

    rt = RealTalk(root)
    queries, bank = rt.split("eval"), rt.split("bank")
    if not queries:
        raise ValueError(f"{root}: the eval split is empty")
    bank_index = {c.id: i for i, c in enumerate(bank)}
    goals = task.options.get("goals", {"appropriate": "high"})
    matrices = read_retrieval_goals(submission, [c.id for c in queries], list(bank_index), tuple(goals))
    gt = np.array([bank_index[q.id] for q in queries])
    goal_ranks = {g: retrieval_ranks(m, gt) for g, m in matrices.items()}
    scores, ranks = matrices[next(iter(goals))], goal_ranks[next(iter(goals))]
    top1 = np.argmax(scores, axis=1)  # ties: the first bank clip in protocol order
    inputs = {"ranks": list(ranks), "top1_released": [bank[t].embeddings(bank[t].listener) for t in top1],
              "true_released": [q.embeddings(q.listener) for q in queries]}
    skipped, spaces, models = {}, {}, {}  # spaces: metric's input space -> the space its convention computes
    for name in task.metrics:
        if not name.startswith("perceptual_l2_"):
            continue
        spec = get_metric(name)
        space = name.removeprefix("perceptual_l2_")
        computed = spec.conventions[(conventions or {}).get(name) or spec.default].features.get("space", space)
        try:  # missing, mismatching or corrupt weights skip this metric with the reason, never the evaluation
            if space != "dlib":
                models[computed] = space_model(computed, device)
            spaces[space] = computed
        except WeightsError as exc:
            skipped[name] = str(exc)
    stride = int(face_stride or task.options.get("face_stride", 8))  # every stride-th frame of a clip is embedded
    embedded = _face_space_embeddings(queries, bank, top1, tuple(spaces.values()), stride, cache_root, device, models)
    inputs.update({f"{side}_{space}": embedded[f"{side}_{computed}"] for space, computed in spaces.items()
                   for side in ("top1", "true")})
    data = ItemSet([q.id for q in queries], inputs, {"bank_size": len(bank)})
    groups = [{"speaker_role": q.speaker} for q in queries]
    extras = {"manifest": manifest_doc(task.name, task.split, clip_records(rt.clips()), content=CLIPS),
              "ranks": ranks.tolist(), "bank_size": len(bank), "queries": len(queries), "face_stride": stride,
              "goals": goal_results(goals, goal_ranks, [q.id for q in queries], len(bank), seed, n_boot, conventions),
              "published": task.options.get("published", {})}
    return Scored(data.ids, groups, metric_scorer(task, data, seed, conventions, skipped), skipped, extras)


def declared_outputs(task: Task) -> dict[str, tuple[str, ...]]:
    """Each declared metric and the names it reports under (itself, or its parts)."""
    return {name: get_metric(name).outputs() for name in task.metrics}


PROTOCOLS = {"motion": motion, "video": video, "retrieval": retrieval}
