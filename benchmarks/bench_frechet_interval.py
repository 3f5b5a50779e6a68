"""FD on ill-conditioned covariances, and the cost and coverage of `frechet_interval` at d = 2048.

Run: .venv/bin/python benchmarks/bench_frechet_interval.py [--d 2048] [--n 10000] [--reps 200]
        [--parts fd interval coverage] [--draws FILE.jsonl]

1. Ill-conditioned input (X = Z·W, W square random, as real Inception features are): one FD by our
   route (with and without the refinement of near-zero eigenvalues), by `scipy.linalg.sqrtm`, and
   the floors: Cholesky + `eigvalsh`, and Cholesky + the product + `eigvalsh`, of the same size.
2. `frechet_interval(method="delta")` vs one `frechet_distance_from_features` on the same rows.
3. Coverage: `--reps` independent draws from two Gaussians; how often the 95 % interval covers the
   estimator's expectation at that n (the mean FD over the draws), and the bias against the true FD.
   Each draw is appended to ``--draws`` as it finishes (a long run can be resumed: draws already in
   the file are kept, seeds continue after them).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import scipy.linalg as sla
from _timing import best_of, timed

from dyadbench.metrics import (
    frechet_distance,
    frechet_distance_from_features,
    frechet_interval,
)
from dyadbench.metrics._frechet_linalg import tri_product


def fd_routes(args, x, y):
    mu1, s1, mu2, s2 = x.mean(0), np.cov(x, rowvar=False), y.mean(0), np.cov(y, rowvar=False)
    t_ours, v_ours = best_of(lambda: frechet_distance(mu1, s1, mu2, s2))
    t_fast, v_fast = best_of(lambda: frechet_distance(mu1, s1, mu2, s2, exact=False))
    t_floor, _ = best_of(lambda: (np.linalg.cholesky(s2), sla.eigh(s1, eigvals_only=True, driver="evd")))
    t_floor_prod, _ = best_of(lambda: sla.eigh(np.linalg.cholesky(s2).T @ s1 @ np.linalg.cholesky(s2),
                                               eigvals_only=True, driver="evd"))
    print(f"## ill-conditioned FD, d={args.d}, n={args.n} (best of 3 after a warm-up)\n")
    print("| route | seconds | ours / route |\n|---|---|---|")
    print(f"| ours (`frechet_distance`, refinement bounded) | {t_ours:.3f} | 1.00 |")
    print(f"| ours without refinement (`exact=False`) | {t_fast:.3f} | {t_ours / t_fast:.2f} (rel. diff {abs(v_fast - v_ours) / v_ours:.1e}) |")
    print(f"| floor: Cholesky + `eigvalsh` | {t_floor:.3f} | **{t_ours / t_floor:.2f}** (goal <= 2.5) |")
    print(f"| floor: Cholesky + product + `eigvalsh` | {t_floor_prod:.3f} | {t_ours / t_floor_prod:.2f} |")
    if not args.skip_sqrtm:
        t_sq, v_sq = timed(lambda: float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2)
                                         - 2 * np.trace(np.real(sla.sqrtm(s1 @ s2)))))
        print(f"| scipy `sqrtm` route (one call) | {t_sq:.3f} | sqrtm / ours = **{t_sq / t_ours:.1f}x** (goal >= 10x; "
              f"rel. diff {abs(v_sq - v_ours) / v_ours:.1e}) |")


def interval_cost(args, x, y):
    n = args.n
    t_fd, _ = timed(lambda: frechet_distance_from_features(x, y))
    groups = np.repeat(np.arange(n // 100), 100)
    t_int, res = timed(lambda: frechet_interval(x, y, groups=groups, y_groups=groups, method="delta", bias=False))
    t_bias, _ = timed(lambda: frechet_interval(x, y, groups=groups, y_groups=groups, method="delta"))
    print(f"\n## interval cost, d={args.d}, n={n}, {n // 100} clips of 100 frames\n")
    print(f"one FD from features {t_fd:.2f} s; delta-method interval {t_int:.2f} s = **{t_int / t_fd:.1f}x** (goal <= 10x), "
          f"with the half-sample bias estimate {t_bias:.2f} s = {t_bias / t_fd:.1f}x; "
          f"FD {res['value']:.3f} [{res['low']:.3f}, {res['high']:.3f}], se {res['se']:.4f}")


def coverage(args, rng):
    """Independent draws from two known Gaussians; each draw's interval is kept in ``--draws``."""
    d, n = args.d, args.n
    a, b = rng.normal(size=(d, d)) / np.sqrt(d), rng.normal(size=(d, d)) / np.sqrt(d)
    s_true1, s_true2 = a @ a.T + 0.1 * np.eye(d), b @ b.T + 0.1 * np.eye(d)
    m_true2 = np.full(d, 0.02)
    true_fd = frechet_distance(np.zeros(d), s_true1, m_true2, s_true2)
    c1, c2 = np.linalg.cholesky(s_true1), np.linalg.cholesky(s_true2)
    path = args.draws or Path(f"coverage-d{d}-n{n}.jsonl")
    done = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    done = [r for r in done if r["d"] == d and r["n"] == n]
    t0, resumed = time.perf_counter(), len(done)
    with path.open("a") as out:
        for rep in range(len(done), args.reps):
            draw = np.random.default_rng([d, n, rep])  # draw `rep` is the same whichever run computes it
            # rows z·Cᵀ with C lower-triangular, as (C zᵀ)ᵀ by trmm: half the flops of a full product
            xs = tri_product(c1, draw.normal(size=(n, d)).T).T
            ys = tri_product(c2, draw.normal(size=(n, d)).T).T + m_true2
            r = frechet_interval(xs, ys, method="delta", bias=rep % args.bias_every == 0)
            row = {"d": d, "n": n, "rep": rep, **{k: r[k] for k in ("value", "low", "high", "se", "bias", "bias_mean_term")}}
            out.write(json.dumps(row) + "\n")
            out.flush()
            done.append(row)
            if (rep + 1) % 10 == 0:
                print(f"  {rep + 1} draws, {(time.perf_counter() - t0) / (rep + 1 - resumed):.1f} s each so far", flush=True)
    values = np.array([r["value"] for r in done])
    expectation = values.mean()
    covered = np.array([r["low"] <= expectation <= r["high"] for r in done])
    # A binomial proportion's Wilson 95 % interval: how precisely this many draws pin the coverage.
    k, m, z = covered.sum(), len(covered), 1.96
    centre = (k + z * z / 2) / (m + z * z)
    half = z * np.sqrt(k * (m - k) / m + z * z / 4) / (m + z * z)
    halves = [r["bias"] for r in done if r["bias"] is not None]
    print(f"\n## coverage, d={d}, n={n}, {m} independent draws\n")
    print(f"true FD {true_fd:.4f}; mean estimate {expectation:.4f} (bias {expectation - true_fd:+.4f}; half-sample "
          f"estimate {np.mean(halves):+.4f} over {len(halves)} draws; means-only term "
          f"{np.mean([r['bias_mean_term'] for r in done]):.4f}); sd of estimates {values.std(ddof=1):.4f}, "
          f"median se {np.median([r['se'] for r in done]):.4f}; 95 % intervals covering the expectation: "
          f"**{100 * covered.mean():.1f} %** (Wilson 95 %: {100 * (centre - half):.1f}–{100 * (centre + half):.1f} %)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--d", type=int, default=2048)
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--parts", nargs="+", default=["fd", "interval", "coverage"], choices=["fd", "interval", "coverage"])
    ap.add_argument("--draws", type=Path, default=None, help="JSON lines of coverage draws (default coverage-d<d>-n<n>.jsonl)")
    ap.add_argument("--bias-every", type=int, default=10, help="half-sample bias estimate on every k-th draw")
    ap.add_argument("--skip-sqrtm", action="store_true")
    args = ap.parse_args()
    d, n = args.d, args.n
    rng = np.random.default_rng(0)
    w = rng.normal(size=(d, d)) / np.sqrt(d)
    x = rng.normal(size=(n, d)) @ w
    y = (rng.normal(size=(n, d)) * 1.05) @ w + 0.05
    if "fd" in args.parts:
        fd_routes(args, x, y)
    if "interval" in args.parts:
        interval_cost(args, x, y)
    if "coverage" in args.parts:
        coverage(args, rng)


if __name__ == "__main__":
    main()
