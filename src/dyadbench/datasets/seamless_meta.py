"""Seamless Interaction metadata tables: filelist, participants, relationships, interactions.

Looked up in ``<root>/assets/`` then ``<root>/`` (or an explicit folder). Ids are compared in a
normalised form (no ``V``/``S``/``I``/``P`` prefix, no leading zeros, suffix letters kept) because
the tables and the file ids pad numbers differently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .errors import DatasetError

TABLES = {
    "filelist": ("file_id", "label", "split", "batch_idx", "archive_idx"),
    "participants": ("vendor_id", "participant_id"),
    "relationships": ("vendor_id", "session_id", "relationship"),
    "interactions": ("prompt_hash", "interaction_type"),
}
PERSONALITY_COLUMNS = ("extraversion_raw", "agreeableness_raw", "conscientiousness_raw", "neuroticism_raw", "openness_raw")


def norm_id(value) -> str:
    text = str(value).strip().lstrip("VSIPvsip")
    stripped = text.lstrip("0")
    return stripped if stripped and not stripped[0].isalpha() else ("0" + stripped if stripped else "0")


@dataclass
class SeamlessMetadata:
    """The tables that exist (None for a missing one) and fast lookups by normalised id."""

    folder: Path | None
    tables: dict[str, pd.DataFrame | None] = field(default_factory=dict)

    @classmethod
    def load(cls, root: Path, folder: Path | None = None) -> SeamlessMetadata:
        candidates = [Path(folder)] if folder else [Path(root) / "assets", Path(root)]
        found = next((c for c in candidates if any((c / f"{t}.csv").exists() for t in TABLES)), None)
        meta = cls(found)
        for name, required in TABLES.items():
            path = found / f"{name}.csv" if found else None
            if path is None or not path.exists():
                meta.tables[name] = None
                continue
            try:
                df = pd.read_csv(path, dtype=str, keep_default_na=False)
            except (pd.errors.ParserError, UnicodeDecodeError, OSError) as exc:
                raise DatasetError(path, f"unreadable CSV ({exc})") from exc
            missing = [c for c in required if c not in df.columns]
            if missing:
                raise DatasetError(path, f"missing column(s) {missing}; expected at least {list(required)}")
            meta.tables[name] = df
        meta._build_lookups()
        return meta

    def _build_lookups(self) -> None:
        def index(name, cols):
            df = self.tables.get(name)
            if df is None:
                return None
            return {tuple(norm_id(r[c]) for c in cols): r for r in df.to_dict("records")}

        self._participants = index("participants", ("vendor_id", "participant_id"))
        self._relationships = index("relationships", ("vendor_id", "session_id"))
        self._interactions = index("interactions", ("prompt_hash",))
        fl = self.tables.get("filelist")
        self._files = None if fl is None else {r["file_id"]: r for r in fl.to_dict("records")}

    def has(self, table: str) -> bool:
        return self.tables.get(table) is not None

    def participant(self, vendor: str, participant: str) -> dict | None:
        return None if self._participants is None else self._participants.get((norm_id(vendor), norm_id(participant)))

    def relationship(self, vendor: str, session: str) -> dict | None:
        return None if self._relationships is None else self._relationships.get((norm_id(vendor), norm_id(session)))

    def interaction(self, interaction: str) -> dict | None:
        return None if self._interactions is None else self._interactions.get((norm_id(interaction),))

    def file(self, file_id: str) -> dict | None:
        return None if self._files is None else self._files.get(file_id)


def personality_band(value, low: float = 30.0, high: float = 45.0) -> str:
    """'low' / 'mid' / 'high' band of a BFI-2 raw domain score (12-60); 'undisclosed' otherwise."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return "undisclosed"
    return "low" if v < low else ("high" if v >= high else "mid")
