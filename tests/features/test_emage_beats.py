"""EMAGE's beat consistency (``beat_consistency`` convention ``emage``): librosa's onsets, SMPL-X
joint positions and EMAGE's BC, each equal to the reference code.

The pinned figures were printed by the reference code itself, run outside the project on the
inputs of ``emage_inputs.py`` and the body-model file of ``smplx_layout.py``: librosa 0.11.0
(``librosa.load(sr=16000)`` → ``onset_strength`` / ``onset_detect(hop_length=512, units="time")``,
``filters.mel``), and PantoMatrix @ 0bbb03d — ``emage_utils/motion_rep_transfer.get_motion_rep_numpy``
(smplx 0.1.28, the model padded to SMPL-X's 10,475 vertices) and ``emage_evaltools/mertic.BC``
(``load_audio`` / ``load_motion`` / ``compute`` / ``avg`` as its test loop calls them).
"""

import dataclasses
import math

import numpy as np
import pytest

from dyadbench.features import weights
from dyadbench.features.body_model import load_body_model, load_mean_velocity
from dyadbench.features.librosa_onsets import emage_onsets, load_like_librosa, mel_filterbank, onset_envelope, onset_times, pick_onsets
from dyadbench.features.weights import WeightsError
from dyadbench.metrics.emage_beats import (
    UPPER_BODY,
    body_positions,
    central_speeds,
    emage_beat_finish,
    emage_beat_stats,
    emage_motion_beats,
    forward_kinematics,
    l1div_joints_item_stats,
    smplx_positions,
)
from emage_inputs import FPS, SR, mean_velocity, seamless_body, speech_like
from smplx_layout import SMPLX_PARENTS, write_smplx_npz

# librosa 0.11.0 on speech_like(seed) resampled to 16 kHz (whole 12 s): samples, Σ y, envelope frames,
# Σ envelope, onsets, the first five onset times, Σ onset times.
LIBROSA = {0: (192000, -2.28264214185765, 376, 756.0945766475052, 58, [0.096, 0.608, 0.768, 0.8, 1.12], 332.608),
           1: (192000, -6.4547040541801834, 376, 751.1868548858911, 57, [0.096, 0.704, 1.12, 1.152, 1.76], 316.896)}
# EMAGE's BC on (speech_like(seed), seamless_body(seed, frames)): per-item score, its onsets (count, first
# four, sum), motion beats per upper-body joint, SMPL-X right wrist (joint 21) at frame 100, Σ|positions|
# of joints 0-21; and BC.avg() over both items.
EMAGE = {0: (360, 0.8305172175506536, 41, [0.096, 0.128, 0.256, 0.64], 150.46399999999997,
             {3: 0, 6: 21, 9: 21, 12: 17, 13: 22, 14: 23, 15: 18, 16: 19, 17: 20, 18: 21, 19: 12, 20: 20, 21: 17},
             [0.11183372884988785, 0.30161917209625244, 0.1093742623925209], 3314.0928093243856),
         1: (420, 0.775767227885225, 47, [0.096, 0.224, 0.352, 0.48], 210.11200000000002,
             {3: 0, 6: 18, 9: 18, 12: 22, 13: 25, 14: 20, 15: 18, 16: 23, 17: 21, 18: 24, 19: 12, 20: 20, 21: 19},
             [0.1841079294681549, 0.2806072533130646, 0.09393446892499924], 3855.3847742439248)}
EMAGE_AVG = 0.8001005566254155
# EMAGE's L1div (float32) on get_motion_rep_numpy's 55 joint positions of the same motions: per item,
# and avg(); positions of left-hand joint 30 (x) and right-hand joint 45 (z) at frame 50 of item 0.
L1DIV = {0: 11.8338375, 1: 10.1373205}
L1DIV_AVG = 10.920329
HAND_JOINTS_FRAME_50 = (0.16627295315265656, 0.3086157739162445)


@pytest.fixture(scope="module")
def skeleton(tmp_path_factory):
    z = np.load(write_smplx_npz(tmp_path_factory.mktemp("smplx") / "SMPLX_NEUTRAL_2020.npz", seed=3))
    parents = np.array(SMPLX_PARENTS)
    return z["J_regressor"] @ z["v_template"], parents


