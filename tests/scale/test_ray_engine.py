"""The Ray engine against the local engine on sample WebDataset shards (a local 2-CPU Ray)."""

import json
import os
import signal
import threading
import time

import numpy as np
import pytest

ray = pytest.importorskip("ray")

from dyadbench.features.cache import FeatureCache, ShardLedger
from dyadbench.features.shards import extract_shards, extractor_versions, list_shards

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("ray")]
NAMES = ["face_motion"]


@pytest.fixture(scope="module")
def local_ray():
    from dyadbench.scale.ray_engine import connect

    connect(None, 2)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def shards(seamless_root):
    out = list_shards(seamless_root, source="shards")
    assert len(out) >= 4 and all(s.key.endswith(".tar") for s in out)
    return out


@pytest.fixture(scope="module")
def local_run(shards, tmp_path_factory):
    cache = str(tmp_path_factory.mktemp("local-cache"))
    return cache, extract_shards(shards, NAMES, cache, engine="local", workers=2)


def _stats_equal(a, b):
    assert sorted(a) == sorted(b)
    for name in a:
        assert a[name].n == b[name].n
        np.testing.assert_array_equal(a[name].mean, b[name].mean)  # bit-identical, not merely close
        np.testing.assert_array_equal(a[name].cov, b[name].cov)


def test_local_stats_equal_one_pass_over_all_frames(shards, local_run):
    cache_root, result = local_run
    cache = FeatureCache(cache_root)
    frames = np.concatenate([cache.get(row["hash"], "face_motion", 1)["face_motion"] for row in result.rows]).astype(np.float64)
    frames = frames[np.isfinite(frames).all(axis=1)]
    stats = result.stats["face_motion"]
    assert stats.n == len(frames) > 0
    np.testing.assert_allclose(stats.mean, frames.mean(axis=0), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(stats.cov, np.cov(frames, rowvar=False), rtol=1e-9, atol=1e-12)
    assert len(result.rows) == sum(len(s.refs) for s in shards)


def test_ray_gives_identical_numbers_and_resumes(local_ray, shards, local_run, tmp_path):
    _, local = local_run
    cache = str(tmp_path / "ray-cache")
    first = extract_shards(shards, NAMES, cache, engine="ray", workers=2)
    assert sorted(first.computed) == sorted(s.key for s in shards) and not first.skipped
    assert [(r["id"], r["hash"], r["face_motion_frames"]) for r in first.rows] == \
           [(r["id"], r["hash"], r["face_motion_frames"]) for r in local.rows]
    _stats_equal(first.stats, local.stats)

    # A re-run schedules nothing; forgetting one shard's record re-runs exactly that shard.
    again = extract_shards(shards, NAMES, cache, engine="ray", workers=2)
    assert again.computed == [] and sorted(again.skipped) == sorted(s.key for s in shards)
    _stats_equal(again.stats, local.stats)
    ledger = ShardLedger(FeatureCache(cache), extractor_versions(NAMES))
    ledger.path(shards[1].key).unlink()
    partial = extract_shards(shards, NAMES, cache, engine="ray", workers=2)
    assert partial.computed == [shards[1].key]
    _stats_equal(partial.stats, local.stats)


def test_killed_worker_loses_and_double_counts_nothing(local_ray, shards, local_run, tmp_path):
    _, local = local_run
    cache = str(tmp_path / "kill-cache")
    ledger = ShardLedger(FeatureCache(cache), extractor_versions(NAMES))
    box = {}
    run = threading.Thread(target=lambda: box.update(result=extract_shards(shards, NAMES, cache, engine="ray", workers=2)))
    run.start()
    killed = None
    deadline = time.time() + 120
    while killed is None and time.time() < deadline and run.is_alive():
        for marker in ledger.dir.glob("*.running") if ledger.dir.exists() else []:
            try:
                info = json.loads(marker.read_text())
            except (OSError, ValueError):
                continue  # being written or just removed
            assert info["pid"] != os.getpid()  # the worker process, not this driver
            os.kill(info["pid"], signal.SIGKILL)
            killed = info
            break
        time.sleep(0.05)
    run.join(timeout=300)
    assert killed is not None, "no worker was seen working on a shard"
    result = box["result"]
    assert sorted(result.computed) == sorted(s.key for s in shards)
    assert sorted(r["id"] for r in result.rows) == sorted(r["id"] for r in local.rows)  # each video exactly once
    _stats_equal(result.stats, local.stats)
    assert all(ledger.read(s.key, s.fingerprint) is not None for s in shards)


def test_evaluate_with_ray_matches_local(local_ray, seamless_root, tmp_path):
    from dyadbench.baselines import run_baseline
    from dyadbench.runner import evaluate

    sub = run_baseline("seamless/video", "mirror", seamless_root, tmp_path / "sub", 0)
    kw = dict(n_boot=20, slice_boot=0, seed=0, workers=2)
    local = evaluate("seamless/video", seamless_root, sub, engine="local", cache_root=str(tmp_path / "c1"), **kw)
    remote = evaluate("seamless/video", seamless_root, sub, engine="ray", cache_root=str(tmp_path / "c2"), **kw)
    assert local["metrics"] and local["metrics"].keys() == remote["metrics"].keys()
    for name, value in local["metrics"].items():
        assert remote["metrics"][name]["value"] == value["value"], name
    # Every declared metric of the video task is reported, or skipped with its reason (no weights here).
    from dyadbench.runner.protocols import declared_outputs
    from dyadbench.tasks.registry import get_task

    for name, outputs in declared_outputs(get_task("seamless/video")).items():
        assert (name in local["skipped"] and local["skipped"][name]) or all(o in local["metrics"] for o in outputs), name
    assert {"ffd", "paired_fd", "face_detection_rate"} <= set(local["metrics"])
    assert local["metrics"]["ffd"]["ci_unit"] == "items"  # clips resampled, never single frames


def test_ray_pool_builds_its_actors_once_for_several_runs(local_ray, tmp_path):
    import test_engine
    from ray import cloudpickle
    from test_engine import Refusing, Registering

    from dyadbench.engine import ActorPool

    cloudpickle.register_pickle_by_value(test_engine)  # Ray's workers cannot import the tests folder

    with ActorPool(Registering, {"offset": 5, "folder": str(tmp_path)}, engine="ray", workers=2) as pool:
        built = sorted(os.listdir(tmp_path))
        assert len(built) == 2 and len({b.split("-")[0] for b in built}) == 2
        runs = [dict(pool.run(list(range(start, start + 8)))) for start in (0, 8)]
        assert [sorted(r) for r in runs] == [list(range(8))] * 2
        assert all(runs[1][i][0] == 8 + i + 5 for i in range(8))
        assert sorted(os.listdir(tmp_path)) == built
    with pytest.raises(FileNotFoundError, match="weights.pt: not found"):
        ActorPool(Refusing, {}, engine="ray", workers=1)


def test_ray_pool_larger_than_the_cluster_is_refused_not_left_waiting(local_ray):
    from dyadbench.engine import ActorPool

    with pytest.raises(ValueError, match="3 actors asked for, but the Ray cluster holds 2"):
        ActorPool(dict, {}, engine="ray", workers=3)
