"""``dyadbench train``: fit a learned baseline on a task's train split, seeded and resumable.

A run folder holds ``last.pt`` (everything needed to resume: model, optimiser, epoch, curves,
early-stopping state), ``best.pt`` (the model at the lowest validation loss: what ``baseline
... learned --checkpoint RUN`` loads), ``run.json`` (config, data fingerprint, curves, why it
stopped) and ``curves.png``. Validation is the dev split when the root has one, else a fixed
hash-chosen 20 % of the train dyads (RealTalk: of the train videos), so no dyad is on both sides.
The same seed on CPU gives identical checkpoints: the only randomness is the initial weights
(``torch.manual_seed``) and the window order (seeded by seed and epoch).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from ..datasets.errors import DatasetError
from ..torchmetrics import DyadMetric
from .models import Normalizer, TemporalConvNet, masked_mse
from .windows import N_MELS, DyadicWindows, ItemSource, holdout

FORMAT = "dyadbench.learned/1"


@dataclass
class TrainConfig:
    task: str
    seed: int = 0
    epochs: int = 40
    patience: int = 6
    batch_size: int = 32
    lr: float = 2e-3
    window: int = 64
    hidden: int = 128
    layers: int = 4
    device: str = "cpu"
    workers: int = 0
    cache: bool = True
    max_minutes: float | None = None  # a wall-clock bound: reproducible only when it is not reached


def _validation(cfg: TrainConfig, root: Path) -> tuple[DyadicWindows, DyadicWindows]:
    common = dict(task=cfg.task, window=cfg.window, seed=cfg.seed, cache=cfg.cache)
    train = DyadicWindows(root, split="train", **common)
    src = train.source_items
    if len(src) == 0:
        raise DatasetError(root, f"no train item of {cfg.task} (training needs the train split)")
    if src.task.dataset == "seamless":
        dev = DyadicWindows(root, split="dev", shuffle=False, **common)
        if len(dev.source_items):
            return train, dev
    groups = src.groups()
    held = holdout(groups)
    if not held or held == set(groups):  # tiny roots: keep at least one group on each side
        ranked = sorted(set(groups), key=lambda g: hashlib.sha1(g.encode()).hexdigest())
        if len(ranked) < 2:
            raise DatasetError(root, f"{cfg.task}: one train dyad/video only; validation needs two (or a dev split)")
        held = set(ranked[: max(1, len(ranked) // 5)])
    ids = src.ids()
    train.items = {i for i, g in zip(ids, groups) if g not in held}
    val = DyadicWindows(root, split="train", shuffle=False, items={i for i, g in zip(ids, groups) if g in held}, **common)
    val._source = src  # one index, one item cache
    val._cache = train._cache
    return train, val


def fingerprint(cfg: TrainConfig, train: DyadicWindows, val: DyadicWindows, frames: dict[str, int]) -> str:
    """SHA-256 of what the model saw: task, window, and every (item id, frames) on each side."""
    ids = train.source_items.ids()
    doc = {"task": cfg.task, "window": cfg.window,
           "train": sorted((ids[i], frames[ids[i]]) for i in train.item_indices()),
           "val": sorted((val.source_items.ids()[i], frames.get(val.source_items.ids()[i], -1)) for i in val.item_indices())}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def _val_loss(model, norm, val: DyadicWindows, cfg: TrainConfig) -> tuple[float, dict]:
    """Validation loss, and the benchmark's FD (FFD / FGD) and paired FD of the predicted windows (in the
    task's feature space, windows as items) through ``dyadbench.torchmetrics``: the engine
    ``evaluate`` runs, with its intervals."""
    model.eval()
    total, count = 0.0, 0.0
    fd = {"fd": DyadMetric("fd", n_boot=0).to(cfg.device), "paired_fd": DyadMetric("paired_fd", n_boot=0).to(cfg.device)}
    with torch.no_grad():
        for b in DataLoader(val, batch_size=cfg.batch_size, num_workers=cfg.workers):
            pred = model(norm.inputs(b["partner"].to(cfg.device), b["partner_valid"].to(cfg.device), b["target_audio"].to(cfg.device)))
            w = b["target_valid"].to(cfg.device)
            loss = masked_mse(pred, norm.target(b["target"].to(cfg.device)), w)
            n = float(w.sum()) * pred.shape[-1]
            total, count = total + float(loss) * n, count + n
            motion = pred * torch.as_tensor(norm.motion_std, device=pred.device) + torch.as_tensor(norm.motion_mean, device=pred.device)
            ids = [f"{i}@{int(s)}" for i, s in zip(b["item_id"], b["start"])]
            for m in fd.values():
                m.update(motion, b["target"].to(cfg.device), b["partner"].to(cfg.device), w & b["partner_valid"].to(cfg.device), ids)
    model.train()
    scores = {}
    for name, m in fd.items():
        try:
            scores[name] = m.compute().value
        except ValueError:  # fewer than two valid frames: no Gaussian to fit
            scores[name] = None
    return total / max(count, 1.0), scores


def train(root: Path, out: Path, cfg: TrainConfig, *, resume: bool = True,
          progress: Callable[[dict], None] | None = None) -> dict:
    """Train (or resume) a run; returns run.json's content."""
    root, out = Path(root), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.seed)
    train_ds, val_ds = _validation(cfg, root)
    train_items = [train_ds.load(i) for i in train_ds.item_indices()]
    norm = Normalizer.fit(train_items)
    val_items = (val_ds.load(i) for i in val_ds.item_indices())  # each read once (twice without the cache)
    frames = {it.item_id: it.n for it in train_items} | {it.item_id: it.n for it in val_items}
    if not cfg.cache:
        del train_items
    dim = len(norm.motion_mean)
    model_cfg = {"in_dim": dim + N_MELS, "out_dim": dim, "hidden": cfg.hidden, "layers": cfg.layers, "kernel": 5}
    model = TemporalConvNet(**model_cfg).to(cfg.device)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    state = {"epoch": 0, "best": float("inf"), "best_epoch": -1, "bad": 0, "curves": [], "stopped": None}
    fp = fingerprint(cfg, train_ds, val_ds, frames)
    last = out / "last.pt"
    if resume and last.exists():
        ck = torch.load(last, map_location=cfg.device, weights_only=True)
        if ck.get("fingerprint") != fp or ck.get("config") != _comparable(cfg):
            raise ValueError(f"{last}: holds a run with another config or data; give a new --out or --no-resume")
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        state = ck["state"]
    elif not resume:
        for name in ("last.pt", "best.pt"):
            (out / name).unlink(missing_ok=True)
    t0 = time.perf_counter()
    while state["stopped"] is None and state["epoch"] < cfg.epochs:
        epoch = state["epoch"]
        train_ds.set_epoch(epoch)
        total, count = 0.0, 0.0
        for b in DataLoader(train_ds, batch_size=cfg.batch_size, num_workers=cfg.workers):
            x = norm.inputs(b["partner"].to(cfg.device), b["partner_valid"].to(cfg.device), b["target_audio"].to(cfg.device))
            loss = masked_mse(model(x), norm.target(b["target"].to(cfg.device)), b["target_valid"].to(cfg.device))
            opt.zero_grad()
            loss.backward()
            opt.step()
            total, count = total + float(loss.detach()) * len(x), count + len(x)
        val, scores = _val_loss(model, norm, val_ds, cfg)
        state["curves"].append({"epoch": epoch, "train_loss": total / max(count, 1), "val_loss": val,
                                **{f"val_{k}": v for k, v in scores.items()}})
        state["epoch"] = epoch + 1
        if val < state["best"]:
            state.update(best=val, best_epoch=epoch, bad=0)
            torch.save(_checkpoint(cfg, model_cfg, model, norm, fp, epoch, val), out / "best.pt")
        else:
            state["bad"] += 1
            if state["bad"] >= cfg.patience:
                state["stopped"] = f"early stopping: no better validation loss in {cfg.patience} epochs"
        if cfg.max_minutes is not None and time.perf_counter() - t0 > cfg.max_minutes * 60 and state["stopped"] is None:
            state["stopped"] = f"time limit of {cfg.max_minutes} min"
        if state["stopped"] is None and state["epoch"] >= cfg.epochs:
            state["stopped"] = f"{cfg.epochs} epochs"
        torch.save({"format": FORMAT, "config": _comparable(cfg), "fingerprint": fp, "model": model.state_dict(),
                    "optimizer": opt.state_dict(), "state": state}, last)
        if progress:
            progress(state["curves"][-1])
    summary = {"format": FORMAT, "config": asdict(cfg), "fingerprint": fp, "model": model_cfg,
               "train_items": len(train_ds.item_indices()), "val_items": len(val_ds.item_indices()), **state}
    (out / "run.json").write_text(json.dumps(summary, indent=2))
    _plot(state["curves"], out / "curves.png", cfg.task)
    return summary


