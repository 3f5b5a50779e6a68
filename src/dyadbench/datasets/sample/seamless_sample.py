"""Sample data in the Seamless Interaction release layouts (bundles and shards, or per-file).

Writes, for every label x split (or the ``splits`` asked for), ``dyads`` interactions of two
participants, plus ``<root>/assets/*.csv``. ``layout="bundles"``:
``<root>/<label>/<split>/<batch:04d>/<archive:04d>/<file_id>.{mp4,wav,json,npz}`` and the same
samples as ``<root>/<label>/<split>/<batch:04d>/<archive:04d>.tar``; ``layout="files"``: the
release's per-file ("features-only") layout, ``<root>/<label>/<split>/<group>/<feature>/<file_id>.npy``,
``audio/``, ``metadata/{transcript,vad}/*.jsonl``, ``annotations/<type>/*.json`` (and ``video/``
unless ``video=False``). The first interaction of each split puts its two halves in different
archives (as the release does), one participant id carries a letter suffix (``P0950A``), and, as
in the release, movement features exist for some vendors only: every third interaction of a
split is recorded by vendor V02, whose participants have no ``movement:*`` keys
(``has_imitator_movement`` False in ``filelist.csv``).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..media import write_video, write_wav
from ..seamless_format import (
    AUDIO_SAMPLE_RATE,
    FEATURE_FPS,
    HYPERNET_STRIDE,
    LABELS,
    SPLITS,
)
from .faces import FACE_NAMES, compose_frame, head_boxes, load_face
from .speech import (
    MIMICRY,
    conversation,
    envelope_per_frame,
    head_track,
    shared_affect,
    speaking_mask,
    synthesize,
)

BACKGROUNDS = ((92, 110, 138), (140, 122, 92), (96, 132, 104), (128, 96, 120))
PERSONALITY = ("extraversion_raw", "agreeableness_raw", "conscientiousness_raw", "neuroticism_raw", "openness_raw")


@dataclass(frozen=True)
class ParticipantPlan:
    file_id: str
    label: str
    split: str
    batch: int
    archive: int
    face: str
    f0: float
    index: int  # 0 or 1 within the dyad


def _projection(seed: int, rows: int, cols: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 1.0 / np.sqrt(cols), (rows, cols))


def motion_arrays(n: int, pose: dict, mouth: np.ndarray, speaking: np.ndarray, box: tuple, rng: np.random.Generator,
                  shared: np.ndarray | None = None) -> dict:
    """All released npz keys, driven by the same head pose / mouth / speaking as the video, plus
    the affect shared with the partner (``shared``, (n, 2))."""
    f32 = np.float32
    drive = np.stack([mouth, np.deg2rad(pose["yaw"]), np.deg2rad(pose["pitch"]), np.deg2rad(pose["roll"]), speaking.astype(float)], 1)
    drive = np.hstack([drive, 1.5 * (np.zeros((n, 2)) if shared is None else shared)])
    k = drive.shape[1]
    noise = lambda *shape: rng.normal(0, 0.02, (n, *shape))
    t = np.arange(n) / FEATURE_FPS
    arm = 0.25 * np.sin(2 * np.pi * 0.9 * t)[:, None] * speaking[:, None]
    body = np.tile(rng.normal(0, 0.15, (1, 21, 3)), (n, 1, 1)) + noise(21, 3)
    body[:, 15:21, :] += arm[:, :, None] * np.linspace(0.5, 1.5, 6)[None, :, None]  # shoulders/elbows/wrists
    if shared is not None:  # posture mimicry: spine/neck/collars lean with the shared affect
        body[:, 2:14:3, :] += 0.35 * (shared @ _projection(17, 2, 12)).reshape(n, 4, 3)
    x1, y1, x2, y2 = box
    kp = np.zeros((n, 133, 3))
    kp[..., 0] = (x1 + x2) / 2 + rng.normal(0, (x2 - x1) / 5, (1, 133)) + 2 * pose["yaw"][:, None]
    kp[..., 1] = (y1 + y2) / 2 + rng.normal(0, (y2 - y1) / 5, (1, 133)) + 2 * pose["pitch"][:, None]
    kp[..., 2] = rng.uniform(0.5, 0.99, (n, 133))
    logits = drive @ _projection(11, k, 8) * 3 + rng.normal(0, 0.3, (n, 8))
    emotions = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    fau = 1 / (1 + np.exp(-(drive @ _projection(12, k, 24) * 4)))
    fau[:, 20] = mouth  # AU26 jaw drop follows the mouth
    head = np.deg2rad(np.stack([pose["yaw"], pose["pitch"], pose["roll"]], 1))
    valence = np.tanh(drive @ _projection(13, k, 1) * 2)
    arousal = np.tanh(drive @ _projection(14, k, 1) * 2 + 0.3 * speaking[:, None])
    return {
        "smplh:body_pose": body.astype(f32),
        "smplh:left_hand_pose": (rng.normal(0, 0.1, (1, 15, 3)) + noise(15, 3)).astype(f32),
        "smplh:right_hand_pose": (rng.normal(0, 0.1, (1, 15, 3)) + noise(15, 3)).astype(f32),
        "smplh:global_orient": (np.array([np.pi, 0, 0]) + head * 0.2 + noise(3)).astype(f32),
        "smplh:translation": (np.array([0.0, 0.9, 2.5]) + noise(3)).astype(f32),
        "smplh:is_valid": np.ones(n, bool),
        "boxes_and_keypoints:box": np.tile(np.array(box, f32), (n, 1)),
        "boxes_and_keypoints:is_valid_box": np.ones(n, bool),
        "boxes_and_keypoints:keypoints": kp.astype(f32),
        "movement:expression": (drive @ _projection(15, k, 128) + noise(128)).astype(f32),
        "movement:frame_latent": (drive @ _projection(16, k, 64) + noise(64)).astype(f32),
        "movement:FAUValue": fau.astype(f32),
        "movement:FAUToken": np.round(fau[:, :1] * 15).astype(f32),
        "movement:emotion_scores": emotions.astype(f32),
        "movement:emotion_valence": valence.astype(f32),
        "movement:emotion_arousal": arousal.astype(f32),
        "movement:EmotionValenceToken": np.round((valence + 1) * 7.5).astype(f32),
        "movement:EmotionArousalToken": np.round((arousal + 1) * 7.5).astype(f32),
        "movement:gaze_encodings": (head[:, :2] * 0.5 + noise(2)).astype(f32),
        "movement:head_encodings": head.astype(f32),
        "movement:alignment_head_rotation": (head + noise(3)).astype(f32),
        "movement:alignment_translation": (np.array([[0.0, 0.0, 1.0], [0.0, 0.1, 1.0]]) + noise(2, 3)).astype(f32),
        "movement:hypernet_features": rng.normal(0, 1, (n // HYPERNET_STRIDE, 5120)).astype(f32),
        "movement:is_valid": np.ones((n, 1), f32),
    }


def _json_doc(file_id: str, segments, who: int, annotate: bool) -> dict:
    own = [s for s in segments if s.speaker == who]
    transcript = [
        {"transcript": s.text, "start": s.start, "end": s.end,
         "words": [{"word": w.word, "start": w.start, "end": w.end, "score": w.score} for w in s.words]}
        for s in own
    ]
    vad: list[dict] = []
    for w in (w for s in own for w in s.words):
        if vad and w.start - vad[-1]["end"] < 0.3:
            vad[-1]["end"] = w.end
        else:
            vad.append({"start": w.start, "end": w.end})
    doc = {"id": file_id, "metadata:transcript": transcript, "metadata:vad": vad}
    if annotate and own:
        doc["annotations:1P-IS"] = [{"annotation": "I felt engaged and listened to.", "start_ts": own[0].start, "end_ts": own[-1].end}]
        doc["annotations:3P-IS"] = [{"annotation": "Both participants are relaxed and attentive.", "start_ts": 0.0, "end_ts": own[-1].end}]
    return doc


LAYOUTS = ("bundles", "files")
NO_MOVEMENT_VENDOR = "02"


def write_seamless_sample(
    root: Path, *, dyads: int = 1, seconds: float = 4.0, seed: int = 0, width: int = 320, height: int = 240,
    progress: Callable[[str], None] | None = None, layout: str = "bundles", video: bool = True,
    splits: tuple[str, ...] | None = None, faults: bool = False, mimicry: float = MIMICRY,
) -> dict:
    """Write the sample; returns counts. Deterministic for a given (dyads, seconds, seed, size);
    a split's data does not depend on which other splits are written. ``faults=True`` then writes
    the release's known faults into it (``seamless_faults_sample``)."""
    import webdataset as wds

    if dyads < 1 or seconds < 1.0:
        raise ValueError("dyads must be >= 1 and seconds >= 1")
    if layout not in LAYOUTS:
        raise ValueError(f"layout: expected one of {LAYOUTS}, got {layout!r}")
    unknown = sorted(set(splits or ()) - set(SPLITS))
    if unknown:
        raise ValueError(f"splits: unknown {unknown}; the release has {SPLITS}")
    root = Path(root)
    n = int(round(seconds * FEATURE_FPS))
    shards: dict[Path, list[dict]] = {}
    filelist, participants, relationships, interactions = [], [], [], []
    k = 0
    for label in LABELS:
        for split in SPLITS:
            for i in range(dyads):
                rng = np.random.default_rng([seed, k])  # per interaction: a split reads the same alone or with others
                if splits and split not in splits:
                    k += 1
                    continue
                vendor = NO_MOVEMENT_VENDOR if i % 3 == 2 else f"{k % 2:02d}"
                session, inter = f"{809 + k:04d}", f"{582 + k:08d}"
                pids = [f"{947 + 2 * k:04d}", f"{948 + 2 * k:04d}" + ("A" if k == 1 else "")]
                segments = conversation(seconds, rng)
                affect = shared_affect(n, FEATURE_FPS, rng, coupling=mimicry, own_rng=np.random.default_rng([seed, k, 1]))
                for who, pid in enumerate(pids):
                    plan = ParticipantPlan(f"V{vendor}_S{session}_I{inter}_P{pid}", label, split, 0, 1 if (i == 0 and who == 1) else 0,
                                           FACE_NAMES[(k + who) % 2], 120.0 + 90.0 * ((k + who) % 2), who)
                    annotated = (k + who) % 3 != 2
                    movement = vendor != NO_MOVEMENT_VENDOR
                    files = _write_participant(root, plan, segments, seconds, n, width, height, annotated, rng, affect[who],
                                               layout=layout, video=video, movement=movement)
                    if layout == "bundles":
                        shards.setdefault(root / label / split / f"{plan.batch:04d}" / f"{plan.archive:04d}.tar", []).append(files)
                    filelist.append({"file_id": plan.file_id, "label": label, "split": split, "batch_idx": plan.batch,
                                     "archive_idx": plan.archive, "has_imitator_movement": movement,
                                     "has_annotation_1p": annotated, "has_annotation_3p": annotated})
                    row = {"vendor_id": vendor, "participant_id": pid}
                    row.update({col: ("Undisclosed" if (k + who + j) % 7 == 0 else round(float(rng.uniform(12, 60)), 1))
                                for j, col in enumerate(PERSONALITY)})
                    participants.append(row)
                    if progress:
                        progress(plan.file_id)
                relationships.append({"vendor_id": vendor, "session_id": session, "relationship": ("familiar", "stranger")[k % 2],
                                      "relationship_detail": ("friends", "none")[k % 2]})
                interactions.append({"prompt_hash": inter, "prompt_id_unique": f"prompt-{k:03d}",
                                     "participant_a_prompt_text": "Tell your partner about a trip that went wrong." if label == "improvised" else "",
                                     "participant_b_prompt_text": "React as a supportive friend." if label == "improvised" else "",
                                     "ipc_a": ("warm", "dominant")[k % 2], "ipc_b": ("warm", "submissive")[k % 2],
                                     "interaction_type": ("improvised-scenario" if label == "improvised" else "naturalistic-topic")})
                k += 1
    for path, samples in shards.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        with wds.TarWriter(str(path)) as sink:
            for sample in sorted(samples, key=lambda s: s["__key__"]):
                sink.write(sample)
    assets = root / "assets"
    assets.mkdir(parents=True, exist_ok=True)
    for name, rows in (("filelist", filelist), ("participants", participants), ("relationships", relationships), ("interactions", interactions)):
        pd.DataFrame(rows).to_csv(assets / f"{name}.csv", index=False)
    result = {"interactions": len(relationships), "participants": len(filelist), "shards": len(shards), "frames_per_file": n}
    if faults:
        from .seamless_faults_sample import add_faults

        result["faults"] = len(add_faults(root, layout))
    return result


