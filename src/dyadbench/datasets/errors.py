"""Errors and skip reports for dataset files: always name the file and what was expected."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class DatasetError(ValueError):
    """A dataset file does not match the released layout; the message names the file."""

    def __init__(self, path: str | Path, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{path}: {problem}")

    def __reduce__(self):  # raised in worker processes: must survive pickling with both arguments
        return type(self), (self.path, self.problem)


@dataclass(frozen=True)
class Skip:
    """A file or record left out of a dataset view, with the reason (shown by ``data inspect``)."""

    path: str
    reason: str