def _comparable(cfg: TrainConfig) -> dict:
    """The config fields that change the result (device, workers, cache and time bound do not)."""
    d = asdict(cfg)
    return {k: d[k] for k in ("task", "seed", "epochs", "patience", "batch_size", "lr", "window", "hidden", "layers")}


def _checkpoint(cfg, model_cfg, model, norm, fp, epoch, val) -> dict:
    return {"format": FORMAT, "task": cfg.task, "config": _comparable(cfg), "model_config": model_cfg,
            "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
            "normalizer": norm.to_dict(), "fingerprint": fp, "epoch": epoch, "val_loss": val}


def load_checkpoint(path: Path, task: str) -> tuple[TemporalConvNet, Normalizer, dict]:
    """A run folder (its ``best.pt``) or a checkpoint file, for ``task``."""
    path = Path(path)
    file = path / "best.pt" if path.is_dir() else path
    if not file.exists():
        raise DatasetError(file, f"no checkpoint; train one with `dyadbench train {task} --data ROOT --out {path}`")
    try:
        ck = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as exc:  # a truncated or foreign file: say so, without torch's advice to unpickle it unsafely
        raise DatasetError(file, f"not a readable dyadbench checkpoint ({type(exc).__name__}): truncated or written by "
                                 f"something else; point --checkpoint at a run folder of `dyadbench train`") from exc
    if not isinstance(ck, dict) or ck.get("format") != FORMAT or "model_config" not in ck:
        raise DatasetError(file, f"not a dyadbench learned-baseline checkpoint (expected format {FORMAT})")
    if ck["task"] != task:
        raise DatasetError(file, f"checkpoint trained for {ck['task']}, not {task}")
    model = TemporalConvNet(**ck["model_config"])
    model.load_state_dict(ck["model"])
    model.eval()
    return model, Normalizer.from_dict(ck["normalizer"]), ck


def _plot(curves: list[dict], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, ax_fd) = plt.subplots(1, 2, figsize=(9, 3.2), dpi=100)
    ep = [c["epoch"] for c in curves]
    ax.plot(ep, [c["train_loss"] for c in curves], label="train")
    ax.plot(ep, [c["val_loss"] for c in curves], label="validation")
    ax.set(xlabel="epoch", ylabel="masked MSE (normalised units)", title=title)
    ax.legend()
    for key, label in (("val_fd", "FD (validation)"), ("val_paired_fd", "paired FD (validation)")):
        pts = [(c["epoch"], c[key]) for c in curves if c.get(key) is not None]
        if pts:
            ax_fd.plot(*zip(*pts), label=label)
    ax_fd.set(xlabel="epoch", ylabel="Fréchet distance (task features)", title="benchmark metrics per epoch")
    ax_fd.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


__all__ = ["ItemSource", "TrainConfig", "load_checkpoint", "train"]
