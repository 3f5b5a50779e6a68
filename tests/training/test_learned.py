"""Learned baselines: reproducible and resumable training, and models that actually learn the
sample's speaker -> listener structure (a broken model would not beat the trivial baselines)."""

import json

import numpy as np
import pytest
import torch

from dyadbench.baselines import run_baseline
from dyadbench.datasets.realtalk import RealTalk
from dyadbench.datasets.sample.seamless_sample import write_seamless_sample
from dyadbench.datasets.submission import read_retrieval_goals
from dyadbench.runner import evaluate
from dyadbench.metrics import retrieval_ranks
from dyadbench.training.trainer import TrainConfig, load_checkpoint, train

TASK = "seamless/facial-motion"


@pytest.fixture(scope="module")
def features_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("learned")
    # listeners fully follow their partners (mimicry 1): a model that learns must find it on 6 dyads
    write_seamless_sample(root, dyads=6, seconds=10.0, seed=2, layout="files", video=False, splits=("train", "test"), mimicry=1.0)
    return root


def _tensors(path):
    ck = torch.load(path, weights_only=True)
    return ck["model"]


def _same(a, b) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


SMALL = dict(task=TASK, epochs=3, hidden=32, layers=2, window=32, batch_size=16)


def test_same_seed_gives_identical_checkpoints(features_root, tmp_path):
    train(features_root, tmp_path / "a", TrainConfig(seed=7, **SMALL))
    train(features_root, tmp_path / "b", TrainConfig(seed=7, **SMALL))
    train(features_root, tmp_path / "c", TrainConfig(seed=8, **SMALL))
    for name in ("best.pt", "last.pt"):
        assert _same(_tensors(tmp_path / "a" / name), _tensors(tmp_path / "b" / name)), name
    assert not _same(_tensors(tmp_path / "a" / "last.pt"), _tensors(tmp_path / "c" / "last.pt"))
    run = json.loads((tmp_path / "a" / "run.json").read_text())
    assert run["fingerprint"] == json.loads((tmp_path / "b" / "run.json").read_text())["fingerprint"]
    assert len(run["curves"]) == 3 and (tmp_path / "a" / "curves.png").stat().st_size > 1000
    # the benchmark's FD and paired FD on the validation windows, per epoch (dyadbench.torchmetrics)
    assert all(c["val_fd"] > 0 and c["val_paired_fd"] > 0 for c in run["curves"])
    other = json.loads((tmp_path / "b" / "run.json").read_text())["curves"]
    assert [c["val_paired_fd"] for c in run["curves"]] == [c["val_paired_fd"] for c in other]


class Interrupted(Exception):
    pass


def test_an_interrupted_run_resumes_to_the_same_checkpoint(features_root, tmp_path):
    cfg = TrainConfig(seed=3, **SMALL | {"epochs": 4})
    whole = train(features_root, tmp_path / "whole", cfg)

    def stop_after_two(curve):
        if curve["epoch"] == 1:
            raise Interrupted

    with pytest.raises(Interrupted):
        train(features_root, tmp_path / "cut", cfg, progress=stop_after_two)
    resumed = train(features_root, tmp_path / "cut", cfg)
    assert [c["val_loss"] for c in resumed["curves"]] == [c["val_loss"] for c in whole["curves"]]
    assert _same(_tensors(tmp_path / "whole" / "last.pt"), _tensors(tmp_path / "cut" / "last.pt"))
    with pytest.raises(ValueError, match="another config"):
        train(features_root, tmp_path / "cut", TrainConfig(seed=4, **SMALL))


def test_checkpoint_for_another_task_is_refused(features_root, tmp_path):
    train(features_root, tmp_path / "run", TrainConfig(seed=0, **SMALL | {"epochs": 1}))
    with pytest.raises(Exception, match="trained for seamless/facial-motion"):
        load_checkpoint(tmp_path / "run", "seamless/gesture")
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(Exception, match="bad.pt"):
        load_checkpoint(tmp_path / "bad.pt", TASK)
    import pickle

    (tmp_path / "foreign.pt").write_bytes(pickle.dumps(object()))  # torch's weights_only refusal advises unsafe loading
    with pytest.raises(Exception, match="not a readable dyadbench checkpoint") as err:
        load_checkpoint(tmp_path / "foreign.pt", TASK)
    assert "weights_only" not in str(err.value)


def test_learned_facial_motion_beats_mean_and_random_with_separate_intervals(features_root, tmp_path):
    train(features_root, tmp_path / "run", TrainConfig(task=TASK, seed=0, epochs=25, patience=5))
    reports = {}
    for name in ("learned", "mean", "random"):
        sub = run_baseline(TASK, name, features_root, tmp_path / name, 0, tmp_path / "run")
        reports[name] = evaluate(TASK, features_root, sub, n_boot=200, slice_boot=0)["metrics"]
    for metric in ("l2", "paired_fd"):
        learned = reports["learned"][metric]
        for other in ("mean", "random"):
            assert learned["high"] < reports[other][metric]["low"], (metric, other, learned, reports[other][metric])


def test_learned_listener_beats_random_on_median_rank(goal_root, tmp_path):
    task = "realtalk/listener-retrieval"
    train(goal_root, tmp_path / "run", TrainConfig(task=task, seed=0, epochs=25, patience=5, window=96))
    rt = RealTalk(goal_root)
    queries, bank = rt.split("eval"), rt.split("bank")
    truth = np.array([[c.id for c in bank].index(q.id) for q in queries])
    medians = {}
    for name in ("learned", "random"):
        sub = run_baseline(task, name, goal_root, tmp_path / name, 0, tmp_path / "run")
        scores = read_retrieval_goals(sub, [q.id for q in queries], [c.id for c in bank], ("appropriate", "rude"))
        medians[name] = float(np.median(retrieval_ranks(scores["appropriate"], truth)))
    # chance is about half the bank; the learned listener must be far better, not just lucky
    assert medians["learned"] < 0.25 * len(bank) < medians["random"], medians
