"""Scale-out: the same shards extracted by 1 and by 2 workers, side by side in one run; and the
per-frame cost of every extractor at the release's raster, for the README's cost table.

1. Speed-up: a Seamless sample written as WebDataset tars; ``extract_shards`` over all of them
   with the Ray engine (one local Ray instance with 2 CPUs, started once, not timed) and with the
   local process engine, 1 worker then 2 workers, each run on an empty feature cache.
   Every worker is single-threaded (OMP/MKL/torch threads = 1), so a worker is one core.
2. Cost per frame: one 1920x1080 30 fps clip; decode alone, then each extractor on the frames
   decoded beforehand, one thread. Seconds per frame x frames in the release = CPU-hours.

Run: .venv/bin/python benchmarks/bench_scale.py [--dyads 2 --seconds 2] [--extractors face_motion,gesture]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = "1"  # before NumPy/torch load, and inherited by every worker

import argparse
import json
import tempfile
import time
from pathlib import Path

# Seamless Interaction: 4,065 h of conversation, each recorded as two participant videos at 30 fps.
RELEASE_FRAMES = 4065 * 3600 * 30 * 2


def speedup(args, tmp: Path) -> dict:
    from dyadbench.datasets.sample.seamless_sample import write_seamless_sample
    from dyadbench.features.shards import extract_shards, list_shards
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
            cache = tmp / f"cache-{engine}-{workers}"
            t0 = time.perf_counter()
            result = extract_shards(shards, names, str(cache), engine=engine, workers=workers)
            seconds = time.perf_counter() - t0
            assert len(result.computed) == len(shards)
            out[f"{engine}_{workers}"] = seconds
            print(f"{engine:5s} {workers} worker(s): {seconds:7.1f} s")
        out[f"{engine}_speedup"] = out[f"{engine}_1"] / out[f"{engine}_2"]
        print(f"{engine:5s} speed-up 1 -> 2 workers: {out[f'{engine}_speedup']:.2f}x")
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
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    out = {} if args.cost_only else {"speedup": speedup(args, tmp)}
    out["ms_per_frame"] = {k: v * 1000 for k, v in per_frame_costs(args, tmp).items()}
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
