"""Real models on the sample videos, the decode-once pipeline, the cache and the Sync pipeline."""

import dataclasses

import numpy as np
import pytest
import torch

from dyadbench.datasets import media
from dyadbench.datasets.seamless import SeamlessInteraction
from dyadbench.features import weights
from dyadbench.features.cache import FeatureCache, content_hash
from dyadbench.features.video import (
    FaceBoxes,
    FaceIdentity,
    FaceMotion,
    Gesture,
    extract_video,
)


@pytest.fixture(scope="module")
def dyad(seamless_root):
    return next(iter(SeamlessInteraction(seamless_root, label="improvised", split="train")))


def mp4(p):
    return p.store.path(p.member("mp4"))


def test_faces_found_and_mesh_and_pose_where_the_picture_shows_them(dyad):
    p = dyad.participants[0]
    out = extract_video(mp4(p), [FaceBoxes(), FaceMotion(), Gesture()], batch_size=16)
    boxes = out["face_boxes"]["boxes"]
    assert np.isfinite(boxes).all(axis=1).mean() >= 0.95
    motion = out["face_motion"]["face_motion"]
    assert np.isfinite(motion).all(axis=1).mean() >= 0.95 and motion.shape[1] > 100
    # The mesh follows the animated jaw: lip-distance varies over time (speech), not constant.
    assert np.nanstd(motion[:, :-3], axis=0).max() > 1e-3
    pose = out["gesture"]["pose"]
    nose = pose[:, 0, :2]
    inside = (nose[:, 0] > boxes[:, 0]) & (nose[:, 0] < boxes[:, 2]) & (nose[:, 1] > boxes[:, 1]) & (nose[:, 1] < boxes[:, 3])
    assert inside.mean() >= 0.9  # pose's nose lies inside the detected face
    assert not out["gesture"]["hand_mask"].any()  # the picture shows no hands: none reported
    assert np.isfinite(out["gesture"]["gesture"]).all()


def test_same_face_embeds_closer_than_different_faces(dyad):
    a, b = dyad.participants  # two different photographs
    ea = extract_video(mp4(a), [FaceIdentity(upsample=0)], batch_size=8)["face_identity"]["descriptor"][:20:4]
    eb = extract_video(mp4(b), [FaceIdentity(upsample=0)], batch_size=8)["face_identity"]["descriptor"][:20:4]
    assert np.isfinite(ea).all() and np.isfinite(eb).all()
    same = np.linalg.norm(ea[0] - ea[1:], axis=1).max()
    different = np.linalg.norm(ea[:, None] - eb[None], axis=2).min()
    assert same < different
    assert different > 0.6 > same  # dlib's own decision threshold sits between


def test_cache_means_second_run_decodes_nothing(dyad, tmp_path, monkeypatch):
    path = mp4(dyad.participants[1])
    cache, key = FeatureCache(tmp_path), content_hash(path)
    first = extract_video(path, [FaceBoxes()], cache=cache, input_hash=key)
    monkeypatch.setattr(media, "iter_frames", lambda *a, **k: pytest.fail("decoded although cached"))
    second = extract_video(path, [FaceBoxes()], cache=cache, input_hash=key)
    np.testing.assert_array_equal(first["face_boxes"]["boxes"], second["face_boxes"]["boxes"])
    assert cache.hits == 1
    # Another version of the extractor is another cache entry.
    assert not cache.has(key, "face_boxes", 2)