def _write_participant(root: Path, plan: ParticipantPlan, segments, seconds: float, n: int, width: int, height: int,
                       annotated: bool, rng: np.random.Generator, shared: np.ndarray, *, layout: str = "bundles",
                       video: bool = True, movement: bool = True) -> dict:
    audio = synthesize(segments, plan.index, seconds, AUDIO_SAMPLE_RATE, plan.f0, rng)
    mouth = envelope_per_frame(audio, AUDIO_SAMPLE_RATE, FEATURE_FPS, n)
    speaking = speaking_mask(segments, plan.index, FEATURE_FPS, n)
    pose = head_track(n, FEATURE_FPS, speaking, rng)
    arrays = motion_arrays(n, pose, mouth, speaking, head_boxes(width, height, 1)[0], rng, shared)
    if not movement:
        arrays = {k: v for k, v in arrays.items() if not k.startswith("movement:")}
    doc = _json_doc(plan.file_id, segments, plan.index, annotate=annotated)
    split_dir = root / plan.label / plan.split
    if layout == "files":
        return _write_files(split_dir, plan, audio, arrays, doc, (pose, mouth, width, height) if video else None)
    base = split_dir / f"{plan.batch:04d}" / f"{plan.archive:04d}" / plan.file_id
    base.parent.mkdir(parents=True, exist_ok=True)
    if video:
        _write_video(base.with_suffix(".mp4"), plan, pose, mouth, width, height)
    write_wav(base.with_suffix(".wav"), audio, AUDIO_SAMPLE_RATE)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    base.with_suffix(".npz").write_bytes(buf.getvalue())
    base.with_suffix(".json").write_text(json.dumps(doc))
    exts = ("mp4", "wav", "json", "npz") if video else ("wav", "json", "npz")
    return {"__key__": plan.file_id, **{ext: base.with_suffix("." + ext).read_bytes() for ext in exts}}


