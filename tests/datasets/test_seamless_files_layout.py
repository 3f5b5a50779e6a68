"""The release's per-file (features-only) layout: same records as bundles, items without keys counted."""

import numpy as np
import pytest

from dyadbench.datasets.sample.seamless_sample import write_seamless_sample
from dyadbench.datasets.seamless import SeamlessInteraction


@pytest.fixture(scope="module")
def both_layouts(tmp_path_factory):
    files = tmp_path_factory.mktemp("files")
    bundles = tmp_path_factory.mktemp("bundles")
    write_seamless_sample(files, dyads=3, seconds=2.0, seed=5, layout="files", video=False, splits=("test", "train"))
    write_seamless_sample(bundles, dyads=3, seconds=2.0, seed=5, video=False, splits=("test", "train"))
    return files, bundles


def test_files_layout_reads_the_same_records_as_bundles(both_layouts):
    files, bundles = both_layouts
    a = {p.id: p for p in SeamlessInteraction(files, split="test").participants()}
    b = {p.id: p for p in SeamlessInteraction(bundles, split="test", source="loose").participants()}
    assert a.keys() == b.keys() and len(a) == 12
    for pid, p in a.items():
        q = b[pid]
        assert p.store.kind == "files" and p.feature_keys() == q.feature_keys()
        for key in p.feature_keys():
            np.testing.assert_array_equal(p.feature(key), q.feature(key))
        assert p.transcript == q.transcript and p.vad == q.vad and p.annotations == q.annotations
        np.testing.assert_array_equal(p.audio()[0], q.audio()[0])
        assert "mp4" not in p.extensions


def test_only_the_keys_asked_for_are_read(both_layouts):
    files, _ = both_layouts
    p = next(SeamlessInteraction(files, split="test").participants())
    p.feature("smplh:body_pose")
    assert set(p._keys) == {"smplh:body_pose"} and "_features" not in p.__dict__


def test_vendors_without_movement_match_the_filelist(both_layouts):
    import pandas as pd

    files, _ = both_layouts
    table = pd.read_csv(files / "assets" / "filelist.csv")
    ds = {p.id: p for p in SeamlessInteraction(files).participants()}
    assert set(table["split"]) == {"test", "train"}
    for row in table.itertuples():
        assert ds[row.file_id].has_feature("movement:expression") == bool(row.has_imitator_movement)
    assert (~table["has_imitator_movement"]).sum() == 8  # every third interaction: vendor V02


def test_items_without_the_tasks_keys_are_left_out_and_counted(both_layouts, tmp_path):
    from dyadbench.baselines import run_baseline
    from dyadbench.runner import evaluate

    files, _ = both_layouts
    run_baseline("seamless/facial-motion", "random", files, tmp_path / "sub")
    report = evaluate("seamless/facial-motion", files, tmp_path / "sub", n_boot=10, slice_boot=0)
    assert report["n_items"] == 8 and report["excluded_items"] == {"participant lacks movement:expression": 4}
    assert report["metrics"]["ffd"]["value"] > 0
    gesture = evaluate("seamless/gesture", files, run_baseline("seamless/gesture", "mean", files, tmp_path / "g"), n_boot=0, slice_boot=0)
    assert gesture["n_items"] == 12 and gesture["excluded_items"] == {}


def test_a_corrupt_npy_names_its_file(both_layouts, tmp_path):
    import shutil

    from dyadbench.datasets.errors import DatasetError

    files, _ = both_layouts
    root = tmp_path / "copy"
    shutil.copytree(files, root)
    victim = sorted((root / "improvised" / "test" / "smplh" / "body_pose").glob("*.npy"))[0]
    victim.write_bytes(victim.read_bytes()[:60])
    p = next(x for x in SeamlessInteraction(root, split="test").participants() if x.id == victim.stem)
    with pytest.raises(DatasetError, match=f"{victim.stem}.npy"):
        p.feature("smplh:body_pose")
