"""Audio onsets depend on the dataset only: cached per audio file, so a second system's
evaluation reads no audio, with the same numbers; a changed file gets a new entry."""

import os

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
