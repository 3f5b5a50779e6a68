"""Goal-conditioned listener retrieval: per-goal scores, contrasts between goals, baselines per goal."""

import numpy as np
import pytest

from dyadbench.baselines.retrieval import write_retrieval_baseline
from dyadbench.datasets.realtalk import RealTalk
from dyadbench.datasets.submission import (
    SubmissionError,
    read_retrieval_goals,
    write_retrieval_submission,
)
from dyadbench.metrics import retrieval_ranks
from dyadbench.metrics.retrieval import delta_median_rank, moved_share
from dyadbench.runner.protocols import goal_results
from dyadbench.tasks.registry import get_task

TASK = get_task("realtalk/listener-retrieval")
GOALS = TASK.options["goals"]


def _goal_report(root, sub, n_boot=400):
    rt = RealTalk(root)
    queries, bank = rt.split("eval"), rt.split("bank")
    matrices = read_retrieval_goals(sub, [q.id for q in queries], [c.id for c in bank], tuple(GOALS))
    index = {c.id: i for i, c in enumerate(bank)}
    ranks = {g: retrieval_ranks(m, np.array([index[q.id] for q in queries])) for g, m in matrices.items()}
    return goal_results(GOALS, ranks, [q.id for q in queries], len(bank), 0, n_boot, None), ranks


def test_affect_baseline_ranks_the_true_listener_higher_when_appropriate_than_when_rude(goal_root, tmp_path):
    report, ranks = _goal_report(goal_root, write_retrieval_baseline("affect", goal_root, tmp_path / "affect", 0, tuple(GOALS)))
    assert len(ranks["appropriate"]) >= 10
    app, rude = report["appropriate"]["metrics"], report["rude"]["metrics"]
    assert app["median_rank"]["value"] < rude["median_rank"]["value"]
    shift = rude["delta_median_rank"]
    assert shift["value"] == pytest.approx(np.median(ranks["rude"]) - np.median(ranks["appropriate"]))
    assert shift["low"] > 0  # the whole interval: the goal pushed the true listener down
    assert rude["moved_share"]["low"] > 0.5
    assert "delta_median_rank" not in app  # the reference goal has no contrast with itself


def test_random_baseline_shows_no_contrast_beyond_its_interval(goal_root, tmp_path):
    report, _ = _goal_report(goal_root, write_retrieval_baseline("random", goal_root, tmp_path / "random", 0, tuple(GOALS)))
    shift, moved = report["rude"]["metrics"]["delta_median_rank"], report["rude"]["metrics"]["moved_share"]
    assert shift["low"] <= 0 <= shift["high"]
    assert moved["low"] <= 0.5 <= moved["high"]


def test_contrast_metrics_by_brute_force():
    ref, goal = np.array([1, 5, 9, 3, 7]), np.array([4, 5, 2, 8, 10])
    assert delta_median_rank(goal, ref) == np.median(goal) - np.median(ref)
    assert moved_share(goal, ref, "low") == sum(g > r for g, r in zip(goal, ref)) / 5  # 3 of 5 pushed down
    assert moved_share(goal, ref, "high") == sum(g < r for g, r in zip(goal, ref)) / 5
    with pytest.raises(ValueError, match="goal_direction"):
        moved_share(goal, ref, "sideways")


def test_submission_goal_format(tmp_path):
    q, b = ["q1", "q2"], ["b1", "b2", "b3"]
    plain = write_retrieval_submission(tmp_path / "plain", np.ones((2, 3)), q, b)
    assert list(read_retrieval_goals(plain, q, b, tuple(GOALS))) == ["appropriate"]  # the plain format stays valid
    both = write_retrieval_submission(tmp_path / "both", {"appropriate": np.ones((2, 3)), "rude": -np.ones((2, 3))}, q, b)
    assert sorted(read_retrieval_goals(both, q, b, tuple(GOALS))) == ["appropriate", "rude"]
    odd = write_retrieval_submission(tmp_path / "odd", {"appropriate": np.ones((2, 3)), "polite": np.ones((2, 3))}, q, b)
    with pytest.raises(SubmissionError, match=r"undeclared goal\(s\) \['polite'\]"):
        read_retrieval_goals(odd, q, b, tuple(GOALS))
    only_rude = write_retrieval_submission(tmp_path / "rude", {"rude": np.ones((2, 3))}, q, b)
    with pytest.raises(SubmissionError, match="reference goal 'appropriate'"):
        read_retrieval_goals(only_rude, q, b, tuple(GOALS))
