"""The Seamless Interaction release's known faults, each detected and handled by one stated policy.

The official issue tracker documents them (facebookresearch/seamless_interaction #10, #17, #18,
#34): file ids in two label/split folders, one id in two archives, archives missing from
``filelist.csv``, SMPL-H records at 240 Hz. Users of the release add partner recordings of
different lengths and features that ``filelist.csv`` promises but the download lacks.

Detection never guesses which copy or which rate is right; a fault either excludes the records it
touches (from every task that reads the touched feature group, in every split: train, dev, test
and the loader see the same policy) or is kept and reported. ``data inspect`` lists every fault
(exit 1); ``evaluate`` counts excluded items per reason in report.json's ``excluded_items``.

Duplicates are found from ``filelist.csv`` *and* from what is on disk, so two labs that downloaded
different parts of the release exclude the same test items.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import media
from .errors import DatasetError
from .seamless_format import FEATURE_FPS, validate_headers

PROMISED_KEYS = {"has_imitator_movement": ("movement:expression", "movement:is_valid")}  # what a True flag must bring
RATE_TOLERANCE = 0.1  # relative: a group at 27-33 Hz is the release's 30 Hz (durations differ by a few frames)
LENGTH_TOLERANCE_FRAMES = 30  # partner recordings differing by up to 1 s are aligned (cropped/padded), beyond that excluded

POLICIES = {
    "duplicate-id": "excluded everywhere it appears (its dyad), so no id is both trained on and scored",
    "two-archives": "excluded (its dyad): which copy is the release's is unknown",
    "not-in-filelist": "kept and scored: filelist.csv is known to miss archives (#10)",
    "missing-on-disk": "not scored: listed in filelist.csv but not found under the root",
    "feature-rate": "excluded from tasks reading that feature group (its dyad); never resampled, the right phase is unknown",
    "length-mismatch": "excluded from tasks reading that feature group (its dyad); up to 1 s is aligned by crop/pad",
    "promised-feature-missing": "excluded from tasks reading that group (the participant's item and its partner's)",
}
EXCLUDING = {"duplicate-id", "two-archives", "feature-rate", "length-mismatch", "promised-feature-missing"}


@dataclass(frozen=True)
class Fault:
    """One fault: its kind, the file ids it touches, where it was seen and the feature groups it
    spoils (``()``: the whole record)."""

    kind: str
    file_ids: tuple[str, ...]
    where: str
    detail: str
    groups: tuple[str, ...] = ()

    @property
    def policy(self) -> str:
        return POLICIES[self.kind]

    @property
    def excludes(self) -> bool:
        return self.kind in EXCLUDING

    def touches(self, keys) -> bool:
        """Whether a task reading ``keys`` (``group:feature``) is affected."""
        return not self.groups or any(k.split(":", 1)[0] in self.groups for k in keys)

    def reason(self) -> str:
        """The excluded-items reason: stable per kind so counts add up across items."""
        return f"dataset fault: {self.kind}"

    def to_dict(self) -> dict:
        return {"kind": self.kind, "file_ids": list(self.file_ids), "where": self.where, "detail": self.detail,
                "groups": list(self.groups), "policy": self.policy}


def location_faults(locations: dict[str, set[tuple[str, str]]], listed: dict[str, set[tuple[str, str]]] | None,
                    copies: dict[tuple[str, str, str], list[str]], read: set[tuple[str, str]]) -> list[Fault]:
    """Faults of where ids sit.

    ``locations``: id -> {(label, split)} found on disk (every label/split under the root);
    ``listed``: id -> {(label, split)} in filelist.csv (None without one); ``copies``:
    (label, split, id) -> the archives holding it; ``read``: the (label, split) folders being read.
    """
    faults = []
    ids = set(locations) | set(listed or {})
    for fid in sorted(ids):
        places = sorted(locations.get(fid, set()) | (listed or {}).get(fid, set()))
        if len(places) > 1:
            faults.append(Fault("duplicate-id", (fid,), ", ".join(f"{lab}/{spl}" for lab, spl in places),
                                f"{fid} is in {len(places)} label/split folders: {', '.join(f'{lab}/{spl}' for lab, spl in places)}"))
    for (label, split, fid), where in sorted(copies.items()):
        if len(where) > 1:
            faults.append(Fault("two-archives", (fid,), where[0], f"{fid} is in {len(where)} archives of {label}/{split}: {', '.join(where)}"))
    if listed is not None:
        for fid in sorted(ids):
            on_disk = {p for p in locations.get(fid, set()) if p in read}
            in_list = {p for p in listed.get(fid, set()) if p in read}
            for label, split in sorted(on_disk - in_list):
                faults.append(Fault("not-in-filelist", (fid,), f"{label}/{split}", f"{fid} is on disk under {label}/{split} but not in filelist.csv there"))
            for label, split in sorted(in_list - on_disk):
                faults.append(Fault("missing-on-disk", (fid,), f"{label}/{split}", f"filelist.csv lists {fid} under {label}/{split}; no file of it is there"))
    return faults


def _duration(participant) -> tuple[float | None, str]:
    """Seconds of the participant's recording from the wav header, else the mp4's, else None."""
    for ext, probe in (("wav", media.probe_audio), ("mp4", media.probe_video)):
        if ext in participant.extensions:
            try:
                with participant.store.open(participant.member(ext)) as f:
                    info = probe(f, label=participant.source_label(ext))
            except DatasetError:
                continue  # unreadable media are reported by the inventory; the rate stays unknown
            if info.seconds > 0:
                return info.seconds, "audio" if ext == "wav" else "video"
    return None, ""


def record_faults(dyad, file_row=None) -> list[Fault]:
    """Rate, length and promised-feature faults of one dyad, from headers only (npy/npz, wav, mp4).

    ``file_row(id)`` returns the participant's filelist.csv row (or None)."""
    faults: list[Fault] = []
    frames: dict[str, dict[str, int]] = {}
    for p in dyad.participants:
        try:
            headers = p.feature_headers()
            frames[p.id] = validate_headers(headers, p.source_label("npz")).frames
        except DatasetError:
            return faults  # unreadable headers: the inventory reports the file, the reader raises on access
        seconds, source = _duration(p)
        groups = frames[p.id]
        if seconds:
            for group, n in sorted(groups.items()):
                rate = n / seconds
                if abs(rate / FEATURE_FPS - 1.0) > RATE_TOLERANCE:
                    faults.append(Fault("feature-rate", (p.id,), p.source_label("npz"),
                                        f"{group} features at {rate:.1f} Hz ({n} frames over {seconds:.2f} s of {source}), expected 30 Hz",
                                        (group,)))
        elif groups:
            low = min(groups.values())
            for group, n in sorted(groups.items()):
                if low and n / low > 1.0 + RATE_TOLERANCE * 5:  # no media to time it: a group far longer than the others
                    faults.append(Fault("feature-rate", (p.id,), p.source_label("npz"),
                                        f"{group} has {n} frames where other groups have {low} (no audio or video to time it)", (group,)))
        row = file_row(p.id) if file_row else None
        for flag, keys in PROMISED_KEYS.items():
            lacking = [k for k in keys if k not in headers]
            if row is not None and str(row.get(flag, "")).strip().lower() in ("true", "1") and lacking:
                faults.append(Fault("promised-feature-missing", (p.id,), p.source_label("npz"),
                                    f"filelist.csv has {flag}=True for {p.id} but {', '.join(lacking)} is missing",
                                    tuple(sorted({k.split(':')[0] for k in lacking}))))
    spoiled = {g for f in faults if f.kind == "feature-rate" for g in f.groups}
    a, b = dyad.participants
    apart = {g: (frames[a.id][g], frames[b.id][g]) for g in sorted(set(frames[a.id]) & set(frames[b.id]) - spoiled)
             if abs(frames[a.id][g] - frames[b.id][g]) > LENGTH_TOLERANCE_FRAMES}
    if apart:
        counts = "; ".join(f"{g} {na} vs {nb}" for g, (na, nb) in apart.items())
        faults.append(Fault("length-mismatch", (a.id, b.id), dyad.key,
                            f"{a.id} and its partner {b.id} differ by more than {LENGTH_TOLERANCE_FRAMES} frames ({counts})",
                            tuple(apart)))
    return faults
