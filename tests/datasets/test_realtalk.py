import json
import pickle
import tarfile

import numpy as np
import pytest

from dyadbench.datasets.errors import DatasetError
from dyadbench.datasets.realtalk import CLIP_FRAMES, RealTalk, train_count


def test_clips_roles_and_split(realtalk_root, tmp_path):
    ds = RealTalk(realtalk_root, cache_dir=tmp_path)
    clips = ds.clips()
    assert len(clips) == 5  # five 16 s videos: one 384-frame window each
    assert {c.split for c in ds.split("bank")} <= {"train", "eval"}
    assert len(ds.split("train")) + len(ds.split("eval")) == len(ds.split("bank"))
    for clip in clips:
        assert clip.listener != clip.speaker
        ann = ds.annotations(clip.video_id)
        spoken = [ann[t]["current_speaker"] for t in range(clip.start, clip.stop)]
        assert spoken.count(clip.speaker) >= spoken.count(clip.listener)
        assert clip.listener_motion().shape == (CLIP_FRAMES, 56)
        assert np.isfinite(clip.speaker_motion()).all()
        assert clip.embeddings("p0").shape == (CLIP_FRAMES, 512)


def test_full_release_split_sizes():
    assert train_count(1896) == 1489 and 1896 - train_count(1896) == 407


def test_video_layout_25fps_two_people(realtalk_root, tmp_path):
    ds = RealTalk(realtalk_root, cache_dir=tmp_path)
    for vid in ds.video_ids():
        info = ds.video_info(vid)
        assert (info.fps, info.frames, info.width, info.height) == (25.0, 400, 320, 180)
    clip = ds.clips()[0]
    frames = np.concatenate(list(clip.frames()))
    assert frames.shape == (CLIP_FRAMES, 180, 320, 3)
    words = clip.words()
    assert words and all(clip.start / 25 - 1 < w["start"] < clip.stop / 25 for w in words)


def test_emoca_pickle_layout(realtalk_root, tmp_path):
    with tarfile.open(realtalk_root / "emoca.tar.gz") as tf:
        member = next(m for m in tf.getmembers() if m.name.endswith(".pkl"))
        raw = pickle.load(tf.extractfile(member))
    frame0 = raw[0]
    assert set(frame0) == {"p0", "p1"}
    assert {k: np.asarray(v).shape for k, v in frame0["p0"].items()} == {"expression": (50,), "pose": (6,), "shape": (100,)}


def test_bad_annotation_is_named(realtalk_root, tmp_path):
    ds = RealTalk(realtalk_root, cache_dir=tmp_path)
    vid = ds.video_ids()[0]
    path = ds.archive_dir("annotations") / "annotations" / f"{vid}.json"
    doc = json.loads(path.read_text())
    doc["5"]["current_speaker"] = "p7"
    path.write_text(json.dumps(doc))
    with pytest.raises(DatasetError, match="current_speaker must be"):
        RealTalk(realtalk_root, cache_dir=tmp_path).annotations(vid)


def test_missing_archive_is_named(tmp_path, realtalk_root):
    (tmp_path / "videos").mkdir()
    with pytest.raises(DatasetError, match="missing annotations.tar.gz"):
        RealTalk(tmp_path, cache_dir=tmp_path / "c").archive_dir("annotations")


def test_video_hash_is_computed_once_per_video(realtalk_root, tmp_path, monkeypatch):
    from dyadbench.datasets import realtalk

    calls = []
    real = realtalk.content_hash
    monkeypatch.setattr(realtalk, "content_hash", lambda data: calls.append(1) or real(data))
    ds = RealTalk(realtalk_root, cache_dir=tmp_path)
    vid = ds.video_ids()[0]
    first = ds.video_hash(vid)
    assert ds.video_hash(vid) == first and len(calls) == 1
    assert first == real(ds.video_source(vid)[0])


def test_clip_frames_with_a_step_are_every_nth_decoded_frame(realtalk_root):
    clip = RealTalk(realtalk_root).split("bank")[0]
    every = np.concatenate(list(clip.frames(batch_size=50)))
    stepped = np.concatenate(list(clip.frames(batch_size=7, step=5)))
    assert len(every) == clip.n_frames and len(stepped) == -(-clip.n_frames // 5)
    np.testing.assert_array_equal(stepped, every[::5])
