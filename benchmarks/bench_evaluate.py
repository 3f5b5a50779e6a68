"""Evaluation at (towards) release size: wall time, peak RSS and frames/s of a random submission.

Run: .venv/bin/python benchmarks/bench_evaluate.py [--frames 500000 4000000] [--workers 1 2] [--tasks facial-motion gesture]
        [--engines local ray] [--cold]
     .venv/bin/python benchmarks/bench_evaluate.py --parts fixed [--fixed-items 1000] [--fixed-groups 8]

Writes a features-only test split (`dyadbench sample seamless --layout files --no-video --split test`)
of ``--base-frames`` distinct 5-minute recordings, then larger splits by repeating those
recordings under new session ids (hard links: the reader and the scorer still see one file per
participant, read and scored one by one). A random submission (Gaussian frames with each item's
per-dimension mean and std) is written per distinct item and linked for its copies. Each
`dyadbench evaluate` runs in a child process; peak RSS is the largest sum over the process tree
(main process + workers), sampled from /proc every 0.2 s. Beside each run, on the same split and
the same number of workers, the floor (``_floor.py``: read every array the task reads and
accumulate the Gaussian sums of target, paired and velocity features), and, from report.json's
``timing``, where evaluate's time goes (per stage and metric in the workers; headline and slices
in the main process).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

SECONDS = 300.0


def tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and all its descendants."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        todo.extend(children.get(p, []))
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


def run_measured(cmd: list[str]) -> tuple[float, int, subprocess.CompletedProcess]:
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "COLUMNS": "200"})
    peak = [0]

    def sample():
        while proc.poll() is None:
            peak[0] = max(peak[0], tree_rss(proc.pid))
            time.sleep(0.2)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    out, err = proc.communicate()
    thread.join()
    return time.perf_counter() - t0, peak[0], subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def write_base(root: Path, frames: int) -> None:
    from dyadbench.datasets.sample.seamless_sample import write_seamless_sample

    if (root / "assets").exists():
        return
    per_dyad = 2 * 2 * SECONDS * 30  # 2 labels x 2 participants; a third of the interactions lack movement keys
    dyads = max(1, int(np.ceil(frames / per_dyad / (2 / 3))))
    write_seamless_sample(root, dyads=dyads, seconds=SECONDS, seed=0, layout="files", video=False, splits=("test",))


def _new_id(name: str, copy: int) -> str:
    return re.sub(r"_S(\d+)_", lambda m: f"_S{int(m.group(1)) + 100_000 * copy}_", name)


def replicate(base: Path, root: Path, copies: int) -> None:
    """``copies`` times the base split, each copy under new session ids (hard links)."""
    if (root / "assets").exists():
        return
    for path in base.rglob("*"):
        if path.is_file() and "assets" not in path.parts:
            for c in range(copies):
                target = root / path.relative_to(base)
                target = target.with_name(_new_id(path.name, c))
                target.parent.mkdir(parents=True, exist_ok=True)
                os.link(path, target)
    (root / "assets").mkdir(parents=True)
    for name in ("filelist", "participants", "relationships", "interactions"):
        df = pd.read_csv(base / "assets" / f"{name}.csv", dtype=str, keep_default_na=False)
        if name == "filelist":
            df = pd.concat([df.assign(file_id=df.file_id.map(lambda f, c=c: _new_id(f, c))) for c in range(copies)])
        if name == "relationships":
            df = pd.concat([df.assign(session_id=(df.session_id.astype(int) + 100_000 * c).astype(str)) for c in range(copies)])
        df.to_csv(root / "assets" / f"{name}.csv", index=False)


def write_submission(task_name: str, base: Path, root: Path, copies: int, workdir: Path) -> Path:
    from dyadbench.datasets.submission import write_motion_submission
    from dyadbench.runner.items import features, motion_items, per_frame_shapes
    from dyadbench.tasks.registry import get_task

    task = get_task(task_name)
    base_sub = workdir / f"random-base-{task_name.replace('/', '_')}"
    if not base_sub.exists():
        rng = np.random.default_rng(0)
        for it in motion_items(task, base):
            x = features(it.target, task)
            gen = rng.normal(x.mean(0), x.std(0) + 1e-6, x.shape)
            out, start = {}, 0
            for key, shape in per_frame_shapes(task).items():
                size = int(np.prod(shape)) if shape else 1
                out[key] = gen[:, start:start + size].reshape(len(gen), *shape)
                start += size
            write_motion_submission(base_sub, it.id, out)
    sub = workdir / f"random-{root.name}-{task_name.replace('/', '_')}"
    if not sub.exists():
        sub.mkdir(parents=True)
        for f in base_sub.iterdir():
            for c in range(copies):
                os.link(f, sub / _new_id(f.name, c))
    return sub


def fixed_cost(items: int, groups: int, n_boot: int, slice_boot: int) -> None:
    """The evaluation's set-level ("fixed") cost: folding item statistics into the headline and
    every slice's value and interval, for the facial-motion task's three Fréchet metrics (FFD
    128-d, paired FD 256-d, FD on velocities 128-d), with the engine's delta method and with the
    Poisson-bootstrap route it replaced (forced by raising the delta method's minimum item count),
    in one run on the same item statistics."""
    from threadpoolctl import threadpool_limits

    import dyadbench.metrics.aggregate as A
    from dyadbench.metrics.streaming import gaussian_sums

    threadpool_limits(limits=1)  # as evaluate's main process (--threads 1)

    rng = np.random.default_rng(0)
    d, frames = 128, 600
    plans = A.plan(["ffd", "paired_fd", "fd_kinetic"])
    outputs = []
    for i in range(items):
        ref = rng.normal(0, 1, (frames, d)) + rng.normal(0, 0.5, d)
        gen = 0.7 * ref + rng.normal(0, 0.7, (frames, d))
        part = rng.normal(0, 1, (frames, d))
        pair = lambda x: np.hstack([part, x])
        stats = lambda a, b: {"stats": np.concatenate([gaussian_sums(a, 0), gaussian_sums(b, 0)]), "ref_stats": None}
        outputs.append((f"item{i:05d}", [("group", f"g{i % groups}")],
                        {"ffd": stats(gen, ref), "paired_fd": stats(pair(gen), pair(ref)),
                         "fd_kinetic": stats(np.diff(gen, axis=0), np.diff(ref, axis=0))}))
    shared = {"mean": np.zeros(d), "fps": 30.0}
    print(f"fixed cost: {items} items, {groups} slice groups, d = 128/256/128, {n_boot} resamples (+{slice_boot} per slice)")
    print("| route | headline + slices (s) | per group (s) |")
    print("|---|---:|---:|")
    times = {}
    for route, min_units in (("delta method (now)", A.MIN_DELTA_UNITS), ("Poisson bootstrap (before)", 10**9)):
        A.MIN_DELTA_UNITS = min_units
        agg = A.Aggregator(plans, n_boot=n_boot, slice_boot=slice_boot, seed=0)
        for item_id, grp, out in outputs:
            agg.add(item_id, grp, out)
        t0 = time.perf_counter()
        for key in ["all", *[("group", f"g{g}") for g in range(groups)]]:
            agg.results(key, shared)
        times[route] = time.perf_counter() - t0
        print(f"| {route} | {times[route]:.1f} | {times[route] / (groups + 1):.2f} |", flush=True)
    print(f"before / now: {times['Poisson bootstrap (before)'] / times['delta method (now)']:.1f}x")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--parts", nargs="+", default=["evaluate"], choices=["evaluate", "fixed"],
                    help="evaluate: end-to-end runs at release size; fixed: the set-level cost, delta vs bootstrap")
    ap.add_argument("--fixed-items", type=int, default=1000)
    ap.add_argument("--fixed-groups", type=int, default=8)
    ap.add_argument("--frames", type=int, nargs="+", default=[500_000, 4_000_000], help="target facial-motion frames per split")
    ap.add_argument("--base-frames", type=int, default=250_000, help="distinct recordings, repeated to reach --frames")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--tasks", nargs="+", default=["facial-motion", "gesture"])
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/dyadbench-bench-evaluate"))
    ap.add_argument("--bootstrap", type=int, default=200)
    ap.add_argument("--engines", nargs="+", default=["local"], choices=["local", "ray"])
    ap.add_argument("--cold", action="store_true", help="empty the feature cache before each run (audio onsets computed)")
    args = ap.parse_args()
    if "fixed" in args.parts:
        fixed_cost(args.fixed_items, args.fixed_groups, args.bootstrap, 50)
    if "evaluate" not in args.parts:
        return

    from dyadbench.runner.items import motion_items
    from dyadbench.tasks.registry import get_task

    base = args.workdir / "base"
    t0 = time.perf_counter()
    write_base(base, args.base_frames)
    print(f"base split written in {time.perf_counter() - t0:.0f} s", flush=True)
    base_frames = {t: sum(it.target.feature(get_task(f"seamless/{t}").feature_keys[0]).shape[0]
                          for it in motion_items(get_task(f"seamless/{t}"), base)) for t in {"facial-motion", *args.tasks}}
    print("| task | frames | items | workers | engine | wall (s) | frames/s | floor (s) | evaluate / floor | peak RSS (GB) |")
    print("|---|---:|---:|---:|---|---:|---:|---:|---:|---:|")
    where = []
    for target in args.frames:
        copies = max(1, round(target / base_frames["facial-motion"]))  # the same split whichever tasks run
        root = args.workdir / f"x{copies}"
        replicate(base, root, copies)
        for t in args.tasks:
            task = f"seamless/{t}"
            sub = write_submission(task, base, root, copies, args.workdir)
            items = len(list(sub.iterdir()))
            frames = base_frames[t] * copies
            for w in args.workers:
                floor_s = _floor(root, task, w)
                for engine in args.engines:
                    cache = args.workdir / f"cache-{engine}-{w}"
                    if args.cold and cache.exists():
                        shutil.rmtree(cache)  # a first evaluation: nothing the dataset alone determines is cached
                    cmd = [str(Path(sys.executable).parent / "dyadbench"), "evaluate", task, "--data", str(root), "--submission",
                           str(sub), "--out", str(args.workdir / f"report-{t}-{copies}-{w}-{engine}"), "--bootstrap",
                           str(args.bootstrap), "--workers", str(w), "--engine", engine, "--cache", str(cache)]
                    wall, peak, res = run_measured(cmd)
                    if res.returncode:
                        print(res.stdout[-2000:], res.stderr[-2000:])
                        raise SystemExit(res.returncode)
                    print(f"| {t} | {frames:,} | {items} | {w} | {engine} | {wall:.0f} | {frames / wall:,.0f} | {floor_s:.1f} | "
                          f"{wall / floor_s:.1f}x | {peak / 2**30:.2f} |", flush=True)
                    import json

                    timing = json.loads((args.workdir / f"report-{t}-{copies}-{w}-{engine}" / "report.json").read_text())["timing"]
                    where.append((t, frames, w, engine, wall, timing))
    for t, frames, w, engine, wall, timing in where:
        print(f"\nwhere the time goes: {t}, {frames:,} frames, {w} worker(s), {engine}: wall {wall:.0f} s = items "
              f"{timing['items_s']:.0f} s (workers in parallel) + headline {timing['headline_s']:.1f} s + slices {timing['slices_s']:.1f} s "
              f"(+ start-up and writing the report)")
        print("| stage (summed over workers) | worker-seconds | share |\n|---|---:|---:|")
        total = sum(timing["worker_seconds"].values()) or 1.0
        for k, v in timing["worker_seconds"].items():
            print(f"| {k} | {v:.1f} | {100 * v / total:.0f} % |")
        for k, v in timing["main_seconds"].items():
            print(f"| (main process) {k} | {v:.1f} | |")


def _floor(root: Path, task: str, workers: int) -> float:
    """``_floor.py`` in a child process, as evaluate runs: read everything, accumulate the sums."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent)}
    res = subprocess.run([sys.executable, "-m", "_floor", str(root), task, str(workers)], capture_output=True, text=True, env=env,
                         check=True)
    return float(res.stdout.split()[0])


if __name__ == "__main__":
    main()
