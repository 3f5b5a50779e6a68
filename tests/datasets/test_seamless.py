import json

import numpy as np
import pytest

from dyadbench.datasets import media
from dyadbench.datasets.ids import FileId
from dyadbench.datasets.seamless import SeamlessInteraction
from dyadbench.datasets.seamless_format import (
    AUDIO_SAMPLE_RATE,
    LABELS,
    NPZ_SPEC,
    SPLITS,
)


def test_every_label_and_split_with_every_dyad_paired(seamless_root):
    ds = SeamlessInteraction(seamless_root)
    assert ds.skipped == [] and ds.problems == []
    assert {(d.label, d.split) for d in ds} == {(label, split) for label in LABELS for split in SPLITS}
    for dyad in ds:
        a, b = dyad.participants
        assert a.file_id.interaction_key == b.file_id.interaction_key == dyad.key
        assert a.id != b.id
        assert dyad.partner(a) is b
        assert dyad.relationship is not None and dyad.interaction is not None
        assert a.metadata_row is not None and b.metadata_row is not None
    # The release puts the two halves of a dyad in different archives: we pair across them.
    assert any(d.participants[0].archive != d.participants[1].archive for d in ds)


def test_shards_and_loose_files_give_identical_records(seamless_root):
    loose = SeamlessInteraction(seamless_root, source="loose")
    shards = SeamlessInteraction(seamless_root, source="shards")
    assert [d.key for d in loose] == [d.key for d in shards]
    for dl, dsh in zip(loose, shards):
        for pl, ps in zip(dl.participants, dsh.participants):
            assert pl.store.kind == "loose" and ps.store.kind == "shard"
            fl, fs = pl.features(), ps.features()
            assert fl.keys() == fs.keys()
            for key in fl:
                np.testing.assert_array_equal(fl[key], fs[key], err_msg=key)
                assert fl[key].dtype == fs[key].dtype
            assert pl.metadata == ps.metadata
            np.testing.assert_array_equal(pl.audio()[0], ps.audio()[0])
            np.testing.assert_array_equal(np.concatenate(list(pl.iter_frames())), np.concatenate(list(ps.iter_frames())))


def test_released_keys_dtypes_and_rates(seamless_root):
    p = next(SeamlessInteraction(seamless_root, label="improvised", split="train").participants())
    arrays = p.features()
    assert set(NPZ_SPEC) <= set(arrays)
    n = arrays["smplh:body_pose"].shape[0]
    assert n == 60  # 2 s at 30 Hz
    assert arrays["smplh:is_valid"].dtype == np.bool_ and arrays["movement:expression"].dtype == np.float32
    assert arrays["movement:hypernet_features"].shape == (n // 15, 5120)
    samples, sr = p.audio()
    assert sr == AUDIO_SAMPLE_RATE and samples.shape == (2 * AUDIO_SAMPLE_RATE,)
    assert media.probe_audio(p.store.path(p.member("wav"))).subtype == "PCM_16"
    words = [w for seg in p.transcript for w in seg["words"]]
    assert words and all(w["start"] <= w["end"] for w in words)
    assert p.vad and all(v["start"] <= v["end"] for v in p.vad)


def test_pyav_reads_declared_fps_frames_and_resolution(seamless_root):
    for p in SeamlessInteraction(seamless_root).participants():
        info = p.video_info
        assert (info.fps, info.frames, info.width, info.height, info.codec) == (30.0, 60, 320, 240, "h264")
        frames = np.concatenate(list(p.iter_frames(batch_size=16)))
        assert frames.shape == (60, 240, 320, 3) and frames.dtype == np.uint8


def test_audio_carries_speech_where_the_transcript_has_words(seamless_root):
    p = next(SeamlessInteraction(seamless_root).participants())
    samples, sr = p.audio()
    inside = np.zeros(samples.size, bool)
    for seg in p.transcript:
        for w in seg["words"]:
            inside[int(w["start"] * sr) : int(w["end"] * sr)] = True
    assert np.sqrt(np.mean(samples[inside] ** 2)) > 20 * np.sqrt(np.mean(samples[~inside] ** 2))


def test_participant_suffix_is_kept():
    fid = FileId.parse("V00_S0844_I00000123_P0844A")
    assert fid.participant == "0844A" and str(fid) == "V00_S0844_I00000123_P0844A"
    assert FileId.parse("V00_S0844_I00000123_P0844").participant != fid.participant
    with pytest.raises(ValueError, match="not a Seamless Interaction file id"):
        FileId.parse("V00_S0844_P0844")


def test_sample_is_deterministic(tmp_path, seamless_root):
    from dyadbench.datasets.sample.seamless_sample import write_seamless_sample

    write_seamless_sample(tmp_path, dyads=1, seconds=2.0, seed=0, width=320, height=240, mimicry=1.0)  # as the fixture
    for path in sorted(seamless_root.rglob("*.npz"))[:3] + sorted(seamless_root.rglob("*.json"))[:3]:
        assert (tmp_path / path.relative_to(seamless_root)).read_bytes() == path.read_bytes()
    other = tmp_path / "other"
    write_seamless_sample(other, dyads=1, seconds=2.0, seed=1, width=320, height=240)
    first = sorted(seamless_root.rglob("*.json"))[0].relative_to(seamless_root)
    assert json.loads((other / first).read_text()) != json.loads((seamless_root / first).read_text())


def test_a_one_second_sample_has_only_finite_features(tmp_path):
    """The shortest sample the generator allows: its shared affect is shorter than its smoothing
    window (it once blew up to values in the hundreds and NaN emotion scores)."""
    from dyadbench.datasets.sample.seamless_sample import write_seamless_sample

    write_seamless_sample(tmp_path, dyads=2, seconds=1.0, seed=0, video=False, layout="files")
    arrays = sorted(tmp_path.rglob("*.npy"))
    assert any("emotion_scores" in str(p) for p in arrays)
    for path in arrays:
        values = np.load(path)
        if values.dtype.kind == "f":
            assert np.isfinite(values).all(), path.relative_to(tmp_path)
            assert np.abs(values).max() < 1e4, path.relative_to(tmp_path)
