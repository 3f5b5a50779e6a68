"""A real face detector (dlib's HOG detector, shipped inside the dlib-bin wheel) finds the faces."""

import numpy as np
import pytest

from dyadbench.datasets.realtalk import RealTalk
from dyadbench.datasets.seamless import SeamlessInteraction

dlib = pytest.importorskip("dlib")


def detect_rate(frames, expected_faces):
    detector = dlib.get_frontal_face_detector()
    hits = [len(detector(frame, 0)) >= expected_faces for frame in frames[::3]]
    return float(np.mean(hits))


def test_faces_in_seamless_sample_video(seamless_root):
    p = next(SeamlessInteraction(seamless_root).participants())
    frames = np.concatenate(list(p.iter_frames()))
    assert detect_rate(frames, 1) >= 0.9


def test_both_faces_in_realtalk_sample_video(realtalk_root, tmp_path):
    clip = RealTalk(realtalk_root, cache_dir=tmp_path).clips()[0]
    frames = np.concatenate(list(clip.frames()))[:150]
    # 320x180 with two people: upsample once so each ~60 px face is above HOG's 80 px window.
    detector = dlib.get_frontal_face_detector()
    hits = [len(detector(f, 1)) >= 2 for f in frames[::5]]
    assert np.mean(hits) >= 0.9
