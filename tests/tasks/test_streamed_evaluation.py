"""The streamed motion evaluation: the same report for any number of workers and either engine;
items without the task's keys left out and counted; memory held per group, not per frame."""

import numpy as np
import pytest

from dyadbench.datasets.sample.seamless_sample import write_seamless_sample
from dyadbench.datasets.submission import write_motion_submission
from dyadbench.runner import evaluate
from dyadbench.runner.items import features, motion_items, per_frame_shapes
from dyadbench.tasks.registry import get_task

TASK = "seamless/facial-motion"


@pytest.fixture(scope="module")
def files_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("features-only")
    write_seamless_sample(root, dyads=3, seconds=6.0, seed=5, layout="files", video=False, splits=("test",))
    return root


@pytest.fixture(scope="module")
def noisy_submission(files_root, tmp_path_factory):
    """Ground truth smoothed in time plus noise whose size differs per item: a non-trivial system."""
    task, out = get_task(TASK), tmp_path_factory.mktemp("noisy")
    rng = np.random.default_rng(0)
    for k, it in enumerate(motion_items(task, files_root)):
        x = features(it.target, task)
        gen = np.stack([x + rng.normal(0, 0.2 + 0.1 * (k % 3), x.shape) for _ in range(2)])  # M = 2 samples
        arrays, start = {}, 0
        for key, shape in per_frame_shapes(task).items():
            size = int(np.prod(shape))
            arrays[key] = gen[:, :, start:start + size].reshape(2, len(x), *shape)
            start += size
        write_motion_submission(out, it.id, arrays)
    return out


def _numbers(report):
    out = {("all", k): (v["value"], v["low"], v["high"], v["n"]) for k, v in report["metrics"].items()}
    for col, groups in report["slices"].items():
        for value, entry in groups.items():
            out.update({((col, value), k): (v["value"], v["low"], v["high"], v["n"]) for k, v in entry["metrics"].items()})
    return out


def _same(a, b):
    assert a.keys() == b.keys()
    for key in a:
        for x, y in zip(a[key], b[key]):
            assert (x is None and y is None) or x == pytest.approx(y, rel=1e-9, abs=1e-12), key


@pytest.fixture(scope="module")
def one_worker(files_root, noisy_submission):
    return evaluate(TASK, files_root, noisy_submission, n_boot=40, slice_boot=10, workers=1)


def test_two_workers_give_the_report_of_one(files_root, noisy_submission, one_worker):
    two = evaluate(TASK, files_root, noisy_submission, n_boot=40, slice_boot=10, workers=2)
    assert one_worker["n_items"] == two["n_items"] >= 6
    assert "fr_div" in one_worker["metrics"]  # M = 2 samples: every metric runs
    _same(_numbers(one_worker), _numbers(two))


def test_streamed_report_names_how_each_set_metric_was_computed(one_worker):
    ffd = one_worker["metrics"]["ffd"]
    assert ffd["interval_method"].startswith("Poisson bootstrap over items")
    assert "fd_item_stats" in ffd["computed_as"] and ffd["low"] < ffd["value"] < ffd["high"]
    si = one_worker["metrics"]["si_diversity"]
    assert si["si_fit_frames"] == one_worker["extras"]["valid_frames"]  # below 20,000 frames: every valid frame fits


def test_items_without_movement_keys_are_counted_not_scored(one_worker):
    assert sum(one_worker["excluded_items"].values()) > 0
    assert all("lacks movement:expression" in reason for reason in one_worker["excluded_items"])


@pytest.mark.slow
@pytest.mark.xdist_group("ray")
def test_ray_engine_gives_the_report_of_local_processes(files_root, noisy_submission, one_worker):
    pytest.importorskip("ray")
    import ray

    from dyadbench.scale.ray_engine import connect

    connect(None, 2)
    try:
        on_ray = evaluate(TASK, files_root, noisy_submission, n_boot=40, slice_boot=10, engine="ray", workers=2)
    finally:
        ray.shutdown()
    _same(_numbers(one_worker), _numbers(on_ray))


def test_a_fit_on_a_bounded_sample_crosses_only_the_sampled_frames(files_root, noisy_submission, monkeypatch, tmp_path):
    """SI-diversity's k-means fits on the seeded bottom-k of ground-truth frames: the ground-truth
    pass sends priorities alone, a second pass the frames at or below the k-th smallest. The fit
    (DIM's convention: raw frames, so no standardization in the way) equals the in-memory one on
    the same seeded sample, for 1 and 2 workers."""
    from dyadbench.datasets.submission import read_motion_item
    from dyadbench.metrics import motion as MM
    from dyadbench.runner import motion_stream
    from dyadbench.runner.items import valid_mask

    monkeypatch.setattr(motion_stream, "GT_SAMPLE_FRAMES", 300)
    conv = {"si_diversity": "dim"}
    reports = [evaluate(TASK, files_root, noisy_submission, n_boot=0, slice_boot=0, workers=w, conventions=conv,
                        cache_root=str(tmp_path / f"cache{w}")) for w in (1, 2)]
    task = get_task(TASK)
    items = [it for it in motion_items(task, files_root) if it.id not in reports[0]["excluded_items"]]
    ref = [features(it.target, task) for it in items]
    valid = [valid_mask(it.target, task, len(r)) for it, r in zip(items, ref)]
    gen = [read_motion_item(noisy_submission / f"{it.id}.npz", task.feature_keys, per_frame_shapes(task), len(r))
           for it, r in zip(items, ref)]
    assert sum(int(v.sum()) for v in valid) > 3 * 300  # the sample is a true subset
    want = MM.si_diversity_set(gen, ref, valid, None, None, task.si_clusters, standardize=False, n_init="auto",
                               log_eps=1e-6, dtype=np.float32, fit_frames=300, ids=[it.id for it in items])
    for report in reports:
        si = report["metrics"]["si_diversity"]
        assert si["si_fit_frames"] == 300 and si["value"] == pytest.approx(want, rel=1e-12)


def test_one_pool_of_workers_serves_every_pass(files_root, noisy_submission, monkeypatch, tmp_path):
    """A worker's start (imports, the dataset scan) is paid once per evaluation, not once per pass:
    the passes' later settings (moments, fits, cut-offs) travel with the jobs. A cold fit adds a
    pass (the fit sample's frames) on the same workers."""
    from dyadbench.runner import motion_stream

    built = []
    real_init = motion_stream.MotionWorker.__init__
    monkeypatch.setattr(motion_stream.MotionWorker, "__init__", lambda self, **kw: built.append(1) or real_init(self, **kw))
    monkeypatch.setattr(motion_stream, "GT_SAMPLE_FRAMES", 300)
    report = evaluate(TASK, files_root, noisy_submission, n_boot=0, slice_boot=0, workers=1,
                      conventions={"si_diversity": "dim"}, cache_root=str(tmp_path / "cache"))
    assert len(built) == 1 and report["metrics"]["si_diversity"]["si_fit_frames"] == 300