def test_sync_pipeline_end_to_end_with_generated_weights(dyad, tmp_path, monkeypatch):
    from dyadbench.features.nets.syncnet import SyncNet
    from dyadbench.features.sync import SyncNetScorer

    torch.manual_seed(0)
    path = tmp_path / "syncnet_v2.model"
    torch.save(SyncNet().state_dict(), path)
    monkeypatch.setitem(weights.REGISTRY, "syncnet",
                        dataclasses.replace(weights.REGISTRY["syncnet"], sha256=weights.sha256_of(path), size=path.stat().st_size))
    monkeypatch.setenv("DYADBENCH_CACHE", str(tmp_path / "cache"))
    p = dyad.participants[0]
    frames = np.concatenate(list(p.iter_frames()))
    audio, sr = p.audio()
    res = SyncNetScorer(path=path, device="cpu").score(frames, audio, sr, fps=30.0)
    assert res["windows"] == 45  # 60 frames at 30 fps -> 50 at 25 fps -> 45 five-frame windows
    assert res["distances"].shape == (31,) and np.isfinite(res["distances"]).all()
    assert -15 <= res["offset"] <= 15 and res["sync_c"] >= 0.0


def test_sequence_lip_embeddings_equal_per_window_embeddings():
    from dyadbench.features.nets.syncnet import SyncNet
    from dyadbench.features.sync import SyncNetScorer

    torch.manual_seed(1)
    scorer = SyncNetScorer.__new__(SyncNetScorer)  # no weights file needed for this equivalence
    scorer.net, scorer.device, scorer.batch_size = SyncNet().eval(), "cpu", 4
    crops = (np.random.default_rng(0).random((13, 224, 224, 3)) * 255).astype(np.uint8)
    seq = scorer._lip_embeddings(crops, 9)
    video = torch.from_numpy(crops.transpose(3, 0, 1, 2).astype(np.float32))
    with torch.inference_mode():
        per_window = scorer.net.forward_lip(torch.stack([video[:, t : t + 5] for t in range(9)])).numpy()
    np.testing.assert_allclose(seq, per_window, rtol=1e-5, atol=1e-5)


def test_crop_matches_syncnet_padding_reference():
    """Our windowed crop equals syncnet_python's recipe (pad the frame by the crop size, then cut)."""
    import cv2

    from dyadbench.features.sync import CROP_SCALE, crop_faces

    rng = np.random.default_rng(3)
    frames = rng.integers(0, 255, (3, 90, 120, 3), dtype=np.uint8)
    boxes = np.array([[10.3, 5.1, 50.2, 45.7], [80, 50, 118.4, 88.9], [-5.5, -6.3, 30.1, 29.6]], float)  # near each edge
    ours = crop_faces(frames, boxes)
    for frame, (x1, y1, x2, y2), got in zip(frames, boxes, ours):
        bs = max(x2 - x1, y2 - y1) / 2.0
        pad = int(bs * (1 + 2 * CROP_SCALE)) + 2  # syncnet pads by bsi, then every coordinate is positive
        padded = np.pad(frame, ((pad, pad), (pad, pad), (0, 0)), constant_values=110)
        my, mx = (y1 + y2) / 2 + pad, (x1 + x2) / 2 + pad
        crop = padded[int(my - bs) : int(my + bs * (1 + 2 * CROP_SCALE)), int(mx - bs * (1 + CROP_SCALE)) : int(mx + bs * (1 + CROP_SCALE))]
        expected = cv2.resize(crop, (224, 224))
        np.testing.assert_array_equal(got, expected)


def test_clip_face_models_are_built_once_per_run(realtalk_root, monkeypatch):
    """``models.setdefault(key, Model())`` built a model on every call; each model is built once now."""
    from dyadbench.datasets.realtalk import RealTalk
    from dyadbench.features import clip_faces, identity

    built = []

    class Counting(identity.DlibFaces):
        def __init__(self, *a, **k):
            built.append(1)
            super().__init__(*a, **k)

    monkeypatch.setattr(identity, "DlibFaces", Counting)
    clips = RealTalk(realtalk_root).split("bank")[:3]
    models = {}
    for clip in clips:
        out = clip_faces.clip_face_embeddings(clip, clip.listener, ("dlib",), stride=64, models=models)
        assert out["dlib"].shape[1] == 128
    assert len(built) == 1
