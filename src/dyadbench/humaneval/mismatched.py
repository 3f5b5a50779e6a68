"""The mismatched-interlocutor 2AFC design (GENEA 2023's appropriateness-to-the-interlocutor test).

Each stimulus shows a speaker (left half, with its sound) beside a generated listener (right
half). The two stimuli of a trial show the *same* generated listener: once beside its own speaker
(``matched``), once beside the speaker of another dialogue (``mismatched``). Raters choose which
pairing fits; a system whose listener reacts to its own speaker is preferred in the matched
pairing more often than half the time (binomial test against ½, Wilson interval), while one that
ignores the speaker is not. Both stimuli last the same number of frames (the shortest of the
listener, its speaker and the other speaker), so length never tells them apart; they play one
after the other, each with its own speaker's sound.

Items are ``<item>|<system>``: raters never see them (the app serves clips by trial), and the
export reports the matched-preference rate of every system separately.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

from ..datasets import media
from ..datasets.errors import DatasetError
from ..datasets.ids import FILE_ID_RE, FileId

DESIGN = "mismatched-interlocutor"
SYSTEMS = ("matched", "mismatched")
QUESTION = "In which video does the listener on the right respond better to the speaker on the left?"
INSTRUCTIONS = (
    "Each pair shows two short videos, one after the other: a speaker on the left (you hear them) and a "
    "listener on the right. The listener is the same in both videos; the speaker is not. Watch both to the "
    "end, then choose the video in which the listener's reactions fit what the speaker says and does. "
    "Some pairs check that the videos play for you: choose honestly. Keys: 1 or Left arrow = first (left), "
    "2 or Right arrow = second (right), Space = play/pause, R = replay."
)


def dialogue_of(item: str) -> str:
    """The dialogue an item belongs to: a Seamless file id's interaction (V…_S…_I…), a RealTalk
    clip's video (``<video id>_<start>``, optionally ``@goal``), else the item itself."""
    base = item.split("@", 1)[0]
    if FILE_ID_RE.match(base):
        return FileId.parse(base).interaction_key
    head, sep, tail = base.rpartition("_")
    return head if sep and tail.isdigit() else base


def donors(items: list[str], *, seed: int = 0) -> dict[str, str]:
    """For every item, another item from a different dialogue whose speaker it is shown beside: a
    seeded random derangement, each item lending its speaker once where the dialogues allow it."""
    items = sorted(items)
    groups = {dialogue_of(i) for i in items}
    if len(groups) < 2:
        raise ValueError(f"a mismatched-interlocutor study needs items from two or more dialogues (all {len(items)} "
                         f"items are from {sorted(groups)})")
    rng = np.random.default_rng(seed)
    for _ in range(1000):  # rejection sampling of a permutation with no item paired within its dialogue
        order = [items[i] for i in rng.permutation(len(items))]
        if all(dialogue_of(a) != dialogue_of(b) for a, b in zip(items, order)):
            return dict(zip(items, order))
    # one dialogue holds most items: a derangement is impossible, so draw each donor independently
    return {i: str(rng.choice([j for j in items if dialogue_of(j) != dialogue_of(i)])) for i in items}


def _speaker(path: Path, frames: int):
    """A speaker clip's first ``frames`` frames, its sound (or None) and its frame rate."""
    s = media.read_frames(path, stop=frames)
    if len(s) < frames:
        raise DatasetError(path, f"fewer than {frames} frames")
    return s, media.read_video_audio(path), Fraction(media.probe_video(path).fps).limit_denominator(1001)


def _pairing(speaker, listener: np.ndarray, out: Path) -> Path:
    """``speaker | listener`` side by side (the listener resized to the speaker's height), as long
    as ``listener``, with the speaker's sound cut to the same length."""
    frames, sound, fps = speaker
    n = len(listener)
    s, v = frames[:n], listener
    height = s.shape[1]
    if v.shape[1] != height:  # nearest-neighbour resize: no image library needed for a study clip
        rows = np.arange(height) * v.shape[1] // height
        cols = np.arange(round(v.shape[2] * height / v.shape[1])) * v.shape[1] // height
        v = v[:, rows][:, :, cols]
    both = np.concatenate([s, v], axis=2)
    both = both[:, : both.shape[1] // 2 * 2, : both.shape[2] // 2 * 2]  # H.264 with yuv420p wants even sizes
    if sound is not None:
        sound = (sound[0][: int(round(n / float(fps) * sound[1]))], sound[1])
    out.parent.mkdir(parents=True, exist_ok=True)
    media.write_video(out, both, fps=fps, audio=sound)
    return out


def mismatched_inputs(clips: dict[str, dict[str, Path]], contexts: dict[str, Path], work: Path, *, seed: int = 0):
    """``(pair clips {"matched"|"mismatched": {item|system: mp4}}, item_system {item|system: system},
    donors {item: donor item})`` written under ``work``: every system's listener beside its own
    speaker and beside the donor item's speaker. Each clip is decoded once per item (both speakers
    once, each system's listener once), one item's frames in memory at a time."""
    items = sorted(next(iter(clips.values())))
    missing = sorted(set(items) - set(contexts))
    if missing:
        raise DatasetError(Path(work), f"no speaker clip for items {missing[:5]} (--context FOLDER of <item_id>.mp4)")
    donor = donors(items, seed=seed)
    frames = {i: media.probe_video(contexts[i]).frames for i in items}
    out = {name: {} for name in SYSTEMS}
    item_system = {}
    for item in items:
        n = min(frames[item], frames[donor[item]])  # both pairings equally long: duration tells nothing
        own, lent = _speaker(contexts[item], n), _speaker(contexts[donor[item]], n)
        for system, per_item in clips.items():
            listener = media.read_frames(per_item[item], stop=n)
            if len(listener) < n:
                raise DatasetError(per_item[item], f"{len(listener)} frames, but its speakers have {n}")
            key = f"{item}|{system}"
            stem = key.replace("|", "__").replace("/", "_").replace("@", "_at_")
            out["matched"][key] = _pairing(own, listener, Path(work) / "matched" / f"{stem}.mp4")
            out["mismatched"][key] = _pairing(lent, listener, Path(work) / "mismatched" / f"{stem}.mp4")
            item_system[key] = system
    return out, item_system, donor
