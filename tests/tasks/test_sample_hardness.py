"""The sample data must be as hard as the task it stands for (its default mimicry): a listener is
not recoverable from its partner. At full mimicry the RealTalk sample gave the speaker
nearest-neighbour baseline median rank 1 on every query, and a copy of the partner's face came
closer (L2) to the true listener than the average face; baselines that read the speaker must
still beat chance."""

import numpy as np
import pytest

from dyadbench.baselines import run_baseline
from dyadbench.baselines.retrieval import write_retrieval_baseline
from dyadbench.datasets.realtalk import RealTalk
from dyadbench.datasets.sample.realtalk_sample import write_realtalk_sample
from dyadbench.datasets.sample.seamless_sample import write_seamless_sample
from dyadbench.datasets.submission import read_retrieval_goals
from dyadbench.metrics import retrieval_ranks
from dyadbench.runner import evaluate
from dyadbench.tasks.registry import get_task

GOALS = tuple(get_task("realtalk/listener-retrieval").options["goals"])


@pytest.fixture(scope="module")
def realistic_realtalk(tmp_path_factory):
    root = tmp_path_factory.mktemp("realtalk-default")
    write_realtalk_sample(root, videos=14, seconds=62.0, seed=3, width=64, height=36)  # default mimicry
    return root


def _ranks(root, name, out):
    rt = RealTalk(root)
    queries, bank = rt.split("eval"), rt.split("bank")
    sub = write_retrieval_baseline(name, root, out, 0, GOALS)
    scores = read_retrieval_goals(sub, [q.id for q in queries], [c.id for c in bank], GOALS)["appropriate"]
    index = {c.id: i for i, c in enumerate(bank)}
    return retrieval_ranks(scores, np.array([index[q.id] for q in queries])), len(bank)


def test_speaker_baselines_beat_chance_without_recovering_the_listener(realistic_realtalk, tmp_path):
    ranks, bank = _ranks(realistic_realtalk, "random", tmp_path / "random")
    chance = float(np.median(ranks))
    assert len(ranks) >= 10 and 0.3 * bank < chance < 0.7 * bank, (chance, bank)  # about half the bank
    for name in ("speaker_nearest_neighbour", "affect"):
        ranks, _ = _ranks(realistic_realtalk, name, tmp_path / name)
        median, top1 = float(np.median(ranks)), float(np.mean(ranks == 1))
        assert median < chance, (name, median, chance)  # the speaker tells something about its listener
        assert median >= 2 and top1 <= 0.5, (name, median, top1)  # ... but does not give it away
    nn, _ = _ranks(realistic_realtalk, "speaker_nearest_neighbour", tmp_path / "nn-again")
    assert np.median(nn) < 0.35 * bank  # nearest neighbour well above chance, as the published rows order it


def test_a_copy_of_the_partner_is_no_closer_than_the_average_face(tmp_path):
    """Two people's faces are different faces: copying the partner's facial motion (mirror) lands
    farther from the true listener than the mean face does, unless the listener were made a copy
    of its partner (full mimicry: mirror's L2 0.69x the mean's on the demo's sample)."""
    task = "seamless/facial-motion"
    root = tmp_path / "data"
    write_seamless_sample(root, dyads=4, seconds=10.0, seed=1, layout="files", video=False, splits=("train", "test"))
    l2 = {}
    for name in ("mirror", "mean"):
        sub = run_baseline(task, name, root, tmp_path / name, 0)
        l2[name] = evaluate(task, root, sub, n_boot=0, slice_boot=0)["metrics"]["l2"]["value"]
    assert l2["mirror"] > l2["mean"], l2
