"""Dataset inventories for ``dyadbench data inspect``: headers and metadata only, no decoding.

Per file we read container headers (PyAV), WAV headers (soundfile), the npy headers inside each
npz and the small json; ``deep=True`` also loads the arrays to check NaN/inf. Each problem becomes
a row with the file and the reason; nothing is silently dropped.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import media
from .errors import DatasetError, Skip
from .realtalk import CLIP_FRAMES, RealTalk
from .realtalk import FPS as REALTALK_FPS
from .seamless import Participant, SeamlessInteraction
from .seamless_format import (
    AUDIO_SAMPLE_RATE,
    FEATURE_FPS,
    VIDEO_FPS_ACCEPTED,
    npz_headers,
    validate_headers,
)
from .seamless_meta import PERSONALITY_COLUMNS, personality_band


@dataclass
class Inventory:
    dataset: str
    root: str
    files: pd.DataFrame
    summary: pd.DataFrame
    problems: list[Skip] = field(default_factory=list)
    breakdowns: dict[str, pd.DataFrame] = field(default_factory=dict)
    faults: list = field(default_factory=list)  # the release's known faults found (Seamless; seamless_faults.Fault)


def detect_dataset(root: Path) -> str:
    root = Path(root)
    if (root / "videos").is_dir() and any((root / "videos").glob("videos_*.tar")) or (root / "annotations.tar.gz").exists():
        return "realtalk"
    if any((root / label).is_dir() for label in ("improvised", "naturalistic")):
        return "seamless"
    raise DatasetError(root, "neither a Seamless Interaction root (improvised/ or naturalistic/) nor a RealTalk root (videos/)")


def _check_participant(p: Participant, deep: bool, videos: bool = True) -> dict:
    row = {"file_id": p.id, "label": p.label, "split": p.split, "interaction": p.file_id.interaction_key,
           "vendor": p.file_id.vendor, "source": p.store.kind, "frames": 0, "seconds": 0.0, "video": "", "status": "ok"}
    problems = []
    try:
        if p.store.kind == "files":  # one .npy per key: their headers
            report = validate_headers(p.store.headers(p.id), p.source_label("npz"))
        else:
            with p.store.open(p.member("npz")) as f:
                report = validate_headers(npz_headers(f, p.source_label("npz")), p.source_label("npz"))
        if deep:
            report = p.feature_report
        # The shortest group times the record: a group at 240 Hz (#34) must not inflate the hours
        # (it is reported as a feature-rate fault).
        row["frames"] = min(report.frames.values(), default=0)
        row["seconds"] = row["frames"] / FEATURE_FPS
        row["quirks"] = "; ".join(report.quirks)
        row["unknown_keys"] = len(report.unknown_keys)
    except DatasetError as exc:
        problems.append(exc)
    try:
        p.metadata  # noqa: B018 - parses and validates the json
    except DatasetError as exc:
        problems.append(exc)
    if "mp4" in p.extensions:
        try:
            with p.store.open(p.member("mp4")) as f:
                info = media.probe_video(f, label=p.source_label("mp4"))
            row["video"] = f"{info.width}x{info.height}@{info.fps:.2f}"
            if not any(abs(info.fps - fps) < 0.01 for fps in VIDEO_FPS_ACCEPTED):
                problems.append(DatasetError(p.source_label("mp4"), f"wrong fps {info.fps:.3f}, expected 30 or 29.97"))
            if not row["seconds"]:
                row["seconds"] = info.seconds
        except DatasetError as exc:
            problems.append(exc)
    elif p.store.kind == "files" or not videos:
        row["video"] = "not downloaded"  # a download without any video (features only) is not a fault
    else:
        problems.append(DatasetError(p.source_label("mp4"), "missing .mp4"))
    if "wav" in p.extensions:
        try:
            with p.store.open(p.member("wav")) as f:
                ainfo = media.probe_audio(f, label=p.source_label("wav"))
            if ainfo.sample_rate != AUDIO_SAMPLE_RATE:
                problems.append(DatasetError(p.source_label("wav"), f"sample rate {ainfo.sample_rate}, expected {AUDIO_SAMPLE_RATE}"))
        except DatasetError as exc:
            problems.append(exc)
    else:
        problems.append(DatasetError(p.source_label("wav"), "missing .wav"))
    if problems:
        row["status"] = "invalid"
    row["_problems"] = problems
    return row


def _shadowed_tar_problems(ds: SeamlessInteraction) -> list[Skip]:
    """Tars beside their extracted folder are not read (the folder wins), so a cut or damaged tar
    would go unnoticed until someone reads shards (``extract --source shards``): open each one and
    compare its members with the folder's files."""
    from .stores import LooseStore, TarStore

    problems = []
    for label in ds.labels:
        for split in ds.splits:
            base = ds.root / label / split
            for tar in sorted(base.glob("*/*.tar")) if base.is_dir() else []:
                folder = tar.with_suffix("")
                if not (tar.stem.isdigit() and folder.is_dir()):
                    continue
                try:
                    names = set(TarStore(tar).names())
                except DatasetError as exc:
                    problems.append(Skip(exc.path, f"{exc.problem} (its extracted folder {folder.name}/ is read instead)"))
                    continue
                loose = set(LooseStore(folder).names())
                if names != loose:
                    problems.append(Skip(str(tar), f"holds {len(names & loose)} of the {len(loose)} files of its extracted folder "
                                                   f"{folder.name}/ (cut short or out of date; the folder is read instead)"))
    return problems


