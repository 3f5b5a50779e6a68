"""Seamless Interaction file ids: ``V<vendor>_S<session>_I<interaction>_P<participant>``.

Some participant ids end in letters (``P0844A``); we keep the suffix. (The official regex
``V(\\d+)_S(\\d+)_I(\\d+)_P(\\d+)`` silently drops it, merging two different participants.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

FILE_ID_RE = re.compile(r"^V(?P<vendor>\d+)_S(?P<session>\d+)_I(?P<interaction>\d+)_P(?P<participant>\d+[A-Za-z]*)$")


@dataclass(frozen=True, order=True)
class FileId:
    vendor: str
    session: str
    interaction: str
    participant: str

    @classmethod
    def parse(cls, text: str) -> FileId:
        m = FILE_ID_RE.match(text)
        if not m:
            raise ValueError(
                f"{text!r} is not a Seamless Interaction file id; expected V<digits>_S<digits>_I<digits>_P<digits>[letters]"
            )
        return cls(**m.groupdict())

    @property
    def interaction_key(self) -> str:
        """``V_S_I`` shared by the two participants of one interaction."""
        return f"V{self.vendor}_S{self.session}_I{self.interaction}"

    def __str__(self) -> str:
        return f"{self.interaction_key}_P{self.participant}"
