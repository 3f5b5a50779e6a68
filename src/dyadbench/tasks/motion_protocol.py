"""Metrics of the motion protocol, computed from per-item arrays (no file I/O here).

Conventions (each reported with the value): features are standardized with the ground truth's
per-dimension mean and std before L2, variance, DTW and diversity; frames flagged invalid in the
release are left out of set-level metrics; single-sample metrics use a submission's first
sample; FRCorr/FRDist use the item's own ground truth as the one appropriate listener, FRDist on
consecutive 10 s segments (DTW is quadratic in length); FRSyn uses the partner as the speaker.
All intervals resample items (clips), the unit whose frames are correlated: set-level Fréchet
metrics through ``frechet_bootstrap(groups=item)``, per-item metrics by a bootstrap of their mean.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.cluster.vq import kmeans2, vq

from .. import metrics as M


@dataclass
class MotionData:
    ids: list[str]
    gen: list[np.ndarray]  # (S, N, D) per item
    gt: list[np.ndarray]  # (N, D)
    partner: list[np.ndarray]  # (N, D), aligned to the item
    valid: list[np.ndarray]  # (N,) bool
    fps: float
    onsets: list[np.ndarray] | None = None  # audio onset times of each target (gesture beats)
    mean: np.ndarray | None = None
    std: np.ndarray | None = None
    memo: dict | None = None  # (metric, item id) -> per-item value, shared by all subsets

    def __post_init__(self):
        if self.memo is None:
            self.memo = {}
        if self.mean is None:
            frames = np.concatenate([g[v] for g, v in zip(self.gt, self.valid)])
            self.mean, self.std = frames.mean(0), np.maximum(frames.std(0), 1e-6)

    def subset(self, idx) -> "MotionData":
        pick = lambda xs: None if xs is None else [xs[i] for i in idx]
        return MotionData(pick(self.ids), pick(self.gen), pick(self.gt), pick(self.partner), pick(self.valid), self.fps,
                          pick(self.onsets), self.mean, self.std, self.memo)

    def per_item(self, metric: str, fn) -> list:
        """``fn(i)`` for each item, computed once per item id across the whole set and every slice."""
        out = []
        for i, item_id in enumerate(self.ids):
            key = (metric, item_id)
            if key not in self.memo:
                self.memo[key] = fn(i)
            out.append(self.memo[key])
        return out

    def z(self, x: np.ndarray) -> np.ndarray:
        return (x - self.mean) / self.std

    def frame_items(self) -> np.ndarray:
        """Item index of every valid frame (the bootstrap's resampling unit)."""
        return np.concatenate([np.full(int(v.sum()), i) for i, v in enumerate(self.valid)])

    def frames(self, which: str, standardize: bool = False) -> np.ndarray:
        src = {"gen": [g[0] for g in self.gen], "gt": self.gt, "partner": self.partner}[which]
        out = np.concatenate([x[v] for x, v in zip(src, self.valid)])
        return self.z(out) if standardize else out


def _ci(res: dict, better: str, n: int, **extra) -> dict:
    return {"value": res["value"], "low": res.get("low"), "high": res.get("high"), "n": n, "better": better, **extra}


def _per_item(values, better: str, n_boot: int, seed: int, **extra) -> dict:
    v = np.asarray(values, float)
    if len(v) >= 2 and n_boot:
        return _ci(M.bootstrap_mean_ci(v, n_resamples=n_boot, seed=seed), better, len(v), **extra)
    return {"value": float(v.mean()), "low": None, "high": None, "n": len(v), "better": better, **extra}


def _fd(gen: np.ndarray, ref: np.ndarray, n_boot: int, seed: int, groups=None, **extra) -> dict:
    if len(gen) < 2 or len(ref) < 2:
        return {"value": None, "low": None, "high": None, "n": len(gen), "better": "lower", "note": "fewer than 2 frames"}
    if n_boot and (groups is None or len(np.unique(groups)) >= 2):
        res = M.frechet_bootstrap(gen, ref, n_resamples=n_boot, seed=seed, groups=groups)
        return _ci(res, "lower", len(gen), ci_unit="items" if groups is not None else "frames", **extra)
    return {"value": M.frechet_distance_from_features(gen, ref), "low": None, "high": None, "n": len(gen), "better": "lower", **extra}


def fd(d: MotionData, n_boot: int, seed: int) -> dict:
    return _fd(d.frames("gen"), d.frames("gt"), n_boot, seed, d.frame_items(), unit="frames")


def paired_fd(d: MotionData, n_boot: int, seed: int) -> dict:
    part = d.frames("partner")
    return _fd(np.hstack([part, d.frames("gen")]), np.hstack([part, d.frames("gt")]), n_boot, seed, d.frame_items(), unit="frames")


def fd_kinetic(d: MotionData, n_boot: int, seed: int) -> dict:
    def vel(series):
        out, items = [], []
        for i, (x, v) in enumerate(zip(series, d.valid)):
            both = v[1:] & v[:-1]
            out.append((np.diff(x, axis=0) * d.fps)[both])
            items.append(np.full(int(both.sum()), i))
        return np.concatenate(out), np.concatenate(items)

    gen, items = vel([g[0] for g in d.gen])
    return _fd(gen, vel(d.gt)[0], n_boot, seed, items, unit="frame velocities")


def l2(d: MotionData, n_boot: int, seed: int) -> dict:
    vals = d.per_item("l2", lambda i: M.l2_error(d.z(d.gen[i][0][d.valid[i]]), d.z(d.gt[i][d.valid[i]])))
    return _per_item(vals, "lower", n_boot, seed, convention="Learning2Listen: mean per-frame L2 norm, standardized")


def variance(d: MotionData, n_boot: int, seed: int) -> dict:
    vals = d.per_item("variance", lambda i: M.temporal_variance(d.z(d.gen[i][0][d.valid[i]])))
    ref = float(np.mean(d.per_item("variance_gt", lambda i: M.temporal_variance(d.z(d.gt[i][d.valid[i]])))))
    return _per_item(vals, "closer to reference", n_boot, seed, reference=ref)


def si_diversity(d: MotionData, n_boot: int, seed: int, k: int = 40) -> dict:
    gt = d.frames("gt", standardize=True)
    k = int(min(k, max(2, len(gt) // 10)))
    centroids, _ = kmeans2(gt, k, minit="++", seed=np.random.default_rng(seed))
    counts = np.stack([np.bincount(vq(d.z(g[0][v]), centroids)[0], minlength=k) for g, v in zip(d.gen, d.valid)])
    ref_counts = np.bincount(vq(gt, centroids)[0], minlength=k)

    def entropy(c):
        p = c[c > 0] / c.sum()
        return float(-(p * np.log2(p)).sum())

    value = entropy(counts.sum(0))
    out = {"value": value, "low": None, "high": None, "n": len(counts), "better": "closer to reference",
           "reference": entropy(ref_counts), "clusters": k}
    if len(counts) >= 2 and n_boot:
        rng = np.random.default_rng(seed)
        reps = [entropy(counts[rng.integers(0, len(counts), len(counts))].sum(0)) for _ in range(n_boot)]
        out["low"], out["high"] = M.percentile_interval(np.asarray(reps))
    return out


def diversity(d: MotionData, n_boot: int, seed: int) -> dict:
    value = M.random_pair_diversity(d.frames("gen", standardize=True), seed=seed)
    return {"value": value, "low": None, "high": None, "n": len(d.gen), "better": "closer to reference",
            "reference": M.random_pair_diversity(d.frames("gt", standardize=True), seed=seed)}


def fr_corr(d: MotionData, n_boot: int, seed: int) -> dict:
    vals = d.per_item("fr_corr", lambda i: float(np.mean([M.ccc(s[d.valid[i]], d.gt[i][d.valid[i]]).mean() for s in d.gen[i]])))
    return _per_item(vals, "higher", n_boot, seed, convention="REACT CCC, own ground truth as the appropriate listener, mean over samples")


def fr_dist(d: MotionData, n_boot: int, seed: int, segment_s: float = 10.0) -> dict:
    seg = max(2, int(segment_s * d.fps))

    def one(i):
        a, b = d.z(d.gen[i][0][d.valid[i]]), d.z(d.gt[i][d.valid[i]])
        return float(np.mean([M.dtw_distance(a[s : s + seg], b[s : s + seg]) / a.shape[1]
                              for s in range(0, len(a) - 1, seg) if len(a[s : s + seg]) > 1]))

    vals = d.per_item("fr_dist", one)
    return _per_item(vals, "lower", n_boot, seed, convention=f"DTW/dims on standardized {segment_s:g} s segments")


def fr_syn(d: MotionData, n_boot: int, seed: int) -> dict:
    lag = lambda i: int(min(49, len(d.gt[i]) - 3))
    vals = d.per_item("fr_syn", lambda i: M.fr_syn(d.z(d.partner[i])[None], d.z(d.gen[i][:1])[None], max_lag=lag(i)))
    ref = float(np.mean(d.per_item("fr_syn_gt", lambda i: M.fr_syn(d.z(d.partner[i])[None], d.z(d.gt[i])[None, None], max_lag=lag(i)))))
    return _per_item(vals, "closer to reference", n_boot, seed, reference=ref, unit="frames")


def beat_consistency(d: MotionData, n_boot: int, seed: int) -> dict:
    if d.onsets is None:
        return {"value": None, "note": "no audio onsets"}
    vals, ref = [], []
    for g, t, on in zip(d.gen, d.gt, d.onsets):
        if len(on) == 0:
            continue
        for series, sink in ((g[0], vals), (t, ref)):
            beats = M.kinematic_beats(series, fps=d.fps)
            sink.append(M.beat_consistency(beats, on) if len(beats) else 0.0)
    if not vals:
        return {"value": None, "note": "no audio onsets in any item"}
    return _per_item(vals, "higher", n_boot, seed, reference=float(np.mean(ref)),
                     convention="kinematic beats of axis-angle speed vs audio onsets, sigma 0.1 s")


METRICS = {"ffd": fd, "fgd": fd, "fd": fd, "paired_fd": paired_fd, "fd_kinetic": fd_kinetic, "l2": l2, "variance": variance,
           "si_diversity": si_diversity, "diversity": diversity, "fr_corr": fr_corr, "fr_dist": fr_dist, "fr_syn": fr_syn,
           "beat_consistency": beat_consistency}


def compute(names, d: MotionData, n_boot: int, seed: int, si_clusters: int = 40) -> dict:
    out = {}
    for name in names:
        fn = METRICS[name]
        out[name] = fn(d, n_boot, seed, k=si_clusters) if name == "si_diversity" else fn(d, n_boot, seed)
    return out