def _write_video(path: Path, plan: ParticipantPlan, pose: dict, mouth: np.ndarray, width: int, height: int) -> None:
    face = load_face(plan.face)
    bg = BACKGROUNDS[FACE_NAMES.index(plan.face) * 2 + plan.index]
    frames = (compose_frame(width, height, [(face, {"yaw": pose["yaw"][t], "pitch": pose["pitch"][t], "roll": pose["roll"][t], "mouth": mouth[t]})], [bg])
              for t in range(len(mouth)))
    write_video(path, frames, fps=int(FEATURE_FPS), options={"preset": "veryfast", "crf": "28"})


def _write_files(split_dir: Path, plan: ParticipantPlan, audio: np.ndarray, arrays: dict, doc: dict, video) -> dict:
    """The per-file layout: one .npy per key, audio/, metadata/*.jsonl, annotations/, video/."""
    fid = plan.file_id
    for key, arr in arrays.items():
        group, feature = key.split(":", 1)
        (split_dir / group / feature).mkdir(parents=True, exist_ok=True)
        np.save(split_dir / group / feature / f"{fid}.npy", arr)
    (split_dir / "audio").mkdir(parents=True, exist_ok=True)
    write_wav(split_dir / "audio" / f"{fid}.wav", audio, AUDIO_SAMPLE_RATE)
    for kind in ("transcript", "vad"):
        (split_dir / "metadata" / kind).mkdir(parents=True, exist_ok=True)
        lines = [json.dumps(row) for row in doc.get(f"metadata:{kind}", [])]
        (split_dir / "metadata" / kind / f"{fid}.jsonl").write_text("\n".join(lines) + ("\n" if lines else ""))
    for key, value in doc.items():
        if key.startswith("annotations:"):
            (split_dir / "annotations" / key.split(":", 1)[1]).mkdir(parents=True, exist_ok=True)
            (split_dir / "annotations" / key.split(":", 1)[1] / f"{fid}.json").write_text(json.dumps(value))
    if video is not None:
        (split_dir / "video").mkdir(parents=True, exist_ok=True)
        _write_video(split_dir / "video" / f"{fid}.mp4", plan, *video)
    return {"__key__": fid}
