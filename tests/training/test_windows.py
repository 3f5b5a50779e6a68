"""The training loader: every window exactly once across workers x ranks, identical from tars and
folders, a seeded order, and audio features at the motion rate."""

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from dyadbench.datasets.sample.seamless_sample import write_seamless_sample
from dyadbench.features.audio import log_mel_at_rate
from dyadbench.training.windows import DyadicWindows

TASK = "seamless/facial-motion"


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    """Bundles layout: every archive both as a WebDataset tar and as its extracted folder."""
    root = tmp_path_factory.mktemp("windows")
    write_seamless_sample(root, dyads=2, seconds=5.0, seed=4, video=False, splits=("train",))
    return root


def _keys(loader) -> list[tuple[str, int]]:
    return [(w["item_id"], int(w["start"])) for w in loader]


def test_every_window_once_across_two_workers_and_two_ranks(bundles):
    everything = _keys(DyadicWindows(bundles, task=TASK, window=32, shuffle=False))
    assert len(everything) == len(set(everything)) > 8
    seen = []
    for rank in (0, 1):
        ds = DyadicWindows(bundles, task=TASK, window=32, seed=5, rank=rank, world_size=2)
        got = _keys(DataLoader(ds, batch_size=None, num_workers=2))
        assert got, f"rank {rank} got no window"
        seen += got
    assert sorted(seen) == sorted(everything)  # none lost, none twice


def test_tars_and_extracted_folders_give_identical_windows(bundles):
    assert list(bundles.glob("*/train/*/*.tar")) and [p for p in bundles.glob("*/train/*/*") if p.is_dir()]
    shards = list(DyadicWindows(bundles, task=TASK, window=40, stride=20, shuffle=False, source="shards"))
    loose = list(DyadicWindows(bundles, task=TASK, window=40, stride=20, shuffle=False, source="loose"))
    assert len(shards) == len(loose) > 0
    for a, b in zip(shards, loose):
        assert (a["item_id"], a["start"]) == (b["item_id"], b["start"])
        for key in ("target", "partner", "target_valid", "partner_valid", "target_audio", "partner_audio"):
            assert torch.equal(a[key], b[key]), key


def test_same_seed_same_order_and_epochs_reshuffle(bundles):
    def order(seed, epoch=0):
        ds = DyadicWindows(bundles, task=TASK, window=16, seed=seed, shuffle_buffer=8)
        ds.set_epoch(epoch)
        return _keys(ds)

    first = order(1)
    assert first == order(1)
    assert first != order(2) and first != order(1, epoch=1)
    assert sorted(first) == sorted(order(2))


def test_window_contents_are_the_items_aligned_arrays(bundles):
    ds = DyadicWindows(bundles, task=TASK, window=50, shuffle=False)
    item = ds.load(ds.item_indices()[0])
    w = next(iter(ds))
    assert w["target"].shape == (50, 128) and w["target_audio"].shape == (50, 40)
    np.testing.assert_array_equal(w["target"].numpy(), item.target[:50])
    np.testing.assert_array_equal(w["partner"].numpy(), item.partner[:50])
    # a window past an item's end is padded with frames marked invalid
    tail = DyadicWindows(bundles, task=TASK, window=item.n + 10, shuffle=False).window_at(item, 0)
    assert not tail["target_valid"][item.n:].any() and tail["target_valid"][: item.n].all()


def test_realtalk_windows_are_listener_given_speaker(goal_root):
    ds = DyadicWindows(goal_root, task="realtalk/listener-retrieval", window=96, shuffle=False)
    clip = ds.source_items._refs[0]
    w = next(iter(ds))
    assert w["target"].shape == (96, 56) and w["item_id"] == clip.id
    np.testing.assert_allclose(w["target"].numpy(), np.nan_to_num(clip.listener_motion()[:96]), rtol=0, atol=0)
    np.testing.assert_allclose(w["partner"].numpy(), np.nan_to_num(clip.speaker_motion()[:96]), rtol=0, atol=0)


def test_log_mel_at_rate_puts_a_tone_in_its_mel_band():
    sr, fps, n = 48_000, 30.0, 60
    t = np.arange(int(sr * n / fps)) / sr
    mel_hz = lambda m: 700 * (10 ** (m / 2595) - 1)  # noqa: E731  (HTK mel scale, as python_speech_features)
    edges = mel_hz(np.linspace(0, 2595 * np.log10(1 + 8000 / 700), 42))  # 40 bands: centres are edges[1:-1]
    for f in (300.0, 1000.0, 3000.0):
        m = log_mel_at_rate(np.sin(2 * np.pi * f * t), sr, fps, n)
        assert m.shape == (n, 40)
        expected = int(np.argmin(np.abs(edges[1:-1] - f)))
        assert abs(int(np.median(m.argmax(axis=1))) - expected) <= 1, f
    # silence after a tone: frames past the audio's end are at the floor
    m = log_mel_at_rate(np.sin(2 * np.pi * 1000 * t[: len(t) // 2]), sr, fps, n)
    assert m[-5:].max() < m[:5].max() - 20


def test_without_audio_the_windows_carry_no_audio_columns(bundles):
    w = next(iter(DyadicWindows(bundles, task=TASK, window=20, shuffle=False, audio=False)))
    assert w["target_audio"].shape == (20, 0) and w["target"].shape == (20, 128)
