"""Scale-out: the same shards extracted by 1 and by 2 workers, side by side in one run; what a
shard costs beyond its videos; and the per-frame cost of every extractor at the release's raster,
for the README's cost table.

1. Speed-up: a Seamless sample written as WebDataset tars; ``extract_shards`` over all of them
   with the Ray engine (one local Ray instance with 2 CPUs, started once, not timed) and with the
   local process engine, 1 worker then 2 workers, each run on an empty feature cache. Start-up
   (processes or actors started, models loaded: ``shard_pool``) is timed apart from the run on
   the started actors; both speed-ups are printed (on started actors, and start-up included).
   Every worker is single-threaded (OMP/MKL/torch threads = 1, one decoder thread), so a worker
   is one core.
   The ceiling without any engine: the same extraction (every other shard) in one plain process
   alone, then in two processes at once, each doing that same work into its own cache: on this 2-core VM two busy processes each run
   13-15 % slower than one alone, so no engine can reach 2x; efficiency = speed-up / ceiling.
2. Per-shard overhead: the engine's round trip per job (no-op jobs through started actors) and the
   extractor's bookkeeping per shard (completion-record look-up, ``.running`` marker, record
   written), so a large run can be planned as start-up + shards x overhead + video work / workers.
3. Cost per frame: one 1920x1080 30 fps clip; decode alone, then each extractor on the frames
   decoded beforehand, one thread. Seconds per frame x frames in the release = CPU-hours.

Run: .venv/bin/python benchmarks/bench_scale.py [--dyads 2 --seconds 2] [--extractors face_motion,gesture]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = "1"  # before NumPy/torch load, and inherited by every worker

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Seamless Interaction: 4,065 h of conversation, each recorded as two participant videos at 30 fps.
RELEASE_FRAMES = 4065 * 3600 * 30 * 2


def speedup(args, tmp: Path) -> dict:
    from dyadbench.datasets.sample.seamless_sample import write_seamless_sample
    from dyadbench.features.shards import extract_shards, list_shards, shard_pool
    from dyadbench.scale.ray_engine import connect

    root = tmp / "data"
    write_seamless_sample(root, dyads=args.dyads, seconds=args.seconds, width=args.width, height=args.height)
    shards = list_shards(root, source="shards")
    videos = sum(len(s.refs) for s in shards)
    print(f"{len(shards)} shards, {videos} videos of {args.seconds:g} s at {args.width}x{args.height}; "
          f"extractors {args.extractors}")
    names = args.extractors.split(",")
    t0 = time.perf_counter()
    connect(None, 2)
    print(f"ray start (not timed below): {time.perf_counter() - t0:.1f} s")
    out = {"shards": len(shards), "videos": videos}
    for engine in ("ray", "local"):
        for workers in (1, 2):
            cache = str(tmp / f"cache-{engine}-{workers}")
            t0 = time.perf_counter()
            # One decoder thread in both runs: with FFmpeg's default (one per core) a single worker
            # would decode on both cores and the comparison would not be one core against two.
            with shard_pool(names, cache, engine=engine, workers=workers, decode_threads=1) as pool:
                start = time.perf_counter() - t0
                t0 = time.perf_counter()
                result = extract_shards(shards, names, cache, pool=pool)
                run = time.perf_counter() - t0
            assert len(result.computed) == len(shards)
            out[f"{engine}_{workers}"] = {"start": start, "run": run}
            print(f"{engine:5s} {workers} worker(s): start {start:5.1f} s, run {run:6.1f} s")
        one, two = out[f"{engine}_1"], out[f"{engine}_2"]
        out[f"{engine}_speedup"] = one["run"] / two["run"]
        out[f"{engine}_speedup_with_start"] = (one["start"] + one["run"]) / (two["start"] + two["run"])
        print(f"{engine:5s} speed-up 1 -> 2 workers: {out[f'{engine}_speedup']:.2f}x on started actors, "
              f"{out[f'{engine}_speedup_with_start']:.2f}x with start-up")
    return out


def _extract_half(root: str, half: int, extractors: str) -> None:
    """Child of ``ceiling``: extract every other shard, from shard ``half`` on, in this process,
    timed after a warm-up shard on a separate cache; prints seconds."""
    from dyadbench.features.shards import ShardExtractor, list_shards

    shards = list_shards(Path(root), source="shards")
    names = extractors.split(",")
    ShardExtractor(names, tempfile.mkdtemp(), decode_threads=1)(shards[0])  # models built lazily
    worker = ShardExtractor(names, tempfile.mkdtemp(), decode_threads=1)
    t0 = time.perf_counter()
    for shard in shards[half::2]:
        worker(shard)
    print(time.perf_counter() - t0)


def ceiling(args, tmp: Path) -> dict:
    def child(half):
        return subprocess.Popen([sys.executable, __file__, "--extract-half", str(half), "--root", str(tmp / "data"),
                                 "--extractors", args.extractors], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)

    # The same work in both children (shards alternate in size, so halves would not be equal).
    alone = float(child(0).communicate()[0])
    both = [child(0), child(0)]
    together = [float(p.communicate()[0]) for p in both]
    ratio = 2 * alone / max(together)
    print(f"\nceiling without an engine: every other shard in one process alone {alone:.1f} s; the same in two "
          f"processes at once {together[0]:.1f} s and {together[1]:.1f} s -> {ratio:.2f}x")
    return {"alone": alone, "together": together, "ratio": ratio}


class Echo:
    """A worker that does nothing: what remains of a job's wall time is the engine's round trip."""

    def __call__(self, job):
        return job


def overheads(args, tmp: Path) -> dict:
    from dyadbench.engine import ActorPool
    from dyadbench.features.shards import Shard, ShardExtractor

    out = {}
    for engine in ("ray", "local"):
        with ActorPool(Echo, {}, engine=engine, workers=2) as pool:
            list(pool.run(list(range(20))))  # warm-up
            t0 = time.perf_counter()
            list(pool.run(list(range(args.noop_jobs))))
            out[f"{engine}_dispatch_ms"] = (time.perf_counter() - t0) / args.noop_jobs * 1000
    # The extractor's own bookkeeping per shard: a shard with no videos still looks up its
    # record, writes the running marker and its completion record.
    worker = ShardExtractor(args.extractors.split(","), str(tmp / "cache-bookkeeping"))
    empty = [Shard(f"empty/{i:04d}.tar", (), f"fp{i}") for i in range(args.noop_jobs)]
    t0 = time.perf_counter()
    for shard in empty:
        worker(shard)
    out["bookkeeping_ms"] = (time.perf_counter() - t0) / len(empty) * 1000
    print(f"\nper-shard overhead: dispatch {out['ray_dispatch_ms']:.2f} ms (ray), {out['local_dispatch_ms']:.2f} ms "
          f"(local), 2 workers, {args.noop_jobs} no-op jobs; extractor bookkeeping {out['bookkeeping_ms']:.2f} ms a shard")
    return out


def per_frame_costs(args, tmp: Path) -> dict:
    """Seconds per frame of decoding, and of each extractor on frames decoded beforehand (held in
    memory), so an extractor's figure is its own work, never a difference of two noisy timings."""
    import torch

    from dyadbench.datasets import media
    from dyadbench.datasets.sample.seamless_sample import write_seamless_sample
    from dyadbench.datasets.seamless import SeamlessInteraction
    from dyadbench.features.jobs import build_extractors
    from dyadbench.features.models import InceptionFeatures, _builders
    from dyadbench.features.video import InceptionPool

    torch.set_num_threads(1)
    root = tmp / "hd"
    write_seamless_sample(root, dyads=1, seconds=args.cost_seconds, width=1920, height=1080)
    p = next(SeamlessInteraction(root, label="improvised", split="train").participants())
    video = p.store.path(p.member("mp4"))
    list(media.iter_frames(video, batch_size=32))  # warm-up: codec set-up and page cache
    t0 = time.perf_counter()
    batches = list(media.iter_frames(video, batch_size=32))
    frames = sum(len(b) for b in batches)
    costs = {"decode": (time.perf_counter() - t0) / frames}
    for name in ("face_boxes", "face_motion", "gesture", "face_identity", "fid_inception"):
        if name == "fid_inception":
            # No package ships the FID weights; time the official architecture with random
            # weights (the cost does not depend on the weights' values).
            model = InceptionFeatures.__new__(InceptionFeatures)
            model.device, model.batch_size, model.resize = "cpu", 32, "pytorch-fid"
            model.net = _builders()["fid_inception"]().eval()
            pool = InceptionPool.__new__(InceptionPool)
            pool.model, pool.stride = model, 1
            extractor = pool
        else:
            extractor = build_extractors([name], "cpu")[0]
        stream = extractor.stream()  # model loading and set-up are not per-frame costs
        t0 = time.perf_counter()
        for batch in batches:
            stream.update(batch)
        stream.result()
        costs[name] = (time.perf_counter() - t0) / frames
    print(f"\nper-frame cost at 1920x1080, one thread ({frames} frames, decoded beforehand):")
    for name, sec in costs.items():
        print(f"  {name:14s} {sec * 1000:8.1f} ms/frame -> {sec * RELEASE_FRAMES / 3600:12,.0f} CPU-hours for "
              f"{RELEASE_FRAMES / 1e6:,.0f} M frames")
    return costs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dyads", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--width", type=int, default=320)
    ap.add_argument("--height", type=int, default=240)
    ap.add_argument("--extractors", default="face_motion,gesture")
    ap.add_argument("--cost-seconds", type=float, default=4.0)
    ap.add_argument("--cost-only", action="store_true", help="skip the speed-up runs")
    ap.add_argument("--skip-costs", action="store_true", help="skip the per-frame cost table")
    ap.add_argument("--noop-jobs", type=int, default=500)
    ap.add_argument("--extract-half", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--root", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = ap.parse_args()
    if args.extract_half is not None:
        return _extract_half(args.root, args.extract_half, args.extractors)
    tmp = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    out = {} if args.cost_only else {"speedup": speedup(args, tmp), "overhead": overheads(args, tmp)}
    if not args.cost_only:
        out["ceiling"] = ceiling(args, tmp)
        for engine in ("ray", "local"):
            print(f"{engine:5s} efficiency: {out['speedup'][f'{engine}_speedup'] / out['ceiling']['ratio']:.2f} of the ceiling")
    if not args.skip_costs:
        out["ms_per_frame"] = {k: v * 1000 for k, v in per_frame_costs(args, tmp).items()}
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