@pytest.fixture(scope="module")
def hands_mean(tmp_path_factory):
    z = np.load(write_smplx_npz(tmp_path_factory.mktemp("smplx") / "SMPLX_NEUTRAL_2020.npz", seed=3))
    return np.concatenate([z["hands_meanl"], z["hands_meanr"]])


@pytest.mark.parametrize("seed", [0, 1])
def test_onsets_equal_librosas(seed):
    n, y_sum, n_env, env_sum, n_on, first, on_sum = LIBROSA[seed]
    y = load_like_librosa(speech_like(seed), SR, 16_000)
    assert len(y) == n and float(np.sum(y, dtype=np.float64)) == pytest.approx(y_sum, rel=1e-12)  # soxr: the same samples
    env = onset_envelope(y, 16_000)
    assert len(env) == n_env and float(env.sum(dtype=np.float64)) == pytest.approx(env_sum, rel=1e-6)
    on = onset_times(y, 16_000)
    assert len(on) == n_on and np.allclose(on[:5], first, atol=1e-12) and on.sum() == pytest.approx(on_sum, abs=1e-9)


def test_onsets_at_librosas_default_rate_pick_with_its_wait():
    """At 22,050 Hz the windows are 1 frame before and the 30 ms wait 1 frame: other branches of the rule."""
    y = speech_like(2)[:22050 * 4:2].copy()
    assert pick_onsets(onset_envelope(y, 22050), 22050, 512).tolist() == [3, 60, 72, 83]


def test_mel_filterbank_equals_librosas():
    m = mel_filterbank(16_000, 2048)
    assert m.shape == (128, 1025) and m.dtype == np.float32
    assert float(m.sum(dtype=np.float64)) == pytest.approx(16.383912185579334, rel=1e-6)
    assert float(m[5].max()) == pytest.approx(0.0421658419072628, rel=1e-6)
    assert float(m[100].max()) == pytest.approx(0.009956730529665947, rel=1e-6)


@pytest.mark.parametrize("sr", [16_000, 22_050, 44_100])
def test_peak_picking_follows_the_documented_rule(sr):
    """librosa's rule, written as its documentation states it, one frame at a time."""
    rng = np.random.default_rng(sr)
    env = np.abs(rng.normal(size=400)).astype(np.float32) * (rng.uniform(size=400) < 0.4)
    x = (env - env.min()) / (env.max() - env.min() + np.finfo(np.float32).tiny)
    pre_max, post_max = math.floor(0.03 * sr / 512), 1
    pre_avg, post_avg = math.floor(0.10 * sr / 512), math.floor(0.10 * sr / 512) + 1
    wait = math.floor(0.03 * sr / 512)
    expected, last = [], -10**9
    for n in range(len(x)):
        is_max = x[n] == x[max(0, n - pre_max):n + post_max].max()
        above = x[n] >= np.mean(x[max(0, n - pre_avg):n + post_avg], dtype=np.float64) + np.float32(0.07)
        if is_max and above and n > last + wait:
            expected.append(n)
            last = n
    assert pick_onsets(env, sr, 512).tolist() == expected and expected


def test_emage_onsets_cut_two_seconds_at_each_end():
    with pytest.raises(ValueError, match="drops 2 s at each end"):
        emage_onsets(speech_like(0, seconds=4.0), SR, 120, FPS)


@pytest.mark.parametrize("seed", [0, 1])
def test_joint_positions_equal_smplx(seed, skeleton):
    frames, *_, wrist, abs_sum = EMAGE[seed]
    pos = body_positions(seamless_body(seed, frames), *skeleton)
    assert pos.shape == (frames, 22, 3)
    np.testing.assert_allclose(pos[100, 21], wrist, rtol=0, atol=1e-6)  # smplx runs in float32
    assert np.abs(pos).sum() == pytest.approx(abs_sum, rel=1e-6)


