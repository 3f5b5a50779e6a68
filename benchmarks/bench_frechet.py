"""Fréchet distance: ours vs the sqrtm route vs the eigvals(S1 @ S2) route, side by side.

Run: .venv/bin/python benchmarks/bench_frechet.py [--dims 64 256 2048] [--repeats 3]
Prints a Markdown table (time of each route, ratio against ours, relative difference) and the
time of a 200-resample bootstrap at the largest dimension.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import scipy.linalg as sla
from _timing import best_of

from dyadbench.metrics import FrechetReference, frechet_bootstrap, frechet_distance


def sqrtm_route(mu1, s1, mu2, s2):
    covmean = np.real(sla.sqrtm(s1 @ s2))
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def eigvals_route(mu1, s1, mu2, s2):
    ev = np.linalg.eigvals(s1 @ s2)
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * np.sqrt(ev).real.sum())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dims", type=int, nargs="+", default=[64, 256, 2048])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--bootstrap", type=int, default=200)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    print("| d | ours (s) | sqrtm (s) | eigvals (s) | sqrtm / ours | eigvals / ours | rel. diff vs sqrtm | rel. diff vs eigvals | reused reference (s) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for d in args.dims:
        n = 2 * d + 100
        x = rng.standard_normal((n, d))
        y = 0.8 * rng.standard_normal((n, d)) + 0.2 * x + 0.1
        mu1, s1 = x.mean(0), np.cov(x, rowvar=False)
        mu2, s2 = y.mean(0), np.cov(y, rowvar=False)
        t_ours, v_ours = best_of(lambda: frechet_distance(mu1, s1, mu2, s2), args.repeats)
        t_sq, v_sq = best_of(lambda: sqrtm_route(mu1, s1, mu2, s2), args.repeats)
        t_ev, v_ev = best_of(lambda: eigvals_route(mu1, s1, mu2, s2), args.repeats)
        ref = FrechetReference.from_stats(mu2, s2)
        t_reuse, _ = best_of(lambda: ref.distance(mu1, s1), args.repeats)
        print(
            f"| {d} | {t_ours:.4f} | {t_sq:.4f} | {t_ev:.4f} | {t_sq / t_ours:.1f}x | {t_ev / t_ours:.1f}x | "
            f"{abs(v_ours - v_sq) / abs(v_sq):.1e} | {abs(v_ours - v_ev) / abs(v_ev):.1e} | {t_reuse:.4f} |"
        )
    d = max(args.dims)
    x = rng.standard_normal((2 * d + 100, d))
    y = rng.standard_normal((2 * d + 100, d)) + 0.1
    t0 = time.perf_counter()
    res = frechet_bootstrap(x, y, n_resamples=args.bootstrap)
    dt = time.perf_counter() - t0
    print(f"\nbootstrap: {args.bootstrap} resamples at d={d}, n={x.shape[0]}: {dt:.1f} s total "
          f"({dt / args.bootstrap:.3f} s per resample); FD={res['value']:.2f} [{res['low']:.2f}, {res['high']:.2f}]")


if __name__ == "__main__":
    main()
