"""Shards from a file list, resumed on the local engine (the Ray engine is in tests/scale)."""

import os

import pytest

from dyadbench.datasets.errors import DatasetError
from dyadbench.features.shards import extract_shards, list_shards, shards_from_file_list


def test_file_list_shards_extract_and_resume(seamless_root, tmp_path):
    videos = sorted(seamless_root.rglob("*.mp4"))[:3]
    listing = tmp_path / "videos.txt"
    listing.write_text("# three videos\n" + "\n".join(str(v) for v in videos) + "\n\n")
    shards = shards_from_file_list(listing, per_shard=2)
    assert [len(s.refs) for s in shards] == [2, 1] and shards[0].key == "videos.txt:00000"
    cache = str(tmp_path / "cache")
    first = extract_shards(shards, ["face_motion"], cache, engine="local", workers=1)
    assert first.computed == [s.key for s in shards] and [r["id"] for r in first.rows] == [v.stem for v in videos]
    assert first.stats["face_motion"].n == sum(r["face_motion_frames"] for r in first.rows)  # every frame has a face
    again = extract_shards(shards, ["face_motion"], cache, engine="local", workers=1)
    assert again.computed == [] and again.skipped == [s.key for s in shards]
    videos[2].touch()  # a changed file: its shard is extracted again, the other is not
    changed = extract_shards(shards_from_file_list(listing, per_shard=2), ["face_motion"], cache, engine="local", workers=1)
    assert changed.computed == [shards[1].key]


def test_bad_file_lists_are_refused(tmp_path, seamless_root):
    listing = tmp_path / "l.txt"
    listing.write_text("missing.mp4\n")
    with pytest.raises(DatasetError, match="line 1"):
        shards_from_file_list(listing)
    video = next(seamless_root.rglob("*.mp4"))
    listing.write_text(f"{video}\n{video}\n")
    with pytest.raises(DatasetError, match="more than once"):
        shards_from_file_list(listing)
    listing.write_text("# nothing\n")
    with pytest.raises(DatasetError, match="no videos"):
        shards_from_file_list(listing)


def test_dataset_shards_group_by_tar_and_by_folder(seamless_root):
    tars = list_shards(seamless_root, source="shards")
    loose = list_shards(seamless_root, source="loose")
    assert [s.key for s in tars] == [s.key + ".tar" for s in loose]
    assert [[r.id for r in s.refs] for s in tars] == [[r.id for r in s.refs] for s in loose]
    assert all(r.member for s in tars for r in s.refs) and not any(r.member for s in loose for r in s.refs)


def test_a_broken_video_is_reported_and_the_shard_still_completes(seamless_root, tmp_path):
    good = sorted(seamless_root.rglob("*.mp4"))[0]
    broken = tmp_path / "V00_S0001_I00000001_P0001.mp4"
    broken.write_bytes(b"not a video at all")
    listing = tmp_path / "videos.txt"
    listing.write_text(f"{good}\n{broken}\n")
    result = extract_shards(shards_from_file_list(listing), ["face_motion"], str(tmp_path / "cache"), workers=1)
    assert result.computed == ["videos.txt:00000"]
    assert [r["id"] for r in result.rows] == [good.stem, broken.stem]
    assert "error" not in result.rows[0] and str(broken) in result.rows[1]["error"]
    assert result.stats["face_motion"].n == result.rows[0]["face_motion_frames"]  # only the good video counted


@pytest.mark.slow
def test_started_pool_serves_several_runs_like_one_run(seamless_root, tmp_path):
    import numpy as np

    from dyadbench.features.shards import shard_pool

    shards = list_shards(seamless_root, source="shards")[:4]
    names = ["face_motion"]
    whole = extract_shards(shards, names, str(tmp_path / "one"), workers=2)
    cache = str(tmp_path / "pooled")
    with shard_pool(names, cache, workers=2) as pool:
        first = extract_shards(shards[:2], names, cache, pool=pool)
        both = extract_shards(shards, names, cache, pool=pool)  # the first two answer from their records
        with pytest.raises(ValueError, match="pool: built for"):
            extract_shards(shards, ["gesture"], cache, pool=pool)
    assert sorted(first.computed) == sorted(s.key for s in shards[:2])
    assert sorted(both.skipped) == sorted(s.key for s in shards[:2]) and sorted(both.computed) == sorted(s.key for s in shards[2:])
    assert [r["hash"] for r in both.rows] == [r["hash"] for r in whole.rows]
    np.testing.assert_array_equal(both.stats["face_motion"].cov, whole.stats["face_motion"].cov)


def test_one_decoder_thread_decodes_the_same_frames(seamless_root):
    import numpy as np

    from dyadbench.datasets import media

    video = sorted(seamless_root.rglob("*.mp4"))[0]
    auto = np.concatenate(list(media.iter_frames(video, batch_size=16)))
    one = np.concatenate(list(media.iter_frames(video, batch_size=16, threads=1)))
    assert auto.shape[0] > 10 and np.array_equal(auto, one)


def test_shards_are_dealt_largest_first_and_merged_in_key_order(seamless_root, tmp_path, monkeypatch):
    import dyadbench.engine as engine
    from dyadbench.features.jobs import VideoRef
    from dyadbench.features.shards import Shard

    videos = sorted(seamless_root.rglob("*.mp4"))[:4]
    # key order a, b, c; size order b (3 videos), c (2 videos), a (1 video)
    shards = [Shard("a", (VideoRef("v0", str(videos[0])),), "fa"),
              Shard("b", tuple(VideoRef(f"v{i}", str(videos[i])) for i in (1, 2, 3)), "fb"),
              Shard("c", (VideoRef("v1", str(videos[1])), VideoRef("v2", str(videos[2]))), "fc")]
    dealt = []

    decoders = []

    def recording(worker_cls, kwargs, jobs, **_):
        decoders.append(kwargs["decode_threads"])
        dealt.extend(job.key for job in jobs)
        for i, job in enumerate(jobs):
            yield i, {"key": job.key, "status": "computed", "rows": [{"shard": job.key, "id": job.key}], "stats": {}}

    monkeypatch.setattr(engine, "run_actors", recording)
    result = extract_shards(shards, ["face_motion"], str(tmp_path / "cache"), workers=2)
    sizes = {s.key: sum(os.path.getsize(p) for p in {r.path for r in s.refs}) for s in shards}
    assert sizes["b"] > sizes["c"] > sizes["a"] and dealt == ["b", "c", "a"]
    assert [row["id"] for row in result.rows] == ["a", "b", "c"]  # rows in key order, whatever the dealing
    # a worker of a pool decodes on one thread; a lone local worker lets FFmpeg use every core
    extract_shards(shards, ["face_motion"], str(tmp_path / "cache1"), workers=1)
    extract_shards(shards, ["face_motion"], str(tmp_path / "cache2"), engine="ray", workers=None)
    assert decoders == [1, 0, 1]