def test_l1div_on_joints_equals_emages(skeleton, hands_mean):
    """EMAGE's L1div on all 55 SMPL-X joints: hands posed with the model's mean hand pose added."""
    pos = smplx_positions(seamless_body(0, 360), *skeleton, hands_mean)
    assert (pos[50, 30, 0], pos[50, 45, 2]) == pytest.approx(HAND_JOINTS_FRAME_50, abs=1e-6)
    total = np.zeros(2)
    for seed, frames in ((0, 360), (1, 420)):
        stats = l1div_joints_item_stats(seamless_body(seed, frames)[None], np.ones(frames, bool), *skeleton, hands_mean)
        assert stats[1] == frames and stats[0] / stats[1] == pytest.approx(L1DIV[seed], rel=1e-6)  # EMAGE sums float32
        total += stats
    assert emage_beat_finish(total) == pytest.approx(L1DIV_AVG, rel=1e-6)
    flat = l1div_joints_item_stats(seamless_body(0, 360)[None], np.ones(360, bool), *skeleton, np.zeros(90))
    assert flat[0] / flat[1] != pytest.approx(L1DIV[0], rel=1e-3)  # the mean hand pose matters
    with pytest.raises(ValueError, match="needs the SMPL-X model"):
        l1div_joints_item_stats(seamless_body(0, 360)[None], np.ones(360, bool), skeleton[0][:52], skeleton[1][:52], hands_mean)


def test_forward_kinematics_keeps_bones_and_turns_children():
    rng = np.random.default_rng(0)
    rest = rng.normal(size=(22, 3))
    parents = np.array(SMPLX_PARENTS[:22])
    rot = rng.normal(scale=0.8, size=(5, 22, 3))
    pos = forward_kinematics(rot, rest, parents)
    bones = np.linalg.norm(pos[:, 1:] - pos[:, parents[1:]], axis=-1)
    np.testing.assert_allclose(bones, np.broadcast_to(np.linalg.norm(rest[1:] - rest[parents[1:]], axis=-1), bones.shape), atol=1e-12)
    assert np.allclose(forward_kinematics(np.zeros((1, 22, 3)), rest, parents)[0], rest)
    turn = np.zeros((1, 22, 3))
    turn[0, 18] = [0, 0, np.pi / 2]  # left elbow (18) turns the left wrist (20) by 90° about z
    out = forward_kinematics(turn, rest, parents)[0]
    d = rest[20] - rest[18]
    np.testing.assert_allclose(out[20] - out[18], [-d[1], d[0], d[2]], atol=1e-12)
    with pytest.raises(ValueError, match="parent must come before"):
        forward_kinematics(rot, rest, parents[::-1].copy())


def test_central_speeds_are_one_sided_at_the_ends():
    p = np.cumsum(np.arange(6.0))[:, None, None] * np.array([1.0, 0, 0])  # x = 0, 1, 3, 6, 10, 15
    np.testing.assert_allclose(central_speeds(p, 2.0)[:, 0], [2, 3 * 2 / 2, 5, 7, 9, 10])


def test_the_speed_threshold_is_read_where_emage_reads_it():
    """BC.load_motion keeps a minimum at cut index j when the uncut speed at j (not j + 60) passes 0.10."""
    speed = np.full(200, 0.5)
    speed[60 + 30] = 0.05  # a minimum below the threshold, at cut index 30, whose uncut index 30 is above it: kept
    speed[60 + 50] = 0.2
    speed[50] = 0.05  # a minimum above the threshold whose uncut index 50 is below it: dropped
    assert emage_motion_beats(speed, start=60, stop=140, order=7).tolist() == [30]  # read at its own frame: [50]


