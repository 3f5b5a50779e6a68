"""The main job: tasks, baselines, evaluate(), with sample data in the released layouts."""

import numpy as np
import pytest

from dyadbench.baselines import run_baseline
from dyadbench.datasets.submission import (
    SubmissionError,
    write_motion_submission,
    write_retrieval_submission,
)
from dyadbench.runner import evaluate
from dyadbench.runner.items import features, motion_items
from dyadbench.tasks.registry import get_task, list_tasks


def write_ground_truth(task_name, root, out):
    task = get_task(task_name)
    for item in motion_items(task, root):
        write_motion_submission(out, item.id, {k: item.target.feature(k) for k in task.feature_keys})
    return out


def values(report):
    return {k: v["value"] for k, v in report["metrics"].items()}


@pytest.mark.parametrize("task_name", ["seamless/facial-motion", "seamless/gesture"])
def test_ground_truth_copy_scores_the_best_possible_value(seamless_root, tmp_path, task_name):
    report = evaluate(task_name, seamless_root, write_ground_truth(task_name, seamless_root, tmp_path / "gt"), n_boot=20, slice_boot=0)
    m = report["metrics"]
    for name in ("ffd", "fgd", "paired_fd", "fd_kinetic"):
        if name in m:
            assert m[name]["value"] == pytest.approx(0.0, abs=1e-6), name
    if "l2" in m:
        assert m["l2"]["value"] == 0.0
        assert m["fr_corr"]["value"] == pytest.approx(1.0)
        assert m["fr_dist"]["value"] == pytest.approx(0.0, abs=1e-9)
    for name in ("variance", "si_diversity", "diversity", "fr_syn", "beat_consistency"):
        if name in m and m[name].get("reference") is not None:
            assert m[name]["value"] == pytest.approx(m[name]["reference"]), name


@pytest.mark.parametrize("task_name", ["seamless/facial-motion", "seamless/gesture"])
def test_mirror_and_nearest_neighbour_beat_random_on_paired_metrics(seamless_root, tmp_path, task_name):
    paired = {}
    for name in ("random", "mirror", "nearest_neighbour"):
        run_baseline(task_name, name, seamless_root, tmp_path / name)
        paired[name] = evaluate(task_name, seamless_root, tmp_path / name, n_boot=0, slice_boot=0)["metrics"]["paired_fd"]["value"]
    assert paired["mirror"] < paired["random"]
    assert paired["nearest_neighbour"] < paired["random"]


def test_report_has_intervals_slices_and_group_sizes(seamless_root, tmp_path):
    run_baseline("seamless/facial-motion", "mean", seamless_root, tmp_path / "mean")
    report = evaluate("seamless/facial-motion", seamless_root, tmp_path / "mean", n_boot=30, slice_boot=10)
    assert report["schema"] == "dyadbench.report/1" and report["n_items"] == 4
    l2 = report["metrics"]["l2"]
    assert l2["low"] <= l2["value"] <= l2["high"] and l2["n"] == 4
    assert "label" in report["slices"]  # first in the keep order; vendor splits these 4 items as label does
    from dyadbench.runner.items import GROUP_COLUMNS, motion_items

    partition = lambda col: sorted(sorted(i.id for i in items if i.groups[col] == v) for v in {i.groups[col] for i in items})
    items = motion_items(get_task("seamless/facial-motion"), seamless_root)
    for col in GROUP_COLUMNS:  # every grouping is scored, or named as splitting like one that is
        if col in report["slices_same_as"]:
            twin = report["slices_same_as"][col]
            assert twin in report["slices"] and col not in report["slices"] and partition(col) == partition(twin)
        elif len({i.groups[col] for i in items}) > 1:
            assert col in report["slices"]
    assert report["slices_same_as"]  # on this sample, interaction type splits the items as label does
    for groups in report["slices"].values():
        assert sum(g["n"] for g in groups.values()) == 4
        for g in groups.values():
            assert set(g["metrics"]) == set(report["metrics"])


def test_random_retrieval_reproduces_chance(realtalk_root, tmp_path):
    from dyadbench.datasets.realtalk import RealTalk

    rt = RealTalk(realtalk_root)
    queries, bank = rt.split("eval"), rt.split("bank")
    means = []
    for seed in range(60):
        write_retrieval_submission(tmp_path, np.random.default_rng(seed).random((len(queries), len(bank))),
                                   [q.id for q in queries], [b.id for b in bank])
        means.append(evaluate("realtalk/listener-retrieval", realtalk_root, tmp_path, n_boot=0, slice_boot=0)["metrics"]["mean_rank"]["value"])
    expected, sd = (len(bank) + 1) / 2, np.sqrt((len(bank) ** 2 - 1) / 12 / len(queries) / 60)
    assert abs(np.mean(means) - expected) < 4 * sd


