"""Study clips straight from RealTalk retrieval submissions: each system's top-1 listener per query
and goal, beside the query's speaker (with the conversation's audio) as the context.

For every chosen query and goal, each system's clip is the listener of the bank clip it ranks
first, cropped around that person's annotated face box; the context clip is the query's speaker,
cropped the same way, with the clip's audio. Items are ``<query id>@<goal>``, so one study can
hold several goals and the export reports each. Every clip is the 15.36 s window (384 frames at
25 fps), so the three play in sync.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..datasets import media
from ..datasets.errors import DatasetError
from ..datasets.realtalk import FPS, RealTalk
from ..datasets.submission import read_retrieval_goals

CROP = 224  # px: the face crop every clip is resized to
QUESTIONS = {
    "appropriate": "Which listener reacts more appropriately to the speaker?",
    "rude": "Which listener reacts more rudely to the speaker?",
}


def question_for(goal: str) -> str:
    return QUESTIONS.get(goal, f"Which listener better fits the goal '{goal}' given the speaker?")


def write_person_clip(clip, role: str, path: Path, *, with_audio: bool) -> Path:
    """The clip's frames cropped around ``role``, as a 224 px H.264 mp4 (with the clip's audio)."""
    frames = clip.person_frames(role, size=CROP)
    audio = clip.audio() if with_audio else None
    path.parent.mkdir(parents=True, exist_ok=True)
    media.write_video(path, frames, fps=int(FPS), audio=audio)
    return path


def retrieval_study_inputs(data_root: Path, submissions: dict[str, Path], goals: tuple[str, ...], work: Path, *,
                           max_items: int | None = None, seed: int = 0):
    """``(clips {system: {item: mp4}}, contexts {item: mp4}, item_goals {item: goal})`` written under ``work``."""
    rt = RealTalk(data_root)
    queries, bank = rt.split("eval"), rt.split("bank")
    if not queries:
        raise DatasetError(data_root, "the eval split is empty: no query to build a study from")
    qids, bids = [q.id for q in queries], [c.id for c in bank]
    chosen = list(range(len(queries)))
    if max_items and max_items < len(chosen):  # e.g. RealTalk's 30 speakers
        chosen = sorted(np.random.default_rng(seed).choice(len(chosen), size=max_items, replace=False).tolist())
    top1 = {name: {g: np.argmax(m, axis=1) for g, m in read_retrieval_goals(sub, qids, bids, goals).items()}
            for name, sub in submissions.items()}
    work = Path(work)
    clips: dict[str, dict[str, Path]] = {name: {} for name in submissions}
    contexts, item_goals, made = {}, {}, {}
    for qi in chosen:
        q = queries[qi]
        context = write_person_clip(q, q.speaker, work / "context" / f"{q.id}.mp4", with_audio=True)
        for goal in goals:
            item = f"{q.id}@{goal}"
            contexts[item], item_goals[item] = context, goal
            for name in submissions:
                listener = bank[int(top1[name][goal][qi])]
                if listener.id not in made:  # one encode per bank listener, whichever systems chose it
                    made[listener.id] = write_person_clip(listener, listener.listener, work / "listeners" / f"{listener.id}.mp4",
                                                          with_audio=False)
                clips[name][item] = made[listener.id]
    return clips, contexts, item_goals
