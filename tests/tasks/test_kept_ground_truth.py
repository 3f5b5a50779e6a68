"""A second evaluation of the same files starts from the first one's ground-truth pass (moments,
manifest rows, frame-sample cut-offs), kept under the files' stat data, so it reads each
ground-truth array once. Each item's arrays are hashed as they are scored and checked against the
kept manifest row: a file whose content changed under the same stat data (size and modification
time) sends the evaluation back to the pass, and its numbers are those of a first evaluation."""

import os

import numpy as np
import pytest

from dyadbench.baselines import run_baseline
from dyadbench.datasets.sample.seamless_sample import write_seamless_sample
from dyadbench.runner import motion_stream
from dyadbench.runner.evaluate import evaluate
from dyadbench.tasks.registry import get_task

TASK = "seamless/facial-motion"


@pytest.fixture()
def data(tmp_path):
    root = tmp_path / "data"
    write_seamless_sample(root, dyads=3, seconds=2.0, seed=4, layout="files", video=False, splits=("train", "test"))
    return root


def _count_passes(monkeypatch) -> list:
    """Items the ground-truth pass reads (one worker: the actor lives in this process)."""
    read = []
    real = motion_stream.MotionWorker._gt
    monkeypatch.setattr(motion_stream.MotionWorker, "_gt", lambda self, item: read.append(item.id) or real(self, item))
    return read


def _same_numbers(a: dict, b: dict) -> None:
    assert a["manifest"] == b["manifest"]
    assert a["metrics"].keys() == b["metrics"].keys()
    for name, m in b["metrics"].items():
        for key in ("value", "low", "high", "reference"):
            if m.get(key) is not None:
                assert a["metrics"][name][key] == pytest.approx(m[key], rel=1e-12, abs=1e-15), (name, key)


def test_a_second_evaluation_reads_the_ground_truth_once_with_the_same_numbers(data, tmp_path, monkeypatch):
    subs = [run_baseline(TASK, name, data, tmp_path / name) for name in ("mirror", "mean")]
    cache = str(tmp_path / "cache")
    first = evaluate(TASK, data, subs[0], n_boot=20, slice_boot=10, workers=1, cache_root=cache)
    assert first["extras"]["ground_truth_pass"] == "run"
    read = _count_passes(monkeypatch)
    second = evaluate(TASK, data, subs[1], n_boot=20, slice_boot=10, workers=1, cache_root=cache)
    assert read == [] and second["extras"]["ground_truth_pass"].startswith("kept")
    assert "ground truth's manifest rows checked (content hashes)" in second["timing"]["worker_seconds"]
    monkeypatch.undo()
    fresh = evaluate(TASK, data, subs[1], n_boot=20, slice_boot=10, workers=1, cache_root=str(tmp_path / "fresh"))
    _same_numbers(second, fresh)
    for col, groups in fresh["slices"].items():
        for value, group in groups.items():
            for name, m in group["metrics"].items():
                assert second["slices"][col][value]["metrics"][name]["value"] == pytest.approx(m["value"], rel=1e-12, abs=1e-15)


def test_changed_content_under_the_same_stat_data_sends_it_back_to_the_pass(data, tmp_path, monkeypatch):
    sub = run_baseline(TASK, "mean", data, tmp_path / "mean")
    cache = str(tmp_path / "cache")
    first = evaluate(TASK, data, sub, n_boot=20, slice_boot=0, workers=1, cache_root=cache)
    group, feature = get_task(TASK).feature_keys[0].split(":")
    npy = sorted(data.glob(f"*/test/{group}/{feature}/*.npy"))[-1]  # one item's target (and its partner's partner)
    st = npy.stat()
    arr = np.load(npy)
    np.save(npy, (arr * 1.5 + 0.25).astype(arr.dtype))  # same shape and dtype: the same size
    os.utime(npy, ns=(st.st_atime_ns, st.st_mtime_ns))  # and the same modification time
    assert npy.stat().st_size == st.st_size
    read = _count_passes(monkeypatch)
    second = evaluate(TASK, data, sub, n_boot=20, slice_boot=0, workers=1, cache_root=cache)
    assert sorted(read) == sorted(set(read)) and len(read) == second["n_items"]  # the pass ran, once
    assert second["extras"]["ground_truth_pass"] == "run" and second["manifest"]["hash"] != first["manifest"]["hash"]
    monkeypatch.undo()
    fresh = evaluate(TASK, data, sub, n_boot=20, slice_boot=0, workers=1, cache_root=str(tmp_path / "fresh"))
    _same_numbers(second, fresh)
    third = evaluate(TASK, data, sub, n_boot=20, slice_boot=0, workers=1, cache_root=cache)  # the new pass was kept
    assert third["extras"]["ground_truth_pass"].startswith("kept")
    _same_numbers(third, fresh)


@pytest.mark.parametrize("layout", ["bundles", "shards", "files"])
def test_the_stat_identity_names_the_files_the_arrays_come_from(tmp_path, layout):
    """The key a pass is kept under changes when a target's file (its npz, the tar shard holding
    it, or the key's .npy) is touched, and not when another key's file is."""
    import shutil

    from dyadbench.runner.items import motion_items

    root = tmp_path / layout
    write_seamless_sample(root, dyads=1, seconds=1.0, seed=0, layout="files" if layout == "files" else "bundles",
                          video=False, splits=("test",))
    if layout == "shards":  # the shards alone (the loose bundle folders are the sample's copy of them)
        for folder in [d for d in root.glob("*/test/*/*") if d.is_dir()]:
            shutil.rmtree(folder)
    task = get_task(TASK)
    target = motion_items(task, root)[0].target
    keys = list(task.feature_keys)
    before = target.feature_identity(keys)
    if layout == "files":
        touched = target.store.key_path(target.id, keys[0])
        for k in [k for k in target.feature_keys() if k not in keys]:
            f = target.store.key_path(target.id, k)
            os.utime(f, ns=(f.stat().st_atime_ns, f.stat().st_mtime_ns + 10**9))
        assert target.feature_identity(keys) == before
    else:
        touched = target.store.path(target.member("npz")) or target.store.tar_path
        assert touched.suffix == (".tar" if layout == "shards" else ".npz")
    os.utime(touched, ns=(touched.stat().st_atime_ns, touched.stat().st_mtime_ns + 10**9))
    assert target.feature_identity(keys) != before
