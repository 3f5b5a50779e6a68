"""Training loader throughput and training step time.

Run: .venv/bin/python benchmarks/bench_train.py [--dyads 12] [--seconds 60] [--workers 1 2]

Writes one train split twice with the same seed: the bundles layout (each archive both as a
WebDataset tar and as its extracted folder) and the features-only per-file layout, then reads
every window of seamless/facial-motion (64 frames, log-mel audio of both people) with
``DyadicWindows(cache=False)`` through a DataLoader with 1 and 2 worker processes, from tar
shards (streamed, not unpacked), extracted folders and per-file features (and per-file without
audio, ``audio=False``): windows/s and motion frames/s, in one run. Then the time of one training step (forward + backward + Adam) of the
learned baseline's model at batch 32 x 64 frames, default and demo widths, on CPU (and CUDA if
present).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from dyadbench.datasets.sample.seamless_sample import write_seamless_sample
from dyadbench.training.models import TemporalConvNet, masked_mse
from dyadbench.training.windows import DyadicWindows

TASK = "seamless/facial-motion"
WINDOW = 64


def markdown(rows: list[dict]) -> str:
    head = list(rows[0])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return "\n".join(lines + ["| " + " | ".join(str(r[k]) for k in head) + " |" for r in rows])


def loader_rate(root: Path, source: str, workers: int, audio: bool = True) -> dict:
    ds = DyadicWindows(root, task=TASK, window=WINDOW, seed=0, source=source, audio=audio)
    t = time.perf_counter()
    n = 0
    for batch in DataLoader(ds, batch_size=32, num_workers=workers, persistent_workers=False):
        n += len(batch["target"])
    dt = time.perf_counter() - t
    return {"windows": n, "seconds": round(dt, 2), "windows/s": round(n / dt, 1), "frames/s": round(n * WINDOW / dt)}


def step_time(hidden: int, device: str, steps: int = 20) -> float:
    torch.manual_seed(0)
    model = TemporalConvNet(128 + 40, 128, hidden=hidden).to(device)
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    x = torch.randn(32, WINDOW, 168, device=device)
    y = torch.randn(32, WINDOW, 128, device=device)
    ok = torch.ones(32, WINDOW, dtype=torch.bool, device=device)
    for i in range(steps + 3):
        if i == 3:  # warm-up steps excluded
            if device == "cuda":
                torch.cuda.synchronize()
            t = time.perf_counter()
        loss = masked_mse(model(x), y, ok)
        opt.zero_grad()
        loss.backward()
        opt.step()
    if device == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - t) / steps * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dyads", type=int, default=12, help="interactions per label")
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bundles, files = Path(tmp) / "bundles", Path(tmp) / "files"
        t = time.perf_counter()
        write_seamless_sample(bundles, dyads=args.dyads, seconds=args.seconds, seed=0, video=False, splits=("train",))
        write_seamless_sample(files, dyads=args.dyads, seconds=args.seconds, seed=0, video=False, splits=("train",), layout="files")
        print(f"wrote {2 * args.dyads} train dyads x {args.seconds:.0f} s in two layouts in {time.perf_counter() - t:.0f} s")
        rows = []
        for workers in args.workers:
            for name, root, source in (("tar shards", bundles, "shards"), ("extracted folders", bundles, "loose"),
                                       ("features-only files", files, "files")):
                rows.append({"layout": name, "audio": "log-mel", "DataLoader workers": workers, **loader_rate(root, source, workers)})
                print(rows[-1])
            rows.append({"layout": "features-only files", "audio": "none", "DataLoader workers": workers,
                         **loader_rate(files, "files", workers, audio=False)})
            print(rows[-1])
        print(markdown(rows))
    steps = [{"hidden": h, "device": d, "ms/step (batch 32 x 64 frames)": round(step_time(h, d), 1)}
             for d in (["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]) for h in (64, 128)]
    print(markdown(steps))


if __name__ == "__main__":
    main()
