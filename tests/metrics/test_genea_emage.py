"""GENEA's jerk / acceleration / speed-histogram Hellinger and EMAGE's L1div, re-derived here by
following each reference script's steps literally (loops per frame and joint, as the scripts
write them) on small arrays; the registered functions must give the same numbers."""

import math

import numpy as np
import pytest

from dyadbench.metrics import genea_emage as GE
from dyadbench.metrics import l1div as l1div_metric

FPS = 30.0


def _genea_average(data, n, fps):
    """calk_jerk_or_acceleration.py, step by step: np.diff(n), norm per 3-value joint per frame, mean over frames per joint, x fps^n."""
    diffs = np.diff(data, n=n, axis=0)
    norms = np.zeros((diffs.shape[0], diffs.shape[1] // 3))
    for i in range(diffs.shape[0]):
        for j in range(diffs.shape[1] // 3):
            norms[i, j] = np.linalg.norm(diffs[i, 3 * j:3 * j + 3])
    return np.mean(norms, axis=0) * fps ** n


def _genea_hist(files, fps, drop):
    """calc_histogram.py: (optionally [:, 2:]) speeds per joint x fps, unit bins 0..59 per joint, summed."""
    speeds = []
    for data in files:
        coords = data[:, drop:]
        vels = np.diff(coords, n=1, axis=0)
        norms = np.zeros((vels.shape[0], vels.shape[1] // 3))
        for i in range(vels.shape[0]):
            for j in range(vels.shape[1] // 3):
                norms[i, j] = np.linalg.norm(vels[i, 3 * j:3 * j + 3])
        speeds.append(norms * fps)
    speeds = np.concatenate(speeds)
    bins = np.arange(0, 59 + 1, 1)
    return np.sum([np.histogram(speeds[:, j], bins=bins)[0] for j in range(speeds.shape[1])], axis=0)


def _hellinger(h1, h2):
    p, q = h1 / np.sum(h1), h2 / np.sum(h2)
    return math.sqrt(1.0 - np.sum(np.sqrt(p * q)))


@pytest.fixture
def motion():
    rng = np.random.default_rng(5)
    gen = [np.cumsum(rng.normal(0, 0.4, (n, 12)), axis=0) for n in (40, 55, 31)]
    ref = [np.cumsum(rng.normal(0, 0.6, (len(g), 12)), axis=0) for g in gen]
    return gen, ref


@pytest.mark.parametrize("order", [2, 3])
def test_jerk_and_acceleration_are_genea_averages(motion, order):
    gen, _ = motion
    for g in gen:
        want = float(np.mean(_genea_average(g, order, FPS)))  # printed: mean over joints, then over files
        assert GE.mean_derivative_item(g[None], np.ones(len(g), bool), FPS, order=order) == pytest.approx(want, rel=1e-12)


def test_a_difference_over_an_invalid_frame_is_left_out(motion):
    g = motion[0][0]
    valid = np.ones(len(g), bool)
    valid[10] = False
    # the second differences starting at frames 8, 9 and 10 span frame 10
    norms = np.linalg.norm(np.diff(g.reshape(len(g), -1, 3), n=2, axis=0), axis=2) * FPS ** 2
    keep = [i for i in range(len(norms)) if i not in (8, 9, 10)]
    assert GE.mean_derivative_item(g[None], valid, FPS, order=2) == pytest.approx(norms[keep].mean(0).mean(), rel=1e-12)


@pytest.mark.parametrize("drop", [0, 2])
def test_speed_hellinger_is_genea_histograms_hellinger(motion, drop):
    gen, ref = motion
    want = _hellinger(_genea_hist(ref, FPS, drop), _genea_hist(gen, FPS, drop))
    valid = [np.ones(len(g), bool) for g in gen]
    got = GE.speed_hellinger_set([g[None] for g in gen], ref, valid, FPS, drop_leading=drop)
    assert got == pytest.approx(want, rel=1e-12)
    assert GE.speed_hellinger_set([r[None] for r in ref], ref, valid, FPS, drop_leading=drop) == pytest.approx(0.0, abs=1e-7)


def test_l1div_is_emages_running_average(motion):
    gen, _ = motion
    total, count = 0.0, 0
    for g in gen:  # L1div.compute per file, then avg()
        count += g.shape[0]
        total += np.sum(np.abs(g - np.mean(g, axis=0)), axis=None)
    valid = [np.ones(len(g), bool) for g in gen]
    assert GE.l1div_set([g[None] for g in gen], valid) == pytest.approx(total / count, rel=1e-12)
    # the registry-backed public function is the same computation, with an interval
    result = l1div_metric(generated=[g[None] for g in gen], valid=valid, reference_samples=[g[None] for g in gen])
    assert result.value == pytest.approx(total / count, rel=1e-12)
