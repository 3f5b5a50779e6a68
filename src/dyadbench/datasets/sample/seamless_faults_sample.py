"""Write the release's known faults into a generated Seamless sample (``dyadbench sample seamless --faults``).

Each fault is built the way the real release has it (``datasets/seamless_faults.py`` names the
issue-tracker entries), on the test split so an evaluation meets every one:

==========================  =============================================================================
fault                       what is written
==========================  =============================================================================
duplicate-id (labels)       improvised/test dyad 0 copied into naturalistic/test, with its filelist rows
duplicate-id (splits)       naturalistic/dev dyad 0 copied into naturalistic/test, with its filelist rows (when dev is written)
feature-rate                improvised/test dyad 1, first participant: every ``smplh:*`` key at 240 Hz
length-mismatch             improvised/test dyad 3, second participant: features and audio 1.5 s shorter
promised-feature-missing    improvised/test dyad 4, first participant: ``movement/expression`` deleted
not-in-filelist             improvised/test dyad 2: its rows removed from filelist.csv (kept and scored)
missing-on-disk             filelist.csv lists a test dyad that is not on disk
two-archives                improvised/test dyad 5, first participant, also in archive 0002 (bundles only)
==========================  =============================================================================
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from ..media import read_audio, write_wav
from ..seamless_format import AUDIO_SAMPLE_RATE

MIN_DYADS = 6
RATE_FACTOR = 8  # 240 Hz, as the six V01_S1602 records of #34
SHORTER_FRAMES = 45  # 1.5 s: beyond the 1 s the readers align


def _dyad_ids(filelist: pd.DataFrame, label: str, split: str) -> list[tuple[str, str]]:
    rows = filelist[(filelist["label"] == label) & (filelist["split"] == split)]["file_id"].tolist()
    return [(rows[i], rows[i + 1]) for i in range(0, len(rows) - 1, 2)]


def _files_of(root: Path, label: str, split: str, fid: str) -> list[Path]:
    return sorted(p for p in (root / label / split).rglob(f"{fid}.*") if p.is_file())


def _copy_dyad(root: Path, filelist: pd.DataFrame, ids, src: tuple[str, str], dst: tuple[str, str]) -> pd.DataFrame:
    """Copy both participants' files from ``src`` (label, split) to ``dst``, same relative paths."""
    for fid in ids:
        for path in _files_of(root, *src, fid):
            target = root / dst[0] / dst[1] / path.relative_to(root / src[0] / src[1])
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
    rows = filelist[filelist["file_id"].isin(ids) & (filelist["label"] == src[0]) & (filelist["split"] == src[1])].copy()
    rows["label"], rows["split"] = dst
    return pd.concat([filelist, rows], ignore_index=True)


def _edit_arrays(root: Path, label: str, split: str, fid: str, edit) -> None:
    """Apply ``edit(key, array) -> array | None`` (None deletes) to a participant's arrays, in
    whichever layout holds them (npz bundles or per-file npy)."""
    for npz in _files_of(root, label, split, fid):
        if npz.suffix == ".npz":
            with np.load(npz) as z:
                arrays = {k: z[k] for k in z.files}
            out = {k: v for k, v in ((k, edit(k, a)) for k, a in arrays.items()) if v is not None}
            buf = io.BytesIO()
            np.savez(buf, **out)
            npz.write_bytes(buf.getvalue())
        elif npz.suffix == ".npy":
            key = f"{npz.parent.parent.name}:{npz.parent.name}"
            new = edit(key, np.load(npz))
            if new is None:
                npz.unlink()
            else:
                np.save(npz, new)