def inspect_seamless(root: Path, *, label=None, split=None, deep: bool = False, progress=None) -> Inventory:
    ds = SeamlessInteraction(root, label=label, split=split)
    rows, problems = [], list(ds.skipped) + list(ds.problems) + _shadowed_tar_problems(ds)
    faults = list(ds.faults)
    person_rows = []
    # No video anywhere in the root is a download choice (features only); one missing among others is a fault.
    videos = any("mp4" in p.extensions for dyad in ds for p in dyad.participants)
    for dyad in ds:
        faults += [f for f in ds.dyad_faults(dyad) if f not in dyad.faults]
        for p in dyad.participants:
            row = _check_participant(p, deep, videos)
            problems.extend(Skip(e.path, e.problem) for e in row.pop("_problems"))
            row["relationship"] = (dyad.relationship or {}).get("relationship", "unknown")
            row["interaction_type"] = (dyad.interaction or {}).get("interaction_type", "unknown")
            rows.append(row)
            meta = p.metadata_row or {}
            person_rows.append({"vendor": p.file_id.vendor, "label": p.label, "relationship": row["relationship"],
                                "interaction_type": row["interaction_type"],
                                **{c.replace("_raw", ""): personality_band(meta.get(c)) for c in PERSONALITY_COLUMNS}})
            if progress:
                progress(p.id)
    files = pd.DataFrame(rows)
    if files.empty:
        summary = pd.DataFrame(columns=["label", "split", "interactions", "participants", "hours", "invalid"])
    else:
        summary = (files.groupby(["label", "split"])
                   .agg(interactions=("interaction", "nunique"), participants=("file_id", "nunique"),
                        hours=("seconds", lambda s: s.sum() / 3600.0), invalid=("status", lambda s: int((s != "ok").sum())))
                   .reset_index())
    people = pd.DataFrame(person_rows)
    breakdowns = {}
    if not people.empty:
        for col in ["vendor", "label", "relationship", "interaction_type", "extraversion", "agreeableness",
                    "conscientiousness", "neuroticism", "openness"]:
            breakdowns[col] = people[col].value_counts().rename_axis(col).reset_index(name="participants")
    return Inventory("seamless", str(root), files, summary, problems, breakdowns, faults=faults)


def inspect_realtalk(root: Path, *, progress=None) -> Inventory:
    ds = RealTalk(root)
    clips = ds.clips()
    per_video = Counter((c.video_id, c.split) for c in clips)
    rows, problems = [], list(ds.skipped)
    for vid in ds.video_ids():
        row = {"video_id": vid, "frames": 0, "seconds": 0.0, "video": "", "status": "ok",
               "train_clips": per_video[(vid, "train")], "eval_clips": per_video[(vid, "eval")]}
        try:
            info = ds.video_info(vid)
            row.update(frames=info.frames, seconds=info.seconds, video=f"{info.width}x{info.height}@{info.fps:g}")
            ann = ds.annotations(vid)
            if len(ann) != info.frames:
                problems.append(Skip(vid, f"annotations cover {len(ann)} frames but the video has {info.frames}"))
        except DatasetError as exc:
            row["status"] = "invalid"
            problems.append(Skip(exc.path, exc.problem))
        rows.append(row)
        if progress:
            progress(vid)
    files = pd.DataFrame(rows)
    counts = Counter(c.split for c in clips)
    summary = pd.DataFrame([{"videos": len(rows), "hours": float(files["seconds"].sum() / 3600.0) if rows else 0.0,
                             "clips": len(clips), "train": counts["train"], "eval": counts["eval"], "bank": len(clips),
                             "clip_seconds": CLIP_FRAMES / REALTALK_FPS, "invalid": int((files.get("status", pd.Series(dtype=str)) != "ok").sum())}])
    speakers = Counter(c.speaker for c in clips)
    breakdowns = {"speaker_role": pd.DataFrame([{"speaker_role": k, "clips": v} for k, v in sorted(speakers.items())])}
    return Inventory("realtalk", str(root), files, summary, problems, breakdowns)
