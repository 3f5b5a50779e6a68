"""Each kind of bad input gets a clear error or a reported skip naming the file and the reason."""

import io
import shutil

import numpy as np
import pandas as pd
import pytest

from dyadbench.datasets.errors import DatasetError
from dyadbench.datasets.inventory import inspect_seamless
from dyadbench.datasets.media import probe_video, write_video
from dyadbench.datasets.seamless import SeamlessInteraction


@pytest.fixture()
def root(tmp_path, seamless_root):
    """A private copy (loose files only) of the improvised/train split and the metadata tables."""
    shutil.copytree(seamless_root / "assets", tmp_path / "assets")
    src = seamless_root / "improvised" / "train"
    for folder in src.glob("*/*"):
        if folder.is_dir():
            shutil.copytree(folder, tmp_path / "improvised" / "train" / folder.relative_to(src))
    return tmp_path


def first_participant(root):
    return next(SeamlessInteraction(root, source="loose").participants())


def test_truncated_npz(root):
    p = first_participant(root)
    path = p.store.path(p.member("npz"))
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(DatasetError, match=r"\.npz: truncated or corrupt npz"):
        first_participant(root).features()
    inv = inspect_seamless(root)
    assert any(str(path) in prob.path and "truncated" in prob.reason for prob in inv.problems)


@pytest.mark.parametrize("content", [b"", b"this is not an mp4 at all" * 100])
def test_zero_byte_or_corrupt_mp4(root, content):
    p = first_participant(root)
    path = p.store.path(p.member("mp4"))
    path.write_bytes(content)
    with pytest.raises(DatasetError, match="empty|cannot be read as video") as err:
        first_participant(root).video_info
    assert str(path) in str(err.value)
    assert any(str(path) in prob.path for prob in inspect_seamless(root).problems)


def test_wrong_fps(root):
    p = first_participant(root)
    path = p.store.path(p.member("mp4"))
    write_video(path, np.zeros((10, 64, 64, 3), np.uint8), fps=25)
    assert probe_video(path).fps == 25.0
    with pytest.raises(DatasetError, match="frame rate 25.000 fps, expected 30 or 29.97"):
        first_participant(root).video_info
    assert any("wrong fps" in prob.reason for prob in inspect_seamless(root).problems)


def test_missing_partner_is_reported(root):
    p = first_participant(root)
    for ext in ("mp4", "wav", "json", "npz"):
        p.store.path(p.member(ext)).unlink()
    ds = SeamlessInteraction(root)
    assert len(ds) == 0
    assert len(ds.skipped) == 1 and "missing partner of a dyad" in ds.skipped[0].reason
    with pytest.raises(DatasetError, match="missing partner"):
        SeamlessInteraction(root, strict=True)


def test_unknown_id_pattern_is_reported(root):
    p = first_participant(root)
    folder = p.store.path(p.member("npz")).parent
    shutil.copy(folder / f"{p.id}.npz", folder / "not_an_id.npz")
    ds = SeamlessInteraction(root)
    assert len(ds) == 1
    assert any("not_an_id" in s.path and "unknown id pattern" in s.reason for s in ds.skipped)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_or_inf_in_arrays(root, bad):
    p = first_participant(root)
    arrays = p.features()
    arrays["movement:expression"][3, 7] = bad
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    p.store.path(p.member("npz")).write_bytes(buf.getvalue())
    with pytest.raises(DatasetError, match=r"movement:expression.*NaN/inf"):
        first_participant(root).features()
    assert any("NaN/inf" in prob.reason for prob in inspect_seamless(root, deep=True).problems)


def test_wrong_shape_names_key_and_expected_shape(root):
    p = first_participant(root)
    arrays = p.features()
    arrays["movement:expression"] = arrays["movement:expression"][:, :100]
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    p.store.path(p.member("npz")).write_bytes(buf.getvalue())
    with pytest.raises(DatasetError, match=r"'movement:expression': expected shape \(N, 128\), got \(60, 100\)"):
        first_participant(root).features()