def test_emage_beat_consistency_equals_emages_bc(skeleton):
    total = np.zeros(2)
    mv = mean_velocity()
    for seed, (frames, score, n_on, first, on_sum, beats, *_) in EMAGE.items():
        body = seamless_body(seed, frames)
        onsets = emage_onsets(speech_like(seed), SR, frames, FPS)
        assert len(onsets) == n_on and np.allclose(onsets[:4], first, atol=1e-12) and onsets.sum() == pytest.approx(on_sum, abs=1e-9)
        speed = central_speeds(body_positions(body, *skeleton), FPS) / mv[:22]
        assert {j: len(emage_motion_beats(speed[:, j], start=60, stop=frames - 60)) for j in UPPER_BODY} == beats
        stats = emage_beat_stats(body[None], onsets, *skeleton, mv, FPS)
        assert stats[1] == frames - 120 and stats[0] / stats[1] == pytest.approx(score, rel=1e-9)
        total += stats
    assert emage_beat_finish(total) == pytest.approx(EMAGE_AVG, rel=1e-9)  # frame-weighted, as BC.avg()
    assert emage_beat_finish(total) != pytest.approx(np.mean([v[1] for v in EMAGE.values()]), rel=1e-6)


def test_body_model_loads_without_unpickling_and_is_pinned(tmp_path, monkeypatch):
    monkeypatch.setenv("DYADBENCH_WEIGHTS", str(tmp_path / "w"))
    monkeypatch.setenv("DYADBENCH_CACHE", str(tmp_path / "cache"))
    with pytest.raises(WeightsError, match="H-Liu1997/EMAGE.*SMPLX_NEUTRAL_2020.npz"):
        load_body_model()
    path = write_smplx_npz(tmp_path / "w" / "SMPLX_NEUTRAL_2020.npz", seed=3)
    with np.load(path, allow_pickle=True) as z:  # the layout smplx reads: pickled members included
        assert z["joint2num"].dtype == object and z["kintree_table"][0, 0] == 4294967295
        rest = z["J_regressor"] @ z["v_template"]
    model = load_body_model()
    np.testing.assert_allclose(model["rest_joints"], rest, rtol=0, atol=0)
    assert model["parents"].tolist() == [-1] + SMPLX_PARENTS[1:]
    write_smplx_npz(path, seed=4)  # another file at the same place: refused, the first was pinned
    with pytest.raises(WeightsError, match="pinned on first use"):
        load_body_model()
    weights.forget("smplx_neutral_2020")
    np.savez(path, J_regressor=np.ones((55, 4)), v_template=np.ones((4, 3)))
    with pytest.raises(WeightsError, match=r"no member\(s\) \['kintree_table'\]"):
        load_body_model()


def test_mean_velocity_must_be_emages_file(tmp_path, monkeypatch):
    monkeypatch.setenv("DYADBENCH_WEIGHTS", str(tmp_path))
    monkeypatch.setenv("DYADBENCH_CACHE", str(tmp_path / "cache"))
    np.save(tmp_path / "mean_vel_smplxflame_30.npy", mean_velocity())
    with pytest.raises(WeightsError, match="53b5e48f2a7bf78c.*PantoMatrix"):
        load_mean_velocity()
    spec = weights.REGISTRY["emage_mean_velocity"]
    monkeypatch.setitem(weights.REGISTRY, "emage_mean_velocity",
                        dataclasses.replace(spec, sha256=weights.sha256_of(tmp_path / "mean_vel_smplxflame_30.npy")))
    np.testing.assert_array_equal(load_mean_velocity(), mean_velocity())


@pytest.fixture(scope="module")
def eight_second_root(tmp_path_factory):
    """EMAGE drops 2 s at each end: the shared 2-second sample is too short for it."""
    from dyadbench.datasets.sample.seamless_sample import write_seamless_sample

    root = tmp_path_factory.mktemp("seamless-8s")
    write_seamless_sample(root, dyads=1, seconds=8.0, seed=0, video=False, splits=("test",), layout="files")
    return root


