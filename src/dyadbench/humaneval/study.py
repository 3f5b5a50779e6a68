"""The 2AFC study folder: a design plus the clips it shows, named so raters learn nothing.

    <study>/study.json          schema dyadbench.study/1: systems, items, trials, media table
    <study>/media/<hash>.mp4    every clip once, named by the BLAKE2b of its bytes

Clip names never carry a system name (a rater who sees a URL or a file name must not learn which
system made it). Inputs are folders of ``<item_id>.mp4``, one folder per system, on the same items.
"""

from __future__ import annotations

import json
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..datasets import media
from ..datasets.errors import DatasetError
from ..datasets.submission import check_decoded_frames

SCHEMA = "dyadbench.study/1"
DEFAULT_QUESTION = "Which listener reacts more appropriately to the speaker?"
DEFAULT_INSTRUCTIONS = (
    "You will see pairs of short videos of a conversation, side by side. Both show the same moment; "
    "watch both until they end, then choose the side whose listener reacts more naturally and "
    "appropriately to what the speaker says. Some pairs check that the videos play for you: choose "
    "honestly. Keys: 1 or Left arrow = left, 2 or Right arrow = right, Space = play/pause, R = replay."
)


def system_clips(systems: dict[str, Path]) -> dict[str, dict[str, Path]]:
    """``{system: {item: mp4}}`` after checking that every system covers the same items with
    clips of the same frame count and frame rate (side-by-side playback must line up)."""
    clips = {}
    for name, folder in systems.items():
        folder = Path(folder)
        if not folder.is_dir():
            raise DatasetError(folder, f"system {name!r}: not a folder of <item_id>.mp4 clips")
        clips[name] = {p.stem: p for p in sorted(folder.glob("*.mp4"))}
        if not clips[name]:
            raise DatasetError(folder, f"system {name!r}: no .mp4 clips")
    first, *rest = clips
    for name in rest:
        missing, extra = sorted(set(clips[first]) - set(clips[name])), sorted(set(clips[name]) - set(clips[first]))
        if missing or extra:
            raise DatasetError(Path(systems[name]), f"system {name!r} is not on the same items as {first!r}: "
                               f"missing {missing[:5]}, unexpected {extra[:5]}")
    check_in_sync(clips)
    return clips


def check_in_sync(clips: dict[str, dict[str, Path]], contexts: dict[str, Path] | None = None) -> None:
    """Every clip decodes all its frames, and the clips shown together (each system's, and the
    context's where there is one) have the same frame count and rate: they play in sync."""
    contexts = contexts or {}
    for path in {p for per in clips.values() for p in per.values()} | set(contexts.values()):
        check_decoded_frames(path, media.count_decoded_frames(path))  # decode counts, not header counts
    first, *rest = clips
    for item, path in clips[first].items():
        ref = media.probe_video(path)
        others = [clips[name][item] for name in rest] + ([contexts[item]] if item in contexts else [])
        for other in others:
            info = media.probe_video(other)
            if info.frames != ref.frames or abs(info.fps - ref.fps) > 0.01:
                raise DatasetError(other, f"{info.frames} frames at {info.fps:.3f} fps, but {path} has "
                                   f"{ref.frames} at {ref.fps:.3f}: clips shown together must match")
    missing = sorted(set(clips[first]) - set(contexts)) if contexts else []
    if missing:
        raise DatasetError(Path(next(iter(contexts.values()))).parent, f"no context clip for items {missing[:5]}")


def _frozen_copy(src: Path, dst: Path) -> None:
    """The clip held on its first frame for its whole length (an attention-check catch clip)."""
    info = media.probe_video(src)
    first = media.read_frames(src, stop=1)
    if len(first) == 0:
        raise DatasetError(src, "no frames to build an attention-check clip from")
    from fractions import Fraction

    media.write_video(dst, np.repeat(first, info.frames, axis=0), fps=Fraction(info.fps).limit_denominator(1001))


