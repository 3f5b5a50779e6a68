import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from dyadbench.features import audio
from dyadbench.features.motion import (
    face_motion_features,
    gesture_features,
    similarity_transform,
)


def test_similarity_transform_recovers_known_transform():
    rng = np.random.default_rng(0)
    src = rng.standard_normal((20, 3))
    r = Rotation.from_rotvec([0.2, -0.4, 0.1]).as_matrix()
    dst = 1.7 * src @ r.T + np.array([3.0, -1.0, 2.0])
    r_est, s_est, t_est = similarity_transform(src, dst)
    np.testing.assert_allclose(r_est, r, atol=1e-10)
    assert s_est == pytest.approx(1.7)
    np.testing.assert_allclose(t_est, [3.0, -1.0, 2.0], atol=1e-10)


def test_batched_similarity_transforms_equal_single():
    from dyadbench.features.motion import similarity_transforms

    rng = np.random.default_rng(5)
    src, dst = rng.standard_normal((6, 14, 3)), rng.standard_normal((14, 3))
    src[2] = -src[2]  # a reflection: the proper-rotation sign fix must apply per frame
    r, s, t = similarity_transforms(src, dst)
    for i in range(6):
        r1, s1, t1 = similarity_transform(src[i], dst)
        np.testing.assert_allclose(r[i], r1, atol=1e-10)
        assert s[i] == pytest.approx(s1)
        np.testing.assert_allclose(t[i], t1, atol=1e-10)


def test_face_motion_is_invariant_to_head_pose_and_distance():
    rng = np.random.default_rng(1)
    base = rng.standard_normal((478, 3)) * 50
    T = 12
    expr = np.zeros((T, 478, 3))
    # An "expression" on non-rigid points only.
    idx = [i for i in range(0, 478, 7) if i not in (4, 6, 8, 9, 10, 33, 133, 151, 168, 197, 234, 263, 362, 454)]
    expr[:, idx, 1] = np.sin(np.arange(T))[:, None] * 2.0
    still = base + expr
    moved = np.empty_like(still)
    rotations = Rotation.from_rotvec(rng.normal(0, 0.2, (T, 3)))
    for t in range(T):
        moved[t] = rng.uniform(0.5, 2.0) * still[t] @ rotations[t].as_matrix().T + rng.normal(0, 30, 3)
    f_still = face_motion_features(still, indices=np.arange(478))
    f_moved = face_motion_features(moved, indices=np.arange(478))
    np.testing.assert_allclose(f_moved[:, :-3], f_still[:, :-3], atol=1e-6)  # shape part: pose removed
    assert np.abs(f_moved[:, -3:] - f_still[:, -3:]).max() > 0.05  # rotation part carries the pose
    nan_frame = moved.copy()
    nan_frame[3] = np.nan
    assert np.isnan(face_motion_features(nan_frame, indices=np.arange(478))[3]).all()


def test_gesture_features_invariant_to_translation_and_scale():
    rng = np.random.default_rng(2)
    pose = np.concatenate([rng.uniform(100, 300, (5, 33, 3)), np.ones((5, 33, 1))], axis=2)
    hands = rng.uniform(100, 300, (5, 2, 21, 3))
    hands[2, 0] = np.nan  # a missing left hand
    f1, mask = gesture_features(pose, hands)
    p2, h2 = pose.copy(), hands.copy()
    p2[..., :2] = p2[..., :2] * 3 + 40
    h2[..., :2] = h2[..., :2] * 3 + 40
    f2, _ = gesture_features(p2, h2)
    np.testing.assert_allclose(f1, f2, atol=1e-4)
    assert not mask[2, 0] and mask[2, 1] and np.isfinite(f1).all()


def test_resample_mfcc_and_pitch():
    sr = 48000
    t = np.arange(sr) / sr
    tone = 0.5 * np.sin(2 * np.pi * 200.0 * t)
    x16 = audio.resample(tone, sr, 16000)
    assert x16.shape == (16000,)
    assert audio.mfcc_syncnet(x16).shape == (99, 13)  # 100 Hz frames of 25 ms
    f0 = audio.pitch_yin(x16, 16000)
    assert np.nanmedian(f0) == pytest.approx(200.0, rel=0.01)
    assert audio.log_mel(x16, 16000).shape[1] == 40


def test_vad_and_onsets_find_the_bursts():
    sr = 16000
    x = np.zeros(3 * sr)
    for start in (0.5, 1.5, 2.5):
        a = int(start * sr)
        x[a : a + 3200] = 0.5 * np.sin(2 * np.pi * 300 * np.arange(3200) / sr)
    segs = audio.energy_vad(x + 1e-5 * np.random.default_rng(0).standard_normal(x.size), sr, hangover_s=0.05)
    assert len(segs) == 3 and all(abs(s["start"] - t) < 0.03 for s, t in zip(segs, (0.5, 1.5, 2.5)))
    on = audio.onsets(x, sr)
    assert all(np.min(np.abs(on - t)) < 0.05 for t in (0.5, 1.5, 2.5))
    with pytest.raises(ValueError, match="NaN"):
        audio.resample(np.array([np.nan, 0.0]), 16000, 8000)


def test_spectral_flux_is_bit_identical_to_the_plain_recipe():
    """The chunked, in-place flux (complex ÷ done part by part) is the plain recipe's numbers exactly:
    log1p(|rfft(frame · hann)| / Σ hann) in float32, positive differences summed per frame."""
    from scipy import fft as sp_fft
    from scipy.signal import get_window

    from dyadbench.features.audio import _spectral_flux

    rng = np.random.default_rng(11)
    x = (rng.normal(0, 0.2, 48_000 * 3) * np.sin(np.arange(48_000 * 3) / 900)).astype(np.float32)
    win = get_window("hann", 2048).astype(np.float32)
    frames = np.lib.stride_tricks.sliding_window_view(x, 2048)[::480]
    mag = np.log1p(np.abs(sp_fft.rfft(frames * win, axis=1) / win.sum()))
    want = np.maximum(np.diff(mag, axis=0), 0).sum(1)
    assert np.array_equal(_spectral_flux(x, 2048, 480, chunk=64), want.astype(np.float64))
