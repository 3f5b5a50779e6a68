"""Protocol runners: turn (task, data, submission) into a ``Scored`` whose ``compute(subset)``
gives every metric on any subset of items (the whole split, or one slice)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from .. import metrics as M
from ..datasets.submission import read_motion_submission, read_retrieval_submission, read_video_submission
from ..features.weights import WeightsError, resolve
from . import motion_protocol as mp
from .items import align_length, features, motion_items, per_frame_shapes, valid_mask
from .registry import Task


@dataclass
class Scored:
    ids: list[str]
    groups: list[dict]
    compute: Callable[[list[int], int], dict]
    skipped: dict = field(default_factory=dict)
    extras: dict = field(default_factory=dict)


def motion(task: Task, root: Path, submission: Path, seed: int, **_) -> Scored:
    items = motion_items(task, root)
    gt = {it.id: features(it.target, task) for it in items}
    gen = read_motion_submission(submission, task.feature_keys, per_frame_shapes(task), {k: len(v) for k, v in gt.items()})
    onsets = None
    if "beat_consistency" in task.metrics:
        from ..features.audio import onsets as audio_onsets

        onsets = []
        for it in items:
            audio, sr = it.target.audio()
            onsets.append(audio_onsets(audio, sr))
    data = mp.MotionData(
        [it.id for it in items], [gen[it.id] for it in items], [gt[it.id] for it in items],
        [align_length(features(it.partner, task), len(gt[it.id])) for it in items],
        [valid_mask(it.target, task, len(gt[it.id])) for it in items], task.fps, onsets)
    return Scored(data.ids, [it.groups for it in items],
                  lambda idx, n_boot: mp.compute(task.metrics, data.subset(idx), n_boot, seed, task.si_clusters))


def video(task: Task, root: Path, submission: Path, seed: int, engine: str = "local", workers: int | None = None,
          device: str = "cpu", cache_root: str | None = None, address: str | None = None, **_) -> Scored:
    from ..engine import run_actors
    from ..features.cache import FeatureCache
    from ..features.jobs import VideoExtractor, VideoRef

    items = motion_items(task, root)
    gen_paths = read_video_submission(submission, {it.id: it.target.video_info.frames for it in items})
    skipped, names = {}, ["face_motion"]
    try:
        resolve("fid_inception")
        names.append("fid_inception")
    except WeightsError as exc:
        skipped["fid"] = str(exc)
    refs = {}
    for it in items:
        for role, p in (("gt", it.target), ("partner", it.partner)):
            path = p.store.path(p.member("mp4"))
            refs[(role, it.id)] = VideoRef(p.id, str(path)) if path else VideoRef(p.id, str(p.store.tar_path), p.member("mp4"))
        refs[("gen", it.id)] = VideoRef(it.id, str(gen_paths[it.id]))
    keys = list(refs)
    cache = FeatureCache(cache_root)
    hashes = {}
    extractor = {"names": names, "cache_root": cache_root, "device": device, "batch_size": 32}
    for i, row in run_actors(VideoExtractor, extractor, [refs[k] for k in keys], engine=engine, workers=workers,
                             address=address):
        hashes[keys[i]] = row["hash"]
    arr = {(k, n): cache.get(hashes[k], n, 1) for k in keys for n in names}
    face = {k: arr[(k, "face_motion")]["face_motion"].astype(np.float64) for k in keys}
    detected = {k: np.isfinite(v).all(axis=1) for k, v in face.items()}
    n_of = {it.id: min(len(face[("gt", it.id)]), len(face[("gen", it.id)])) for it in items}
    fill = lambda x, n: np.nan_to_num(align_length(x, n))
    data = mp.MotionData(
        [it.id for it in items], [fill(face[("gen", it.id)], n_of[it.id])[None] for it in items],
        [fill(face[("gt", it.id)], n_of[it.id]) for it in items], [fill(face[("partner", it.id)], n_of[it.id]) for it in items],
        [align_length(detected[("gt", it.id)], n_of[it.id]) & align_length(detected[("gen", it.id)], n_of[it.id]) for it in items], 30.0)
    sync = _sync_scores(items, gen_paths, device, skipped) if "sync" in task.metrics else None
    face_rate = {it.id: float(detected[("gen", it.id)].mean()) for it in items}

    def compute(idx, n_boot):
        sub = data.subset(idx)
        out = {"ffd_video": {**mp.fd(sub, n_boot, seed), "feature": "MediaPipe face-motion (pose and identity removed)"},
               "paired_ffd_video": mp.paired_fd(sub, n_boot, seed),
               "face_detection_rate": mp._per_item([face_rate[items[i].id] for i in idx], "higher", n_boot, seed)}
        if "fid_inception" in names:
            g = np.concatenate([arr[(("gen", items[i].id), "fid_inception")]["pool3"] for i in idx])
            r = np.concatenate([arr[(("gt", items[i].id), "fid_inception")]["pool3"] for i in idx])
            out["fid"] = mp._fd(g, r, n_boot, seed, unit="frames")
        if sync:
            for key in ("sync_c", "sync_d"):
                out[key] = mp._per_item([sync[items[i].id][key] for i in idx], "higher" if key == "sync_c" else "lower", n_boot, seed)
        return out

    return Scored([it.id for it in items], [it.groups for it in items], compute, skipped)


def _sync_scores(items, gen_paths, device, skipped) -> dict | None:
    try:
        from ..features.sync import SyncNetScorer

        scorer = SyncNetScorer(device=device)
    except WeightsError as exc:
        skipped["sync"] = str(exc)
        return None
    from ..datasets import media

    out = {}
    for it in items:
        frames = media.read_frames(gen_paths[it.id])
        audio, sr = it.target.audio()
        out[it.id] = scorer.score(frames, audio, sr, fps=media.probe_video(gen_paths[it.id]).fps)
    return out


def _face_space_distances(queries, bank, top1, spaces, stride, cache_root, device) -> dict[str, list]:
    """Per query and face space: perceptual L2 between the top-1 retrieved and the true listener."""
    from ..features.cache import FeatureCache
    from ..features.clip_faces import clip_face_embeddings

    cache, models = FeatureCache(cache_root), {}
    out = {s: [] for s in spaces}
    for q, t in zip(queries, top1):
        got = clip_face_embeddings(bank[t], bank[t].listener, spaces, stride=stride, device=device, cache=cache, models=models)
        true = clip_face_embeddings(q, q.listener, spaces, stride=stride, device=device, cache=cache, models=models)
        for s in spaces:
            out[s].append(M.perceptual_l2_per_clip(got[s], true[s])["value"])
    return out


def retrieval(task: Task, root: Path, submission: Path, seed: int, device: str = "cpu", cache_root: str | None = None,
              **_) -> Scored:
    from ..datasets.realtalk import RealTalk

    rt = RealTalk(root)
    queries, bank = rt.split("eval"), rt.split("bank")
    if not queries:
        raise ValueError(f"{root}: the eval split is empty")
    bank_index = {c.id: i for i, c in enumerate(bank)}
    scores = read_retrieval_submission(submission, [c.id for c in queries], list(bank_index))
    ranks = M.retrieval_ranks(scores, np.array([bank_index[q.id] for q in queries]))
    top1 = np.argmax(scores, axis=1)  # ties: the first bank clip in protocol order
    perceptual = {"released": [M.perceptual_l2_per_clip(bank[t].embeddings(bank[t].listener), q.embeddings(q.listener))["value"]
                               for q, t in zip(queries, top1)]}
    skipped, spaces = {}, ["dlib"]
    for space in ("facenet512", "vggface"):
        try:
            resolve(space)
            spaces.append(space)
        except WeightsError as exc:
            skipped[f"perceptual_l2_{space}"] = str(exc)
    perceptual.update(_face_space_distances(queries, bank, top1, tuple(spaces), task.options.get("face_stride", 8), cache_root, device))
    B = len(bank)

    def compute(idx, n_boot):
        r = ranks[idx]
        out = {}
        for k in (500, 1000):
            k_eff = k if B >= 1896 else max(1, int(round(k * B / 1896)))
            stat = lambda rr, k_eff=k_eff: M.recall_at_k(rr, k_eff)
            res = M.bootstrap_ci(stat, r, n_resamples=n_boot, seed=seed) if len(r) >= 2 and n_boot else {"value": stat(r)}
            out[f"recall_at_{k}"] = {**mp._ci(res, "higher", len(r)), "k": k_eff, "chance": M.chance_recall_at_k(k_eff, B),
                                     **({"note": f"k scaled to the bank of {B} (k·B/1896)"} if k_eff != k else {})}
        for name, fn, better in (("median_rank", M.median_rank, "lower"), ("mean_rank", M.mean_rank, "lower"), ("mrr", M.mrr, "higher")):
            res = M.bootstrap_ci(fn, r, n_resamples=n_boot, seed=seed) if len(r) >= 2 and n_boot else {"value": fn(r)}
            out[name] = mp._ci(res, better, len(r))
        out["median_rank"]["chance"] = (B + 1) / 2
        for space, vals in perceptual.items():
            name = "perceptual_l2" if space == "released" else f"perceptual_l2_{space}"
            picked = [vals[i] for i in idx if vals[i] is not None and np.isfinite(vals[i])]
            if picked:
                out[name] = {**mp._per_item(picked, "lower", n_boot, seed),
                             "space": space if space != "released" else "RealTalk released visual embeddings",
                             "queries_without_faces": len(idx) - len(picked)}
        return out

    groups = [{"speaker_role": q.speaker} for q in queries]
    extras = {"ranks": ranks.tolist(), "bank_size": B, "queries": len(queries)}
    return Scored([q.id for q in queries], groups, compute, skipped, extras)


PROTOCOLS = {"motion": motion, "video": video, "retrieval": retrieval}