def add_faults(root: Path, layout: str) -> list[str]:
    """Write every fault above into the sample at ``root``; returns one line per fault written."""
    root = Path(root)
    filelist = pd.read_csv(root / "assets" / "filelist.csv", dtype=str, keep_default_na=False)
    imp = _dyad_ids(filelist, "improvised", "test")
    nat_dev = _dyad_ids(filelist, "naturalistic", "dev")
    if len(imp) < MIN_DYADS:
        raise ValueError(f"--faults needs the test split and at least {MIN_DYADS} dyads per label and split (--dyads {MIN_DYADS}); got {len(imp)}")
    written = []
    filelist = _copy_dyad(root, filelist, imp[0], ("improvised", "test"), ("naturalistic", "test"))
    written.append(f"duplicate-id: {imp[0][0]}, {imp[0][1]} also in naturalistic/test")
    if nat_dev:  # a sample written without dev has no dev/test duplicate
        filelist = _copy_dyad(root, filelist, nat_dev[0], ("naturalistic", "dev"), ("naturalistic", "test"))
        written.append(f"duplicate-id: {nat_dev[0][0]}, {nat_dev[0][1]} in naturalistic/dev and naturalistic/test")

    fast = imp[1][0]
    _edit_arrays(root, "improvised", "test", fast, lambda k, a: np.repeat(a, RATE_FACTOR, axis=0) if k.startswith("smplh:") else a)
    written.append(f"feature-rate: {fast} smplh at {30 * RATE_FACTOR} Hz")

    short = imp[3][1]
    _edit_arrays(root, "improvised", "test", short,
                 lambda k, a: a if k == "movement:hypernet_features" else a[: len(a) - SHORTER_FRAMES])
    for wav in (p for p in _files_of(root, "improvised", "test", short) if p.suffix == ".wav"):
        samples, sr = read_audio(wav)
        write_wav(wav, samples[: len(samples) - SHORTER_FRAMES * AUDIO_SAMPLE_RATE // 30], sr)
    written.append(f"length-mismatch: {short} {SHORTER_FRAMES} frames shorter than its partner {imp[3][0]}")

    lacking = imp[4][0]
    _edit_arrays(root, "improvised", "test", lacking, lambda k, a: None if k == "movement:expression" else a)
    written.append(f"promised-feature-missing: {lacking} lacks movement:expression (filelist.csv: has_imitator_movement True)")

    unlisted = imp[2]
    filelist = filelist[~(filelist["file_id"].isin(unlisted) & (filelist["split"] == "test") & (filelist["label"] == "improvised"))]
    written.append(f"not-in-filelist: {unlisted[0]}, {unlisted[1]} removed from filelist.csv")

    ghost = pd.DataFrame([{**filelist.iloc[0].to_dict(), "file_id": f"V00_S9999_I00099999_P{p}", "label": "improvised",
                           "split": "test"} for p in ("9998", "9999")])
    filelist = pd.concat([filelist, ghost], ignore_index=True)
    written.append("missing-on-disk: V00_S9999_I00099999_P9998, _P9999 listed in filelist.csv, not on disk")

    if layout == "bundles":
        twice = imp[5][0]
        for path in _files_of(root, "improvised", "test", twice):
            if path.parent.name.isdigit() and path.parent.parent.name.isdigit():
                target = path.parent.parent / "0002" / path.name
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target)
        written.append(f"two-archives: {twice} also in improvised/test/0000/0002")
        _rewrite_tars(root)
    filelist.to_csv(root / "assets" / "filelist.csv", index=False)
    (root / "assets" / "faults.json").write_text(json.dumps(written, indent=1))
    return written


def _rewrite_tars(root: Path) -> None:
    """Shards hold exactly their extracted folder's files again (the release's tars and folders agree)."""
    import webdataset as wds

    for folder in sorted(p for p in root.glob("*/*/[0-9]*/[0-9]*") if p.is_dir()):
        samples: dict[str, dict] = {}
        for f in sorted(folder.iterdir()):
            stem, _, ext = f.name.partition(".")
            samples.setdefault(stem, {"__key__": stem})[ext] = f.read_bytes()
        with wds.TarWriter(str(folder.with_suffix(".tar"))) as sink:
            for key in sorted(samples):
                sink.write(samples[key])