def write_study(out: Path, clips: dict[str, dict[str, Path]], trials: list, *, title: str, question: str = DEFAULT_QUESTION,
                instructions: str = DEFAULT_INSTRUCTIONS, settings: dict | None = None, contexts: dict[str, Path] | None = None,
                item_goals: dict[str, str] | None = None, questions: dict[str, str] | None = None,
                extra: dict | None = None) -> Path:
    """Copy the clips the trials use into ``out/media`` under content names; write study.json.

    ``contexts``: per item, the clip shown above the pair (the speaker, with sound) in sync with
    both; ``item_goals`` and ``questions``: per item its goal, per goal the question raters see
    (the export then reports each goal). ``extra``: further study.json fields (a design's own:
    ``design``, ``playback`` "sequential" when each clip carries its own sound, ``item_systems``)."""
    from ..storage import content_hash
    from .design import CATCH

    out = Path(out)
    if (out / "study.json").exists():
        raise DatasetError(out / "study.json", "a study already exists here; choose a new folder")
    (out / "media").mkdir(parents=True, exist_ok=True)
    names: dict[tuple[str, str], str] = {}

    def place(system: str, trial) -> str:
        if (system, trial.item) not in names:
            tmp = out / "media" / f"tmp-{uuid.uuid4().hex}.mp4"
            if system == CATCH:  # the attention check's reference clip, frozen
                _frozen_copy(clips[trial.system_a][trial.item], tmp)
            else:
                shutil.copyfile(clips[system][trial.item], tmp)
            digest = content_hash(tmp)
            tmp.replace(out / "media" / f"{digest}.mp4")
            names[(system, trial.item)] = digest
        return names[(system, trial.item)]

    def place_file(src: Path) -> str:
        tmp = out / "media" / f"tmp-{uuid.uuid4().hex}.mp4"
        shutil.copyfile(src, tmp)
        digest = content_hash(tmp)
        tmp.replace(out / "media" / f"{digest}.mp4")
        return digest

    rows = [{**t.to_dict(), "left_media": place(t.left, t), "right_media": place(t.right, t)} for t in trials]
    used = {t.item for t in trials}
    doc = {"schema": SCHEMA, "id": uuid.uuid4().hex, "title": title, "question": question, "instructions": instructions,
           "systems": list(clips), "items": sorted({t.item for t in trials if not t.attention}),
           "settings": settings or {}, "trials": rows}
    if contexts:
        doc["contexts"] = {item: place_file(path) for item, path in sorted(contexts.items()) if item in used}
    if item_goals:
        doc["goals"] = {item: goal for item, goal in sorted(item_goals.items()) if item in used}
        doc["questions"] = questions or {}
    doc.update(extra or {})
    (out / "study.json").write_text(json.dumps(doc, indent=1))
    return out / "study.json"


@dataclass
class StudyFolder:
    root: Path
    doc: dict

    @property
    def id(self) -> str:
        return self.doc["id"]

    def context_of(self, item: str) -> str | None:
        """The content name of the item's context clip (the speaker), if the study has one."""
        return (self.doc.get("contexts") or {}).get(item)

    def question_of(self, item: str) -> str:
        goal = (self.doc.get("goals") or {}).get(item)
        return (self.doc.get("questions") or {}).get(goal) or self.doc["question"]

    def media_path(self, digest: str) -> Path:
        if len(digest) != 32 or any(c not in "0123456789abcdef" for c in digest):
            raise DatasetError(self.root / "study.json", f"media name {digest!r} is not a content hash")
        return self.root / "media" / f"{digest}.mp4"


def read_study(root: Path) -> StudyFolder:
    path = Path(root) / "study.json"
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise DatasetError(path, "no study here (create one with `dyadbench study create`)") from exc
    except json.JSONDecodeError as exc:
        raise DatasetError(path, f"not valid JSON ({exc})") from exc
    if doc.get("schema") != SCHEMA:
        raise DatasetError(path, f"schema {doc.get('schema')!r}, expected {SCHEMA!r}")
    study = StudyFolder(Path(root), doc)
    need = ("rater", "position", "item", "system_a", "system_b", "left", "right", "attention", "expected",
            "left_media", "right_media")
    for i, t in enumerate(doc.get("trials", [])):
        missing = [k for k in need if k not in t]
        if missing:
            raise DatasetError(path, f"trials[{i}] lacks {missing}")
        for side in ("left_media", "right_media"):
            if not study.media_path(t[side]).exists():
                raise DatasetError(study.media_path(t[side]), f"trials[{i}].{side}: clip missing")
    for item, digest in (doc.get("contexts") or {}).items():
        if not study.media_path(digest).exists():
            raise DatasetError(study.media_path(digest), f"contexts[{item!r}]: clip missing")
    if not doc.get("trials"):
        raise DatasetError(path, "no trials")
    return study


def write_secrets(root: Path, secrets: dict, base_url: str) -> tuple[Path, Path]:
    """The only plaintext copies of the tokens: ``invites.csv`` (slot, link) and ``admin_token``,
    both readable by the owner alone. Send each rater their link; keep the admin token."""
    import csv
    import os

    root = Path(root)
    invites, admin = root / "invites.csv", root / "admin_token"
    for path in (invites, admin):
        path.touch(mode=0o600, exist_ok=True)
        os.chmod(path, 0o600)
    with invites.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["rater_slot", "invite_link"])
        for slot, token in sorted(secrets["raters"].items()):
            writer.writerow([slot, f"{base_url.rstrip('/')}/join#{token}"])
    admin.write_text(secrets["admin"] + "\n")
    return invites, admin


def votes_csv(rows: list[dict]) -> str:
    """Exported trials (one row each, with its vote) as CSV text."""
    import csv
    import io

    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]) if rows else ["rater"])
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()