def test_evaluate_scores_emage_bc_from_the_files_and_skips_it_without_them(eight_second_root, tmp_path, monkeypatch):
    """report.json's value equals EMAGE's BC computed here straight from the files (the submission's
    body_pose, the target's wav) with the same metric functions; without the body model the metric
    is skipped naming where to get it, and the rest of the report is unchanged."""
    import soundfile as sf

    from dyadbench.baselines import run_baseline
    from dyadbench.runner import evaluate

    monkeypatch.setenv("DYADBENCH_WEIGHTS", str(tmp_path / "w"))
    monkeypatch.setenv("DYADBENCH_CACHE", str(tmp_path / "cache"))
    submission = tmp_path / "mirror"  # each item's partner's motion: not the target's, not random
    run_baseline("seamless/gesture", "mirror", eight_second_root, submission)
    kw = dict(n_boot=50, slice_boot=0, seed=0, workers=1, conventions={"beat_consistency": "emage", "l1div": "emage_joints"})
    report = evaluate("seamless/gesture", eight_second_root, submission, **kw)
    for name in ("beat_consistency", "l1div"):
        assert "H-Liu1997/EMAGE" in report["skipped"][name] and name not in report["metrics"]
    assert "fgd" in report["metrics"]

    write_smplx_npz(tmp_path / "w" / "SMPLX_NEUTRAL_2020.npz", seed=3)
    np.save(tmp_path / "w" / "mean_vel_smplxflame_30.npy", mean_velocity())
    spec = weights.REGISTRY["emage_mean_velocity"]
    monkeypatch.setitem(weights.REGISTRY, "emage_mean_velocity",
                        dataclasses.replace(spec, sha256=weights.sha256_of(tmp_path / "w" / "mean_vel_smplxflame_30.npy")))
    report = evaluate("seamless/gesture", eight_second_root, submission, **kw)
    bc = report["metrics"]["beat_consistency"]

    z = np.load(tmp_path / "w" / "SMPLX_NEUTRAL_2020.npz")
    rest, parents = z["J_regressor"] @ z["v_template"], np.array(SMPLX_PARENTS)
    hands = np.concatenate([z["hands_meanl"], z["hands_meanr"]])
    generated, reference, l1 = np.zeros(2), np.zeros(2), np.zeros(2)
    ids = sorted(p.stem for p in submission.glob("*.npz"))
    assert len(ids) == report["n_items"] >= 2
    for item in ids:
        keys = ("smplh:body_pose", "smplh:left_hand_pose", "smplh:right_hand_pose")
        truth = {k: np.load(next(eight_second_root.rglob(f"smplh/{k[6:]}/{item}.npy"))) for k in keys}  # the release's files
        audio, sr = sf.read(next(eight_second_root.rglob(f"{item}.wav")), dtype="float32")
        onsets = emage_onsets(audio, sr, len(truth["smplh:body_pose"]), FPS)
        for total, poses in ((generated, np.load(submission / f"{item}.npz")), (reference, truth)):
            frames = np.concatenate([poses[k].reshape(len(poses[k]), -1) for k in keys], axis=1)
            total += emage_beat_stats(frames[None], onsets, rest, parents, mean_velocity(), FPS)
            if total is generated:
                valid = np.load(next(eight_second_root.rglob(f"smplh/is_valid/{item}.npy")))
                l1 += l1div_joints_item_stats(frames[None], valid, rest, parents, hands)
    assert bc["value"] == pytest.approx(emage_beat_finish(generated), rel=1e-9)
    assert bc["reference"] == pytest.approx(emage_beat_finish(reference), rel=1e-9)
    assert bc["value"] != pytest.approx(bc["reference"], rel=1e-3)
    assert bc["low"] <= bc["value"] <= bc["high"] and bc["convention"] == "emage"
    assert "PantoMatrix" in bc["reference_code"] and bc["function"].endswith("emage_beat_set")
    assert report["metrics"]["l1div"]["value"] == pytest.approx(emage_beat_finish(l1), rel=1e-9)
    assert report["metrics"]["l1div"]["convention"] == "emage_joints"

    # Another body model (unpinned, then loaded): the ground truth's own values, cached from the
    # first evaluation, are not reused — they depend on the file.
    weights.forget("smplx_neutral_2020")
    write_smplx_npz(tmp_path / "w" / "SMPLX_NEUTRAL_2020.npz", seed=4)
    again = evaluate("seamless/gesture", eight_second_root, submission, **kw)["metrics"]
    for name in ("beat_consistency", "l1div"):
        assert again[name]["reference"] != pytest.approx(report["metrics"][name]["reference"], rel=1e-6), name