def test_retrieval_nearest_neighbour_and_perceptual_space(realtalk_root, tmp_path):
    run_baseline("realtalk/listener-retrieval", "speaker_nearest_neighbour", realtalk_root, tmp_path)
    report = evaluate("realtalk/listener-retrieval", realtalk_root, tmp_path, n_boot=0, slice_boot=0)
    m = report["metrics"]
    assert set(m) >= {"recall_at_500", "recall_at_1000", "median_rank", "mrr", "perceptual_l2", "perceptual_l2_dlib"}
    assert m["perceptual_l2"]["value"] >= 0.0 and report["extras"]["bank_size"] == 5
    assert m["perceptual_l2_dlib"]["value"] >= 0.0 and m["perceptual_l2_dlib"].get("items_without_value", 0) == 0
    # Weights that are not here are said, never silently dropped.
    assert set(report["skipped"]) == {"perceptual_l2_vggface", "perceptual_l2_facenet512", "perceptual_l2_deepface",
                                     "perceptual_l2_facenet128"}
    assert "Official source" in report["skipped"]["perceptual_l2_vggface"]
    assert "swghosh/DeepFace" in report["skipped"]["perceptual_l2_deepface"]


def test_every_task_declares_metrics_and_baselines():
    for task in list_tasks():
        assert task.metrics and task.baselines and task.protocol in ("motion", "video", "retrieval")


def motion_submission(tmp_path, seamless_root):
    task = get_task("seamless/facial-motion")
    items = motion_items(task, seamless_root)
    arrays = {it.id: {"movement:expression": features(it.target, task).astype(np.float32)} for it in items}
    return task, items, arrays


def expect_error(seamless_root, folder, pattern):
    with pytest.raises(SubmissionError, match=pattern):
        evaluate("seamless/facial-motion", seamless_root, folder, n_boot=0, slice_boot=0)


def test_bad_submissions_fail_fast_naming_the_file(seamless_root, tmp_path):
    task, items, arrays = motion_submission(tmp_path, seamless_root)
    (tmp_path / "missing").mkdir()
    for it in items[1:]:
        write_motion_submission(tmp_path / "missing", it.id, arrays[it.id])
    expect_error(seamless_root, tmp_path / "missing", rf"1 missing item\(s\).*{items[0].id}\.npz")

    for it in items:
        write_motion_submission(tmp_path / "extra", it.id, arrays[it.id])
    write_motion_submission(tmp_path / "extra", "V99_S0001_I00000001_P0001", arrays[items[0].id])
    expect_error(seamless_root, tmp_path / "extra", "unexpected item")

    for it in items:
        write_motion_submission(tmp_path / "dup", it.id, arrays[it.id])
    (tmp_path / "dup" / f"{items[0].id}.NPZ").write_bytes((tmp_path / "dup" / f"{items[0].id}.npz").read_bytes())
    expect_error(seamless_root, tmp_path / "dup", "duplicate ids")

    for it in items:
        bad = {"movement:expression": arrays[it.id]["movement:expression"].copy()}
        if it is items[2]:
            bad["movement:expression"][5, 3] = np.nan
        write_motion_submission(tmp_path / "nan", it.id, bad)
    expect_error(seamless_root, tmp_path / "nan", rf"{items[2].id}\.npz.*NaN/inf")

    for it in items:
        write_motion_submission(tmp_path / "shape", it.id, {"movement:expression": arrays[it.id]["movement:expression"][:, :64]})
    expect_error(seamless_root, tmp_path / "shape", r"expected shape \(N, 128\)")

    for it in items:  # 25 fps instead of 30: the frame count gives it away
        write_motion_submission(tmp_path / "fps", it.id, {"movement:expression": arrays[it.id]["movement:expression"][::6][:50]})
    expect_error(seamless_root, tmp_path / "fps", "wrong fps or length")

    # integers and complex numbers are not motion (a cast would drop the imaginary part silently); nor are 0 samples
    for kind, make in (("int", lambda x: x.astype(np.int64)), ("complex", lambda x: x.astype(np.complex64)),
                       ("empty", lambda x: x[None][:0])):
        (tmp_path / kind).mkdir()
        for it in items:
            np.savez(tmp_path / kind / f"{it.id}.npz", **{"movement:expression": make(arrays[it.id]["movement:expression"])})
    expect_error(seamless_root, tmp_path / "int", r"\.npz.*'movement:expression'.*real floating-point.*int64")
    expect_error(seamless_root, tmp_path / "complex", r"\.npz.*real floating-point.*complex64")
    expect_error(seamless_root, tmp_path / "empty", r"\.npz.*0 samples")


