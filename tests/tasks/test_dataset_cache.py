"""Audio onsets depend on the dataset only: cached per audio file, so a second system's
evaluation reads no audio, with the same numbers; a changed file gets a new entry."""

import os

import numpy as np
import pytest

from dyadbench.baselines import run_baseline
from dyadbench.datasets.sample.seamless_sample import write_seamless_sample
from dyadbench.runner.evaluate import evaluate

TASK = "seamless/gesture"


def test_onsets_are_computed_once_per_audio_file(tmp_path):
    root = tmp_path / "data"
    write_seamless_sample(root, dyads=2, seconds=2.0, seed=1, layout="files", video=False, splits=("train", "test"))
    sub = run_baseline(TASK, "mirror", root, tmp_path / "sub")
    cold = evaluate(TASK, root, sub, n_boot=0, slice_boot=0, cache_root=str(tmp_path / "cache"))
    entries = sorted((tmp_path / "cache" / "audio_onsets").rglob("*.npz"))
    assert len(entries) == cold["n_items"] > 0
    assert "audio onsets (read + spectral flux)" in cold["timing"]["worker_seconds"]
    stamp = {p: p.stat().st_mtime_ns for p in entries}
    warm = evaluate(TASK, root, sub, n_boot=0, slice_boot=0, cache_root=str(tmp_path / "cache"))
    assert {p: p.stat().st_mtime_ns for p in sorted((tmp_path / "cache" / "audio_onsets").rglob("*.npz"))} == stamp  # nothing rewritten
    uncached = evaluate(TASK, root, sub, n_boot=0, slice_boot=0, cache_root=str(tmp_path / "elsewhere"))
    for name, m in uncached["metrics"].items():
        assert warm["metrics"][name]["value"] == pytest.approx(m["value"], rel=1e-12, abs=0), name
    wav = next((root / "improvised" / "test" / "audio").glob("*.wav"))
    os.utime(wav, ns=(wav.stat().st_atime_ns, wav.stat().st_mtime_ns + 10**9))  # the file changed: a new key
    evaluate(TASK, root, sub, n_boot=0, slice_boot=0, cache_root=str(tmp_path / "cache"))
    assert len(list((tmp_path / "cache" / "audio_onsets").rglob("*.npz"))) == len(entries) + 1


def test_the_ground_truths_own_values_are_reused_only_on_the_same_data(tmp_path, monkeypatch):
    """FRSyn, variance and SI-diversity of the ground truth itself, and SI-diversity's k-means
    centres, depend on the data (manifest), seed and conventions alone: a second system's
    evaluation reads them back, numbers unchanged; other data never shares them."""
    from dyadbench.metrics import motion as MM

    task = "seamless/facial-motion"
    root = tmp_path / "data"
    write_seamless_sample(root, dyads=3, seconds=2.0, seed=2, layout="files", video=False, splits=("train", "test"))
    subs = [run_baseline(task, name, root, tmp_path / name) for name in ("mirror", "mean")]
    cache = str(tmp_path / "cache")
    first = evaluate(task, root, subs[0], n_boot=20, slice_boot=0, cache_root=cache)
    entries = sorted((tmp_path / "cache" / "reference_outputs").rglob("*.npz"))
    assert len(entries) == first["n_items"]
    with np.load(entries[0]) as kept:  # the Fréchet distances' true-frame sums are kept too
        assert {"ffd.reference_part", "paired_fd.reference_part", "fd_kinetic.reference_part"} <= set(kept.files)
    fits = sorted((tmp_path / "cache" / "reference_fits").rglob("*.npz"))
    with np.load(fits[0]) as kept:
        assert len(fits) == 1 and kept["si_centres"].ndim == 2 and len(kept["si_centres"]) >= 2
    MM._KMEANS_MEMO.clear()
    with monkeypatch.context() as m:  # no k-means fit: the centres come from the cache
        m.setattr(MM, "_kmeans_centres", lambda *a: pytest.fail("k-means fitted again on the same data"))
        second = evaluate(task, root, subs[1], n_boot=20, slice_boot=0, cache_root=cache)  # reads the ground truth's values
    fresh = evaluate(task, root, subs[1], n_boot=20, slice_boot=0, cache_root=str(tmp_path / "other-cache"))
    assert sorted((tmp_path / "cache" / "reference_outputs").rglob("*.npz")) == entries
    for name, m in fresh["metrics"].items():
        for key in ("value", "low", "high", "reference"):
            if m.get(key) is not None:
                assert second["metrics"][name][key] == pytest.approx(m[key], rel=1e-12, abs=1e-15), (name, key)
    other = tmp_path / "other"
    write_seamless_sample(other, dyads=3, seconds=2.0, seed=9, layout="files", video=False, splits=("train", "test"))
    evaluate(task, other, run_baseline(task, "mirror", other, tmp_path / "o"), n_boot=0, slice_boot=0, cache_root=cache)
    assert len(list((tmp_path / "cache" / "reference_outputs").rglob("*.npz"))) == 2 * len(entries)
    assert len(list((tmp_path / "cache" / "reference_fits").rglob("*.npz"))) == 2
