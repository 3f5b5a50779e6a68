"""Sample data in the RealTalk release layout.

``<root>/videos/videos_<xx>.tar`` (50 ``<video_id>.avi`` per shard, 25 fps, two people: p0 left,
p1 right), ``audio.tar.gz`` (``audio/<id>.wav``, 16 kHz mono), ``asr.tar.gz`` (``asr/<id>.json``,
Whisper-style segments with word timings), ``annotations.tar.gz`` (``annotations/<id>.json``:
per frame ``{"people": {"p0": {"bbox": [x1, y1, x2, y2]}, ...}, "current_speaker": ...}``),
``emoca.tar.gz`` (``emoca/<id>.pkl``: frame -> p0/p1 -> expression 50, pose 6, shape 100) and
``embeddings.tar.gz`` (``embeddings/<id>.npz``: per-frame visual embeddings ``p0``, ``p1``).
"""

from __future__ import annotations

import io
import json
import pickle
import tarfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..media import write_video, write_wav
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

FPS = 25
AUDIO_SR = 16_000
VIDEOS_PER_SHARD = 50
ROLES = ("p0", "p1")
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _video_id(rng: np.random.Generator) -> str:
    return "".join(ALPHABET[i] for i in rng.integers(0, len(ALPHABET), 11))


def _add(tf: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = 0  # deterministic archives
    tf.addfile(info, io.BytesIO(data))


def write_realtalk_sample(
    root: Path, *, videos: int = 2, seconds: float = 32.0, seed: int = 0, width: int = 640, height: int = 360,
    progress: Callable[[str], None] | None = None, mimicry: float = MIMICRY,
) -> dict:
    """Write ``videos`` conversation videos of ``seconds`` each; returns counts. ``mimicry``: how
    much a listener's affect follows its speaker's (1: fully, a listener recoverable from its
    speaker — for tests of what the metrics can see, not a stand-in for the real task)."""
    if videos < 1 or seconds < 16:
        raise ValueError("videos must be >= 1 and seconds >= 16 (one 15.36 s clip)")
    root = Path(root)
    (root / "videos").mkdir(parents=True, exist_ok=True)
    (root / "benchmark").mkdir(exist_ok=True)
    rng = np.random.default_rng(seed)
    n = int(round(seconds * FPS))
    shard_files: dict[int, list[tuple[str, bytes]]] = {}
    small: dict[str, list[tuple[str, bytes]]] = {k: [] for k in ("audio", "asr", "annotations", "emoca", "embeddings")}
    identity = {name: np.random.default_rng(100 + i).normal(0, 1, 512) for i, name in enumerate(FACE_NAMES)}
    shapes = {name: np.random.default_rng(200 + i).normal(0, 1, 100).astype(np.float32) for i, name in enumerate(FACE_NAMES)}
    for v in range(videos):
        vid = _video_id(rng)
        own = np.random.default_rng([seed, v, 1])  # each person's own behaviour; `rng` draws the conversation as before
        faces = (FACE_NAMES[v % 2], FACE_NAMES[(v + 1) % 2])
        segments = conversation(seconds, rng, turn_range=(8.0, 17.0))
        audio = [synthesize(segments, who, seconds, AUDIO_SR, 110.0 + 100.0 * (FACE_NAMES.index(faces[who])), rng) for who in (0, 1)]
        mouth = [envelope_per_frame(a, AUDIO_SR, FPS, n) for a in audio]
        turn_segments = [s for s in segments if len(s.words) > 1]  # backchannels do not take the floor
        speaking = [speaking_mask(turn_segments, who, FPS, n) for who in (0, 1)]
        poses = [head_track(n, FPS, speaking[who], rng) for who in (0, 1)]
        frames = (
            compose_frame(width, height, [(load_face(faces[w]), {k: poses[w][k][t] for k in ("yaw", "pitch", "roll")} | {"mouth": mouth[w][t]})
                                          for w in (0, 1)], [(92, 110, 138), (140, 122, 92)])
            for t in range(n)
        )
        tmp = root / "videos" / f".{vid}.avi"
        write_video(tmp, frames, fps=FPS, codec="mpeg4", options={"qscale": "4"})
        shard_files.setdefault(v // VIDEOS_PER_SHARD, []).append((f"{vid}.avi", tmp.read_bytes()))
        tmp.unlink()
        wav = io.BytesIO()
        write_wav(wav, audio[0] + audio[1], AUDIO_SR)
        small["audio"].append((f"audio/{vid}.wav", wav.getvalue()))
        small["asr"].append((f"asr/{vid}.json", json.dumps(_asr(segments)).encode()))
        small["annotations"].append((f"annotations/{vid}.json", json.dumps(_annotations(n, width, height, speaking, poses)).encode()))
        affect = shared_affect(n, FPS, rng, coupling=mimicry, own_rng=own)
        small["emoca"].append((f"emoca/{vid}.pkl", pickle.dumps(_emoca(n, mouth, speaking, poses, [shapes[f] for f in faces], rng, affect, own))))
        emb = io.BytesIO()
        np.savez(emb, **{role: (identity[faces[w]] + 0.05 * rng.normal(0, 1, (n, 512))).astype(np.float32) for w, role in enumerate(ROLES)})
        small["embeddings"].append((f"embeddings/{vid}.npz", emb.getvalue()))
        if progress:
            progress(vid)
    for shard, files in shard_files.items():
        with tarfile.open(root / "videos" / f"videos_{shard:02d}.tar", "w") as tf:
            for name, data in files:
                _add(tf, name, data)
    for archive, files in small.items():
        with tarfile.open(root / f"{archive}.tar.gz", "w:gz", compresslevel=1) as tf:  # fast; random floats barely compress
            for name, data in files:
                _add(tf, name, data)
    return {"videos": videos, "frames_per_video": n, "shards": len(shard_files)}


def _asr(segments) -> dict:
    out = []
    for i, seg in enumerate(segments):
        out.append({"id": i, "start": seg.start, "end": seg.end, "text": " " + seg.text,
                    "words": [{"word": " " + w.word, "start": w.start, "end": w.end, "probability": w.score} for w in seg.words]})
    return {"text": "".join(s["text"] for s in out), "segments": out, "language": "en"}


def _annotations(n: int, width: int, height: int, speaking, poses) -> dict:
    boxes = head_boxes(width, height, 2)
    out = {}
    for t in range(n):
        people = {}
        for w, role in enumerate(ROLES):
            x1, y1, x2, y2 = boxes[w]
            dx, dy = poses[w]["yaw"][t] / 40.0 * width / 2 * 0.1, poses[w]["pitch"][t] / 30.0 * height * 0.08
            people[role] = {"bbox": [round(x1 + dx, 1), round(y1 + dy, 1), round(x2 + dx, 1), round(y2 + dy, 1)]}
        current = "p0" if speaking[0][t] and not speaking[1][t] else ("p1" if speaking[1][t] and not speaking[0][t] else None)
        out[str(t)] = {"people": people, "current_speaker": current}
    return out


def _emoca(n, mouth, speaking, poses, shapes, rng, affect, own) -> dict:
    proj = np.random.default_rng(7).normal(0, 0.5, (5, 50))
    per_role = []
    for w in (0, 1):
        # each person's own slow rhythm (period 4-9 s, own phase): shared by nobody, so it tells no clip apart
        rhythm = np.sin(2 * np.pi * np.arange(n) / FPS / own.uniform(4.0, 9.0) + own.uniform(0, 2 * np.pi))
        drive = np.hstack([np.stack([mouth[w], speaking[w].astype(float), rhythm], 1), 1.5 * affect[w]])
        expr = (drive @ proj + rng.normal(0, 0.05, (n, 50))).astype(np.float32)
        rot = np.deg2rad(np.stack([poses[w]["pitch"], poses[w]["yaw"], poses[w]["roll"]], 1))
        jaw = np.stack([0.3 * mouth[w], np.zeros(n), np.zeros(n)], 1)
        per_role.append((expr, np.hstack([rot, jaw]).astype(np.float32)))
    return {t: {role: {"expression": per_role[w][0][t], "pose": per_role[w][1][t], "shape": shapes[w]}
                for w, role in enumerate(ROLES)} for t in range(n)}
