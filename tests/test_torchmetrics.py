"""``dyadbench.torchmetrics``: the training-loop metrics equal ``evaluate`` on the same items, and
data-parallel ranks (gloo, CPU) merge to the result of one process."""

import json
import os
import pickle

import numpy as np
import pytest
import torch

from dyadbench.baselines import run_baseline
from dyadbench.datasets.sample.seamless_sample import write_seamless_sample
from dyadbench.datasets.submission import read_motion_item
from dyadbench.metrics.motion import standardization_stats
from dyadbench.runner import evaluate
from dyadbench.runner.items import align_length, features, motion_items, per_frame_shapes, valid_mask
from dyadbench.tasks.registry import get_task
from dyadbench.torchmetrics import FFD, L2, DyadMetric, FDKinetic, FRCorr, PairedFD

TASK = "seamless/facial-motion"
METRICS = ("ffd", "paired_fd", "fd_kinetic", "l2", "fr_corr")


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    root = tmp_path_factory.mktemp("tm")
    write_seamless_sample(root, dyads=6, seconds=3.0, seed=4, layout="files", video=False, splits=("train", "test"))
    sub = tmp_path_factory.mktemp("tm-random")
    run_baseline(TASK, "random", root, sub)
    report = evaluate(TASK, root, sub, n_boot=50, slice_boot=0)
    task = get_task(TASK)
    items = sorted(motion_items(task, root), key=lambda it: it.id)
    batch = {"item_ids": [it.id for it in items], "generated": [], "reference": [], "partner": [], "valid": []}
    for it in items:
        r = features(it.target, task)
        batch["reference"].append(r)
        batch["valid"].append(valid_mask(it.target, task, len(r)))
        batch["partner"].append(align_length(features(it.partner, task), len(r)))
        batch["generated"].append(read_motion_item(sub / f"{it.id}.npz", task.feature_keys, per_frame_shapes(task), len(r)))
    return report, batch


def _tensors(batch, dtype=torch.float64, pick=slice(None)):
    return dict(generated=torch.as_tensor(np.stack(batch["generated"][pick]), dtype=dtype),
                reference=torch.as_tensor(np.stack(batch["reference"][pick]), dtype=dtype),
                partner=torch.as_tensor(np.stack(batch["partner"][pick]), dtype=dtype),
                valid=torch.as_tensor(np.stack(batch["valid"][pick])), item_ids=batch["item_ids"][pick])


def _shared(batch):
    mean, std = standardization_stats(batch["reference"], batch["valid"])
    return {"mean": mean, "std": std}


def test_classes_equal_evaluate_value_and_interval(scored):
    report, batch = scored
    for cls, name in ((FFD, "ffd"), (PairedFD, "paired_fd"), (FDKinetic, "fd_kinetic"), (L2, "l2"), (FRCorr, "fr_corr")):
        m = cls(shared=_shared(batch), n_boot=50)
        half = len(batch["item_ids"]) // 2
        m.update(**_tensors(batch, pick=slice(0, half)))  # two batches: the order of updates does not matter
        m.update(**_tensors(batch, pick=slice(half, None)))
        got, want = m.compute(), report["metrics"][name]
        for key in ("value", "low", "high"):
            assert getattr(got, key) == pytest.approx(want[key], rel=1e-9), (name, key)
        assert got.extra["interval_method"] == want["interval_method"], name
    # float32 input: the statistics are accumulated in float64 from float32 frames (agrees to ~1e-6)
    m = FFD(n_boot=50)
    m.update(**_tensors(batch, torch.float32))
    assert m.compute().value == pytest.approx(report["metrics"]["ffd"]["value"], rel=1e-5)


def test_a_standardized_convention_without_statistics_and_a_whole_set_metric_are_refused(scored):
    _, batch = scored
    with pytest.raises(ValueError, match="standardizes"):
        L2().update(**_tensors(batch, pick=slice(0, 2)))
    assert L2(convention="lm-listener") is not None  # raw features: no statistics needed
    with pytest.raises(ValueError, match="whole set"):
        DyadMetric("si_diversity")


def _rank(rank, world, batch_file, out_file):
    import torch.distributed as dist

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=os.environ["DYADBENCH_TEST_PORT"])
    dist.init_process_group("gloo", rank=rank, world_size=world)
    with open(batch_file, "rb") as f:
        batch, shared = pickle.load(f)
    out = {}
    for name in METRICS:
        m = DyadMetric(name, shared=shared, n_boot=50)
        m.update(**_tensors(batch, pick=slice(rank, None, world)))  # each rank scores every other item
        r = m.compute()
        out[name] = [r.value, r.low, r.high]
    if rank == 0:
        with open(out_file, "w") as f:
            json.dump(out, f)
    dist.destroy_process_group()


def test_two_gloo_ranks_merge_to_one_process(scored, tmp_path):
    import socket

    import torch.multiprocessing as mp

    report, batch = scored
    shared = _shared(batch)
    with open(tmp_path / "batch.pkl", "wb") as f:
        pickle.dump((batch, shared), f)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        os.environ["DYADBENCH_TEST_PORT"] = str(s.getsockname()[1])
    mp.spawn(_rank, args=(2, str(tmp_path / "batch.pkl"), str(tmp_path / "out.json")), nprocs=2, join=True)
    two = json.loads((tmp_path / "out.json").read_text())
    for name in METRICS:
        one = DyadMetric(name, shared=shared, n_boot=50)
        one.update(**_tensors(batch))
        r = one.compute()
        assert two[name] == pytest.approx([r.value, r.low, r.high], rel=1e-9), name
        assert r.value == pytest.approx(report["metrics"][name]["value"], rel=1e-9)
