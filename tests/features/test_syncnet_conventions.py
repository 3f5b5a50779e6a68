"""syncnet_python's conventions, pinned: frame choice of `ffmpeg -r 25`, box smoothing, BGR input.

The dropped-frame lists below were read off ffmpeg 5.1.9 (Debian 12) running syncnet_python's own
command, `ffmpeg -y -i in.mp4 -qscale:v 2 -async 1 -r 25 out.avi`, on H.264 inputs whose frames
encode their index; they are observations, not outputs of our code.
"""

import numpy as np
import pytest
from scipy.signal import medfilt

from dyadbench.features.sync import (
    SyncNetScorer,
    crop_faces,
    ffmpeg_r25_indices,
    smooth_boxes,
)

FFMPEG_DROPS = {
    (30.0, 100): list(range(10, 100, 6)),
    (30000 / 1001, 100): [10, 16, 22, 28, 34, 40, 46, 52, 58, 64, 70, 76, 83, 89, 95],
    (50.0, 40): list(range(3, 40, 2)),
    (24.0, 30): [],
    (60.0, 120): [2, 4, 6, 7, 9, 11, 13, 14, 16, 18, 19, 21, 23, 25, 26, 28, 30, 31, 33, 35, 37, 38, 40, 42, 43, 45,
                  47, 49, 50, 52, 54, 55, 57, 59, 61, 62, 64, 66, 67, 69, 71, 73, 74, 76, 78, 79, 81, 83, 85, 86, 88,
                  90, 91, 93, 95, 97, 98, 100, 102, 103, 105, 107, 109, 110, 112, 114, 115, 117, 119],
}


@pytest.mark.parametrize("fps,n", list(FFMPEG_DROPS))
def test_25fps_frame_choice_equals_ffmpeg(fps, n):
    kept = ffmpeg_r25_indices(n, fps)
    assert sorted(set(range(n)) - set(kept.tolist())) == FFMPEG_DROPS[(fps, n)]


def test_25fps_frame_choice_is_not_nearest_frame_rounding():
    # The nearest-frame rule (dyadbench 0.1) keeps 83 of 100 frames at 30 fps; ffmpeg keeps 85.
    assert len(ffmpeg_r25_indices(100, 30.0)) == 85
    assert ffmpeg_r25_indices(25, 25.0).tolist() == list(range(25))
    with pytest.raises(ValueError, match="fps"):
        ffmpeg_r25_indices(10, 0)


def test_box_smoothing_is_median_13_of_size_and_centre_with_zero_padded_ends():
    rng = np.random.default_rng(0)
    n = 40
    cx, cy, s = 300 + rng.normal(0, 5, n), 200 + rng.normal(0, 5, n), 50 + rng.normal(0, 3, n)
    w = s * 2 * rng.uniform(0.7, 1.0, n)  # the shorter side never sets the size
    boxes = np.stack([cx - w / 2, cy - s, cx + w / 2, cy + s], axis=1)
    out = smooth_boxes(boxes)
    # syncnet_python's crop_video: s = max(h, w)/2, centres; each through signal.medfilt(..., 13).
    for got, want in ((out[:, 2] - out[:, 0], 2 * medfilt(s, 13)), ((out[:, 0] + out[:, 2]) / 2, medfilt(cx, 13)),
                      ((out[:, 1] + out[:, 3]) / 2, medfilt(cy, 13))):
        np.testing.assert_allclose(got, want, atol=1e-9)
    # Zero padding: the first output is the median of 6 zeros and the first 7 values.
    assert out[0, 0] + out[0, 2] == pytest.approx(2 * np.sort(np.r_[np.zeros(6), cx[:7]])[6])


def test_missing_boxes_are_interpolated_before_smoothing():
    boxes = np.array([[10, 10, 50, 50], [np.nan] * 4, [14, 10, 54, 50]], float)
    out = smooth_boxes(boxes, kernel=1)
    np.testing.assert_allclose(out[1], [12, 10, 52, 50])
    crops = crop_faces(np.zeros((3, 100, 100, 3), np.uint8), out)
    assert crops.shape == (3, 224, 224, 3)
    with pytest.raises(ValueError, match="no face"):
        smooth_boxes(np.full((3, 4), np.nan))


def test_the_network_sees_bgr():
    """syncnet_python reads frames with cv2.imread (BGR): the lip stream must get channel 0 = blue."""
    seen = {}

    class Spy(SyncNetScorer):
        def __init__(self):
            self.max_offset, self.batch_size, self.device = 15, 8, "cpu"

        def _lip_embeddings(self, crops, n_windows):
            seen["crops"] = crops
            return np.zeros((n_windows, 4))

    crops = np.zeros((60, 224, 224, 3), np.uint8)
    crops[..., 0] = 200  # red in RGB
    Spy.net = type("N", (), {"forward_aud": None})()
    try:
        Spy().embeddings(crops, np.zeros(16_000 * 3, np.float32))
    except Exception:
        pass  # the audio stream is not under test here
    assert seen["crops"][0, 0, 0].tolist() == [0, 0, 200]
