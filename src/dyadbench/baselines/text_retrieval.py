"""``clip_text``: the text-conditioned retrieval route, for users who have CLIP-style weights.

Each goal is a sentence (``GOAL_PROMPTS``); every bank listener and every query speaker is the
mean CLIP image embedding of their face crops (every ``stride``-th frame, renormalised). A bank
listener scores, for query q and goal g,

    score_g(q, b) = <t_g, l_b> + <s_q, l_b>

(unit vectors: the listener fits the goal's description, and mirrors the speaker's look). It
needs no training; a method that tunes CLIP (as RealTalk does) replaces these embeddings.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..datasets.realtalk import RealTalk
from ..datasets.submission import write_retrieval_submission

GOAL_PROMPTS = {
    "appropriate": "a photo of a person listening attentively and responding warmly to someone talking",
    "rude": "a photo of a person looking bored, dismissive and rude while someone talks to them",
}


def prompt_for(goal: str) -> str:
    return GOAL_PROMPTS.get(goal, f"a photo of a listener whose reaction is {goal}")


def _person(embedder, clip, role: str, stride: int) -> np.ndarray:
    e = embedder.images(clip.person_frames(role, size=224, step=stride)).mean(axis=0)
    return e / max(np.linalg.norm(e), 1e-12)


def clip_text_scores(embedder, queries, bank, goals: tuple[str, ...], stride: int = 48) -> dict[str, np.ndarray]:
    listeners = np.stack([_person(embedder, c, c.listener, stride) for c in bank])  # (B, d)
    speakers = np.stack([_person(embedder, q, q.speaker, stride) for q in queries])  # (Q, d)
    texts = embedder.text([prompt_for(g) for g in goals])  # (G, d)
    mirror = speakers @ listeners.T
    return {g: mirror + (texts[i] @ listeners.T)[None, :] for i, g in enumerate(goals)}


def write_clip_text_baseline(root: Path, out_dir: Path, clip: Path | None, goals: tuple[str, ...], stride: int = 48) -> Path:
    from ..features.clip_text import ClipEmbedder

    embedder = ClipEmbedder(clip)  # WeightsError naming the official source when there are none
    rt = RealTalk(root)
    queries, bank = rt.split("eval"), rt.split("bank")
    scores = clip_text_scores(embedder, queries, bank, goals, stride)
    return write_retrieval_submission(out_dir, scores, [q.id for q in queries], [c.id for c in bank])
