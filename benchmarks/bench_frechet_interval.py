"""FD on ill-conditioned covariances, and the cost and coverage of `frechet_interval` at d = 2048.

Run: .venv/bin/python benchmarks/bench_frechet_interval.py [--d 2048] [--n 10000] [--reps 200]

1. Ill-conditioned input (X = Z·W, W square random, as real Inception features are): one FD by our
   route, by `scipy.linalg.sqrtm`, and the floor Cholesky + `eigvalsh` of the same size.
2. `frechet_interval(method="delta")` vs one `frechet_distance_from_features` on the same rows.
3. Coverage: `--reps` independent draws from two Gaussians; how often the 95 % interval covers the
   estimator's expectation at that n (the mean FD over the draws), and the bias against the true FD.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import scipy.linalg as sla
from _timing import timed

from dyadbench.metrics import (
    frechet_distance,
    frechet_distance_from_features,
    frechet_interval,
)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--d", type=int, default=2048)
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--skip-sqrtm", action="store_true")
    args = ap.parse_args()
    d, n = args.d, args.n
    rng = np.random.default_rng(0)
    w = rng.normal(size=(d, d)) / np.sqrt(d)
    x = rng.normal(size=(n, d)) @ w
    y = (rng.normal(size=(n, d)) * 1.05) @ w + 0.05
    mu1, s1, mu2, s2 = x.mean(0), np.cov(x, rowvar=False), y.mean(0), np.cov(y, rowvar=False)
    frechet_distance(mu1, s1, mu2, s2)  # warm-up
    t_ours, v_ours = timed(lambda: frechet_distance(mu1, s1, mu2, s2))
    t_floor, _ = timed(lambda: sla.eigh(np.linalg.cholesky(s2).T @ s1 @ np.linalg.cholesky(s2), eigvals_only=True, driver="evd"))
    print(f"## ill-conditioned FD, d={d}, n={n}\n")
    print("| route | seconds | vs ours |\n|---|---|---|")
    print(f"| ours (`frechet_distance`) | {t_ours:.2f} | 1.0x |")
    print(f"| floor: Cholesky + product + eigvalsh | {t_floor:.2f} | {t_floor / t_ours:.2f}x |")
    if not args.skip_sqrtm:
        t_sq, v_sq = timed(lambda: float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2)
                                         - 2 * np.trace(np.real(sla.sqrtm(s1 @ s2)))))
        print(f"| scipy sqrtm route | {t_sq:.2f} | {t_sq / t_ours:.1f}x (rel. diff {abs(v_sq - v_ours) / v_ours:.1e}) |")
    print(f"\nours / floor = {t_ours / t_floor:.2f} (goal <= 2.5)")

    t_fd, _ = timed(lambda: frechet_distance_from_features(x, y))
    groups = np.repeat(np.arange(n // 100), 100)
    t_int, res = timed(lambda: frechet_interval(x, y, groups=groups, y_groups=groups, method="delta"))
    print(f"\n## interval cost, d={d}, n={n}, {n // 100} clips of 100 frames\n")
    print(f"one FD from features {t_fd:.2f} s; delta-method interval {t_int:.2f} s = {t_int / t_fd:.1f}x (goal <= 10x); "
          f"FD {res['value']:.3f} [{res['low']:.3f}, {res['high']:.3f}], se {res['se']:.4f}")

    # Coverage against repeated sampling from two known Gaussians.
    a, b = rng.normal(size=(d, d)) / np.sqrt(d), rng.normal(size=(d, d)) / np.sqrt(d)
    s_true1, s_true2 = a @ a.T + 0.1 * np.eye(d), b @ b.T + 0.1 * np.eye(d)
    m_true2 = np.full(d, 0.02)
    true_fd = frechet_distance(np.zeros(d), s_true1, m_true2, s_true2)
    c1, c2 = np.linalg.cholesky(s_true1), np.linalg.cholesky(s_true2)
    results = []
    t0 = time.perf_counter()
    for _ in range(args.reps):
        xs = rng.normal(size=(n, d)) @ c1.T
        ys = rng.normal(size=(n, d)) @ c2.T + m_true2
        results.append(frechet_interval(xs, ys, method="delta"))
    values = np.array([r["value"] for r in results])
    expectation = values.mean()
    cover = np.mean([r["low"] <= expectation <= r["high"] for r in results])
    print(f"\n## coverage, d={d}, n={n}, {args.reps} independent draws ({time.perf_counter() - t0:.0f} s)\n")
    print(f"true FD {true_fd:.4f}; mean estimate {expectation:.4f} (bias {expectation - true_fd:+.4f}; half-sample "
          f"estimate {np.mean([r['bias'] for r in results]):+.4f}, means-only term {np.mean([r['bias_mean_term'] for r in results]):.4f}); "
          f"sd of estimates {values.std(ddof=1):.4f}, "
          f"median se {np.median([r['se'] for r in results]):.4f}; 95 % intervals covering the expectation: {100 * cover:.1f} %")


if __name__ == "__main__":
    main()
