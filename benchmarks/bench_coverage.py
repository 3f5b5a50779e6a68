"""Coverage of every interval family of the scoring engine, measured by simulation.

Run: .venv/bin/python benchmarks/bench_coverage.py [--draws 200] [--families frechet entropy mean rank]
        [--out benchmarks/results/coverage-engine.jsonl]

Each draw generates one evaluation's items and scores them through ``metrics.aggregate.Aggregator``
(the engine ``evaluate`` runs), with the registered metric's own item statistics and finish:

* ``frechet`` (``ffd``): items of T frames, each item with its own offset and AR(1) noise (ρ = 0.9)
  across frames, generated frames a noisy linear function of the item's true frames: frames of an
  item are correlated, items are the unit. Delta method (≥ 10 items) or re-centred Poisson bootstrap.
* ``entropy`` (``si_diversity``, clusters held fixed as in the engine): an item's frames walk a
  Markov chain over 40 clusters (stay 0.95), histogram entropy of the pooled counts.
* ``mean`` (``l2``): per-item values, log-normal with σ = 0.3 (an item's mean over many frames) or
  0.8 (heavily skewed).
* ``rank`` (``median_rank``): ranks of 407 queries in a bank of 1,896 (RealTalk's sizes), set-level.
* ``pairs`` (``diversity``): 10,000 random pairs of pooled frames, items with their own offset and
  scale and AR(1) frames; the engine's frame sample and its pair bootstrap.

The estimator's expectation at that size is Monte-Carlo-computed: the mean of the other draws'
estimates (leave one out). A draw covers when its 95 % interval contains it. Reported: coverage
with its Wilson interval, per family and number of items (slices of 5–50 items included).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from scipy.signal import lfilter

from dyadbench.metrics.aggregate import ALL, Aggregator, plan
from dyadbench.metrics.human import wilson_interval
from dyadbench.metrics.motion_fd import fd_item_stats
from dyadbench.metrics.registry import ItemSet, score


def _ar1(rng, t, d, rho=0.9):
    """x_0 = e_0, x_t = ρ x_{t−1} + √(1 − ρ²) e_t along frames (stationary, unit variance)."""
    e = rng.normal(size=(t, d))
    e[1:] *= np.sqrt(1 - rho**2)
    return lfilter([1.0], [1.0, -rho], e, axis=0)


def draw_frechet(rng, items, frames, d, n_boot):
    mix_r = np.eye(d) + 0.3 * rng.normal(size=(d, d)) / np.sqrt(d)
    agg = Aggregator(plan(["ffd"]), n_boot=n_boot, slice_boot=n_boot, seed=int(rng.integers(1 << 30)))
    shift = np.zeros(d)
    for i in range(items):
        ref = (rng.normal(0, 0.7, d) + _ar1(rng, frames, d)) @ mix_r
        gen = 0.8 * ref + 0.5 * _ar1(rng, frames, d) + 0.2
        agg.add(f"item{i:04d}", [], {"ffd": {"stats": fd_item_stats(gen[None], ref, np.ones(frames, bool), shift),
                                             "ref_stats": None}})
    return agg.results(ALL, {"mean": shift})["ffd"]


def draw_entropy(rng, items, frames, k, n_boot):
    agg = Aggregator(plan(["si_diversity"]), n_boot=n_boot, slice_boot=n_boot, seed=int(rng.integers(1 << 30)))
    weights = np.linspace(1.0, 3.0, k)
    weights /= weights.sum()
    for i in range(items):
        stay = rng.random(frames) < 0.95
        jumps = rng.choice(k, size=frames, p=weights)
        states = np.empty(frames, int)
        states[0] = jumps[0]
        for t in range(1, frames):
            states[t] = states[t - 1] if stay[t] else jumps[t]
        agg.add(f"item{i:04d}", [], {"si_diversity": {"stats": np.bincount(states, minlength=k).astype(float),
                                                      "ref_stats": None}})
    return agg.results(ALL, {})["si_diversity"]


def draw_mean(rng, items, skew, n_boot):
    agg = Aggregator(plan(["l2"]), n_boot=n_boot, slice_boot=n_boot, seed=int(rng.integers(1 << 30)))
    for i, v in enumerate(rng.lognormal(0.0, skew, items)):
        agg.add(f"item{i:04d}", [], {"l2": {"value": float(v), "ref": None}})
    return agg.results(ALL, {})["l2"]


def draw_pairs(rng, items, frames, d, n_boot):
    """``diversity``: each item's frames AR(1) around its own offset with its own scale; the engine's
    path — every item's share of the seeded frame sample, then the set-level result with the pair
    bootstrap (``metrics.bootstrap.pair_replicates``)."""
    from dyadbench.metrics.streaming import item_sample

    seed = int(rng.integers(1 << 30))
    agg = Aggregator(plan(["diversity"]), n_boot=n_boot, slice_boot=n_boot, seed=seed)
    for i in range(items):
        x = rng.normal(scale=0.7, size=d) + rng.uniform(0.5, 2.0) * _ar1(rng, frames, d)
        item_id = f"item{i:04d}"
        valid = np.ones(frames, bool)
        agg.add(item_id, [], {})
        truth = rng.normal(scale=0.7, size=d) + _ar1(rng, frames, d)  # the reference value's input only
        agg.add_sample(item_id, *item_sample(item_id, seed, valid, {"generated": x[None], "reference": truth, "valid": valid},
                                              agg.sample_frames))
    return agg.results(ALL, {"mean": np.zeros(d), "std": np.ones(d)})["diversity"]


def draw_rank(rng, items, bank, n_boot):
    ranks = np.minimum(bank, 1 + rng.geometric(1 / 400, size=items))  # a model above chance
    data = ItemSet([f"q{i:04d}" for i in range(items)], {"ranks": list(ranks)}, {"bank_size": bank})
    return score("median_rank", data, n_boot=n_boot, seed=int(rng.integers(1 << 30)))[0].to_dict()


CONFIGS = {
    "frechet": [dict(items=50, frames=1000, d=128), dict(items=50, frames=300, d=306), dict(items=20, frames=1000, d=128),
                dict(items=10, frames=1000, d=128), dict(items=5, frames=1000, d=128)],
    "entropy": [dict(items=50, frames=1000, k=40), dict(items=20, frames=1000, k=40), dict(items=5, frames=1000, k=40)],
    # per-item values: log-normal, σ = 0.3 (an item's mean over hundreds of frames) or 0.8 (heavily skewed)
    "mean": [dict(items=2000, skew=0.8), dict(items=400, skew=0.8), dict(items=50, skew=0.8), dict(items=20, skew=0.8),
             dict(items=5, skew=0.8), dict(items=50, skew=0.3), dict(items=20, skew=0.3), dict(items=5, skew=0.3)],
    "rank": [dict(items=407, bank=1896), dict(items=50, bank=1896)],
    "pairs": [dict(items=200, frames=300, d=20), dict(items=50, frames=300, d=20), dict(items=20, frames=300, d=20),
              dict(items=5, frames=300, d=20)],
}
DRAW = {"frechet": draw_frechet, "entropy": draw_entropy, "mean": draw_mean, "rank": draw_rank, "pairs": draw_pairs}


def run(family: str, config: dict, draws: int, n_boot: int, out: Path) -> dict:
    rows, t0 = [], time.perf_counter()
    for k in range(draws):
        rng = np.random.default_rng([list(CONFIGS).index(family), *(int(round(v * 10)) for v in config.values()), k])
        m = DRAW[family](rng, **config, n_boot=n_boot)
        rows.append({"value": m["value"], "low": m["low"], "high": m["high"], "method": m.get("interval_method", "")})
    values = np.array([r["value"] for r in rows])
    expectation = (values.sum() - values) / (len(values) - 1)  # leave one out
    cover = np.array([r["low"] <= e <= r["high"] for r, e in zip(rows, expectation)])
    lo, hi = wilson_interval(int(cover.sum()), len(cover))
    methods = sorted({r["method"].split(" (")[0].split(" over")[0] for r in rows})
    result = {"family": family, **config, "draws": draws, "coverage": float(cover.mean()), "wilson_low": lo,
              "wilson_high": hi, "contains_estimate": bool(all(r["low"] <= r["value"] <= r["high"] for r in rows)),
              "median_width": float(np.median([r["high"] - r["low"] for r in rows])), "sd_of_estimates": float(values.std()),
              "methods": methods, "seconds": round(time.perf_counter() - t0, 1)}
    with out.open("a") as f:
        f.write(json.dumps(result) + "\n")
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--draws", type=int, default=200)
    ap.add_argument("--boot", type=int, default=200, help="bootstrap resamples where a family uses them")
    ap.add_argument("--families", nargs="+", default=list(CONFIGS))
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "coverage-engine.jsonl")
    ap.add_argument("--items", type=int, nargs="+", help="only the configurations with these numbers of items")
    ap.add_argument("--pairs-by-recomputing", action="store_true",
                    help="pairs: the plain item bootstrap (diversity recomputed on each resampled set), for comparison")
    args = ap.parse_args()
    if args.pairs_by_recomputing:
        import dataclasses

        from dyadbench.metrics.spec import METRICS, get_metric

        spec = get_metric("diversity")
        METRICS["diversity"] = dataclasses.replace(spec, conventions={k: dataclasses.replace(c, pair_terms=None)
                                                                      for k, c in spec.conventions.items()})
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)  # as evaluate's workers: small matrix products are slower with more threads
    print("| family | items | shape | method | coverage (Wilson 95 %) | contains estimate | draws | s |")
    print("|---|---|---|---|---|---|---|---|")
    for family in args.families:
        for config in CONFIGS[family]:
            if args.items and config["items"] not in args.items:
                continue
            r = run(family, config, args.draws, args.boot, args.out)
            shape = ", ".join(f"{k}={v}" for k, v in config.items() if k != "items")
            print(f"| {family} | {r['items']} | {shape} | {' / '.join(r['methods'])} | {r['coverage']:.1%} "
                  f"({r['wilson_low']:.1%}–{r['wilson_high']:.1%}) | {r['contains_estimate']} | {r['draws']} | {r['seconds']} |",
                  flush=True)


if __name__ == "__main__":
    main()
