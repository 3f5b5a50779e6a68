"""A picklable reference to one video: a file path, or a tar shard and its member, so a worker
process (or a Ray actor on another machine) reads the bytes itself; nothing large crosses process
boundaries. Records make them (``Participant.video_ref``, ``RealTalk.video_ref``, ``Clip.video_ref``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class VideoRef:
    id: str
    path: str
    member: str | None = None  # set when the video is a member of the tar at ``path``

    def source(self):
        if self.member is None:
            return Path(self.path)
        from .stores import TarStore

        return TarStore(Path(self.path)).read(self.member)

    @property
    def label(self) -> str:
        return f"{self.path}::{self.member}" if self.member else self.path