def test_bad_retrieval_submission(realtalk_root, tmp_path):
    from dyadbench.datasets.realtalk import RealTalk

    rt = RealTalk(realtalk_root)
    q, b = [c.id for c in rt.split("eval")], [c.id for c in rt.split("bank")]
    write_retrieval_submission(tmp_path, np.zeros((len(q), len(b))), q, b[:-1] + ["nope_000000"])
    with pytest.raises(SubmissionError, match="bank_ids: 1 missing"):
        evaluate("realtalk/listener-retrieval", realtalk_root, tmp_path, n_boot=0, slice_boot=0)
    write_retrieval_submission(tmp_path, np.full((len(q), len(b)), np.nan), q, b)
    with pytest.raises(SubmissionError, match="scores.npz: scores: .* NaN"):
        evaluate("realtalk/listener-retrieval", realtalk_root, tmp_path, n_boot=0, slice_boot=0)


def test_items_with_different_sample_counts_are_refused(seamless_root, tmp_path):
    task, items, arrays = motion_submission(tmp_path, seamless_root)
    for k, it in enumerate(items):
        x = arrays[it.id]["movement:expression"]
        write_motion_submission(tmp_path / "mixed", it.id, {"movement:expression": np.stack([x] * (2 if k else 3))})
    expect_error(seamless_root, tmp_path / "mixed", r"same number of samples M.*2 sample\(s\): 3 item\(s\).*3 sample\(s\): 1 item")


def test_a_dataset_fault_is_blamed_on_the_dataset_not_the_submission(seamless_root, tmp_path):
    """A partner missing from the dataset used to read as "unexpected item(s)" in the submission."""
    import shutil

    from dyadbench.datasets.errors import DatasetError

    root = tmp_path / "S"
    shutil.copytree(seamless_root, root)
    sub = tmp_path / "sub"
    run_baseline("seamless/facial-motion", "mean", root, sub)
    victim = sorted((root / "improvised" / "test").rglob("*.npz"))[0]
    for f in victim.parent.glob(victim.stem + ".*"):
        f.unlink()
    for tar in (root / "improvised" / "test").rglob("*.tar"):
        tar.unlink()  # the shards hold the same bundle: the extracted copy is what a user edits
    with pytest.raises(DatasetError, match=r"missing partner of a dyad.*skipped 1 bundle\(s\).*data inspect") as exc:
        evaluate("seamless/facial-motion", root, sub, n_boot=0, slice_boot=0)
    assert not isinstance(exc.value, SubmissionError)


def test_progress_counts_the_whole_set_and_every_slice_group(seamless_root, tmp_path):
    run_baseline("seamless/facial-motion", "mean", seamless_root, tmp_path / "mean")
    calls = []
    report = evaluate("seamless/facial-motion", seamless_root, tmp_path / "mean", n_boot=0, slice_boot=0,
                      progress=lambda done, total, what: calls.append((done, total, what)))
    groups = sum(len(v) for v in report["slices"].values())
    items = [c for c in calls if c[2] in ("ground truth read", "items scored")]  # the streamed passes, item by item
    assert items[-1] == (2 * report["n_items"], 2 * report["n_items"], "items scored")
    assert [c[0] for c in items] == sorted(c[0] for c in items)
    sliced = calls[len(items):]
    assert sliced[0] == (0, 1 + groups, "all items") and sliced[-1][0] == sliced[-1][1] == 1 + groups
    assert [c[0] for c in sliced] == list(range(len(sliced)))


def test_mirror_needs_no_train_split_but_a_fitted_baseline_says_why_it_does(tmp_path):
    from dyadbench.datasets.sample.seamless_sample import write_seamless_sample

    root = tmp_path / "test-only"
    write_seamless_sample(root, dyads=1, seconds=1.0, seed=0, layout="files", video=False, splits=("test",))
    out = run_baseline("seamless/facial-motion", "mirror", root, tmp_path / "mirror")
    assert {p.stem for p in out.glob("*.npz")} == {it.id for it in motion_items(get_task("seamless/facial-motion"), root)}
    with pytest.raises(ValueError, match="random fits the train split.*use mirror"):
        run_baseline("seamless/facial-motion", "random", root, tmp_path / "random")
