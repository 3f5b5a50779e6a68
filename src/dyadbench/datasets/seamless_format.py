"""Seamless Interaction per-file formats: npz feature keys, json metadata, rates; validation.

The key table is the released one (``group:feature``; N = frames at 30 Hz). Unknown keys (e.g.
the newer ``movement_v4:*``) are read without failing and listed as such.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import DatasetError

FEATURE_FPS = 30.0
VIDEO_FPS_ACCEPTED = (30.0, 30000 / 1001)
AUDIO_SAMPLE_RATE = 48_000
HYPERNET_STRIDE = 15  # movement:hypernet_features has one row per 15 frames
LABELS = ("improvised", "naturalistic")
SPLITS = ("train", "dev", "test")
EMOTIONS = ("Anger", "Contempt", "Disgust", "Fear", "Happiness", "Neutral", "Sadness", "Surprise")

# key -> (per-frame shape, dtype kind: "f" float32 / "b" bool)
NPZ_SPEC: dict[str, tuple[tuple[int, ...], str]] = {
    "smplh:body_pose": ((21, 3), "f"),
    "smplh:left_hand_pose": ((15, 3), "f"),
    "smplh:right_hand_pose": ((15, 3), "f"),
    "smplh:global_orient": ((3,), "f"),
    "smplh:translation": ((3,), "f"),
    "smplh:is_valid": ((), "b"),
    "boxes_and_keypoints:box": ((4,), "f"),
    "boxes_and_keypoints:is_valid_box": ((), "b"),
    "boxes_and_keypoints:keypoints": ((133, 3), "f"),
    "movement:expression": ((128,), "f"),
    "movement:frame_latent": ((64,), "f"),
    "movement:FAUValue": ((24,), "f"),
    "movement:FAUToken": ((1,), "f"),
    "movement:emotion_scores": ((8,), "f"),
    "movement:emotion_valence": ((1,), "f"),
    "movement:emotion_arousal": ((1,), "f"),
    "movement:EmotionValenceToken": ((1,), "f"),
    "movement:EmotionArousalToken": ((1,), "f"),
    "movement:gaze_encodings": ((2,), "f"),
    "movement:head_encodings": ((3,), "f"),
    "movement:alignment_head_rotation": ((3,), "f"),
    "movement:alignment_translation": ((2, 3), "f"),
    "movement:hypernet_features": ((5120,), "f"),
    "movement:is_valid": ((1,), "f"),
}

TRANSLATION_SENTINEL = 1e10  # the release holds ~1e12-1e14 on frames with invalid boxes


@dataclass
class FeatureReport:
    """What validation found in one npz: frame counts per group, unknown keys, data quirks."""

    frames: dict[str, int] = field(default_factory=dict)
    unknown_keys: list[str] = field(default_factory=list)
    quirks: list[str] = field(default_factory=list)


def load_npz(data: bytes, label: str) -> dict[str, np.ndarray]:
    """Read every array of an npz (bytes) eagerly, turning format errors into DatasetError."""
    if not data:
        raise DatasetError(label, "npz file is empty (0 bytes)")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (zipfile.BadZipFile, EOFError, ValueError, OSError) as exc:
        raise DatasetError(label, f"truncated or corrupt npz ({exc})") from exc


# The header numpy's own writer produces for a plain array, e.g.
# "{'descr': '<f4', 'fortran_order': False, 'shape': (9000, 128), }" padded with spaces.
_CANONICAL_HEADER = re.compile(r"\{'descr': '([<>|=][a-zA-Z]\d*)', 'fortran_order': (False|True), "
                               r"'shape': \(((?:\d+, )*\d*|\d+,)\), \} *\n?")


def npy_header(f) -> tuple[tuple[int, ...], bool, np.dtype]:
    """``(shape, fortran_order, dtype)`` of the .npy at ``f``'s position (its data is not read).

    A release has ~20 arrays per participant, and listing a split reads every header (12,000 at
    4 M frames): numpy's reader parses each header with ``ast.literal_eval``, ~0.1 ms apiece. The
    header numpy writes for a plain array is parsed here directly; anything else (structured
    dtypes, other spellings) goes to numpy's reader, so the result is numpy's either way."""
    start = f.tell()
    version = np.lib.format.read_magic(f)
    if version in ((1, 0), (2, 0), (3, 0)):
        size = int.from_bytes(f.read(2 if version == (1, 0) else 4), "little")
        text = f.read(size).decode("utf8" if version == (3, 0) else "latin1")
        match = _CANONICAL_HEADER.fullmatch(text)
        if match is not None and len(text) == size:
            descr, fortran, dims = match.groups()
            return tuple(int(d) for d in dims.split(",") if d.strip()), fortran == "True", np.dtype(descr)
    f.seek(start)
    version = np.lib.format.read_magic(f)
    read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, fortran, dtype = read(f)
    return tuple(shape), fortran, np.dtype(dtype)


def npz_headers(fileobj, label: str) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """Shape and dtype of every array in an npz from the .npy headers alone (no array data read)."""
    out = {}
    try:
        with zipfile.ZipFile(fileobj) as zf:
            for name in zf.namelist():
                with zf.open(name) as f:
                    shape, _, dtype = npy_header(f)
                out[name.removesuffix(".npy")] = (shape, dtype)
    except (zipfile.BadZipFile, EOFError, ValueError, OSError) as exc:
        raise DatasetError(label, f"truncated or corrupt npz ({exc})") from exc
    return out


def validate_headers(headers: dict[str, tuple[tuple[int, ...], np.dtype]], label: str) -> FeatureReport:
    """Check per-frame shapes, dtypes and frame-count agreement of the released keys."""
    report = FeatureReport()
    for key, (arr_shape, dtype) in headers.items():
        spec = NPZ_SPEC.get(key)
        if spec is None:
            report.unknown_keys.append(key)
            continue
        shape, kind = spec
        if len(arr_shape) != 1 + len(shape) or tuple(arr_shape[1:]) != shape:
            expected = "(N, " + ", ".join(map(str, shape)) + ")" if shape else "(N,)"
            raise DatasetError(label, f"key {key!r}: expected shape {expected}, got {arr_shape}")
        if kind == "b" and dtype != np.bool_:
            raise DatasetError(label, f"key {key!r}: expected dtype bool, got {dtype}")
        if kind == "f" and not np.issubdtype(dtype, np.floating):
            raise DatasetError(label, f"key {key!r}: expected a float dtype, got {dtype}")
        group = key.split(":")[0]
        if key != "movement:hypernet_features":
            report.frames.setdefault(group, arr_shape[0])
            if report.frames[group] != arr_shape[0]:
                raise DatasetError(label, f"key {key!r}: {arr_shape[0]} frames but other {group} keys have {report.frames[group]}")
    return report


def validate_features(arrays: dict[str, np.ndarray], label: str) -> FeatureReport:
    """``validate_headers`` plus finiteness of float keys; quirks are reported, not raised."""
    report = validate_headers({k: (a.shape, a.dtype) for k, a in arrays.items()}, label)
    for key, arr in arrays.items():
        if key in NPZ_SPEC and NPZ_SPEC[key][1] == "f":
            finite = np.isfinite(arr)
            if not finite.all():
                raise DatasetError(label, f"key {key!r}: {int((~finite).sum())} NaN/inf value(s)")
    _find_quirks(arrays, report)
    return report


def _find_quirks(arrays: dict[str, np.ndarray], report: FeatureReport) -> None:
    counts = report.frames
    if counts and all(n == 0 for n in counts.values()):
        report.quirks.append("empty bundle (N = 0)")
    video_n = counts.get("boxes_and_keypoints") or counts.get("movement")
    smplh_n = counts.get("smplh")
    if smplh_n and video_n and abs(smplh_n / video_n - 8.0) < 0.1:
        report.quirks.append("smplh at 240 Hz (8x the 30 Hz features)")
    if "smplh:translation" in arrays:
        n = int((np.abs(arrays["smplh:translation"]) > TRANSLATION_SENTINEL).any(axis=1).sum())
        if n:
            report.quirks.append(f"{n} frame(s) with translation sentinels (> 1e10)")
    if "smplh:is_valid" in arrays and arrays["smplh:is_valid"].size:
        n = int((~arrays["smplh:is_valid"]).sum())
        if n:
            report.quirks.append(f"{n} invalid SMPL-H frame(s) (use smplh:is_valid)")
    if "boxes_and_keypoints:keypoints" in arrays and arrays["boxes_and_keypoints:keypoints"].size:
        n = int((arrays["boxes_and_keypoints:keypoints"][..., 2] > 1.0).sum())
        if n:
            report.quirks.append(f"{n} keypoint confidence(s) above 1")


def parse_metadata_json(data: bytes, label: str, expected_id: str | None = None) -> dict[str, Any]:
    """Parse and check the per-file json (id, transcript with word timings, VAD, annotations)."""
    try:
        doc = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DatasetError(label, f"invalid json ({exc})") from exc
    if not isinstance(doc, dict) or "id" not in doc:
        raise DatasetError(label, "json must be an object with an 'id' field")
    if expected_id is not None and doc["id"] != expected_id:
        raise DatasetError(label, f"json id {doc['id']!r} does not match the file name {expected_id!r}")
    for seg in doc.get("metadata:transcript", []) or []:
        if not isinstance(seg, dict) or not {"transcript", "start", "end"} <= seg.keys():
            raise DatasetError(label, "metadata:transcript entries need transcript, start, end")
        if seg["start"] > seg["end"]:
            raise DatasetError(label, f"transcript segment starts after it ends ({seg['start']} > {seg['end']})")
        for word in seg.get("words", []) or []:
            if word.get("start") is not None and word.get("end") is not None and word["start"] > word["end"]:
                raise DatasetError(label, f"word {word.get('word')!r} starts after it ends")
    for seg in doc.get("metadata:vad", []) or []:
        if not isinstance(seg, dict) or seg.get("start") is None or seg.get("end") is None or seg["start"] > seg["end"]:
            raise DatasetError(label, f"metadata:vad entries need start <= end, got {seg!r}")
    return doc