def test_missing_metadata_row_is_reported(root):
    table = root / "assets" / "participants.csv"
    df = pd.read_csv(table, dtype=str)
    p = first_participant(root)
    df = df[df["participant_id"] != p.file_id.participant]
    df.to_csv(table, index=False)
    ds = SeamlessInteraction(root)
    assert first_participant(root).metadata_row is None
    assert any(p.id in s.path and "missing metadata row" in s.reason for s in ds.problems)


def test_unknown_keys_are_read_without_failing(root):
    p = first_participant(root)
    arrays = p.features()
    arrays["movement_v4:is_occluded"] = np.zeros((60, 1), np.float32)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    p.store.path(p.member("npz")).write_bytes(buf.getvalue())
    q = first_participant(root)
    assert "movement_v4:is_occluded" in q.features()
    assert q.feature_report.unknown_keys == ["movement_v4:is_occluded"]


def test_release_quirks_are_reported_not_fatal(root):
    p = first_participant(root)
    arrays = p.features()
    arrays["smplh:translation"][:5] = 3e13  # sentinel values on invalid-box frames
    arrays["smplh:is_valid"][:5] = False
    arrays["boxes_and_keypoints:keypoints"][0, 0, 2] = 1.7
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    p.store.path(p.member("npz")).write_bytes(buf.getvalue())
    quirks = " | ".join(first_participant(root).feature_report.quirks)
    assert "5 frame(s) with translation sentinels" in quirks
    assert "5 invalid SMPL-H frame(s)" in quirks
    assert "keypoint confidence(s) above 1" in quirks


def test_corrupt_shard_is_reported(tmp_path, seamless_root):
    target = tmp_path / "improvised" / "dev" / "0000"
    target.mkdir(parents=True)
    (target / "0000.tar").write_bytes(b"\x00garbage" * 10)
    ds = SeamlessInteraction(tmp_path, source="shards")
    assert len(ds) == 0 and any("unreadable tar shard" in s.reason or "empty" in s.reason for s in ds.skipped)


def test_a_video_cut_short_behind_an_intact_header_is_refused(tmp_path):
    """With the index at the front (faststart) a cut mp4 keeps its header's frame count and decodes part of it."""
    from conftest import write_faststart_clip

    from dyadbench.datasets import media
    from dyadbench.datasets.submission import SubmissionError, check_decoded_frames

    path = write_faststart_clip(tmp_path / "full.mp4")
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(path.read_bytes()[: int(path.stat().st_size * 0.4)])
    decoded = lambda p: sum(len(b) for b in media.iter_frames(p, batch_size=32))
    assert media.probe_video(cut).frames == 120 and decoded(cut) < 100
    check_decoded_frames(path, decoded(path))
    with pytest.raises(SubmissionError, match=r"cut\.mp4: header promises 120 frames but only \d+ decode"):
        check_decoded_frames(cut, decoded(cut))


def test_a_cut_tar_beside_its_extracted_folder_is_reported_and_inspect_exits_1(root, seamless_root, monkeypatch, capsys):
    import sys

    from dyadbench.cli import STATE, main

    src = sorted((seamless_root / "improvised" / "train").glob("*/*.tar"))[0]
    tar = root / src.relative_to(seamless_root)
    shutil.copy(src, tar)
    assert tar.with_suffix("").is_dir()  # the folder is what readers use: the tar's damage would go unseen
    tar.write_bytes(tar.read_bytes()[: tar.stat().st_size // 2])
    problems = [p for p in inspect_seamless(root).problems if p.path == str(tar)]
    assert problems and "extracted folder" in problems[0].reason
    monkeypatch.setattr(sys, "argv", ["dyadbench", "data", "inspect", str(root)])
    STATE["debug"] = False
    with pytest.raises(SystemExit) as exc:
        main()
    assert exc.value.code == 1 and "extracted folder" in capsys.readouterr().out
