"""Native (C++) log lines of third-party libraries — MediaPipe, TFLite, absl, glog — go to a log
file instead of the terminal, where they would land inside progress bars.

They are written straight to file descriptor 2, below Python, so they cannot be filtered: fd 2 is
pointed at ``<cache>/logs/native.log`` while Python's ``sys.stderr`` keeps the terminal (a
duplicate of the original fd 2). Worker processes inherit the redirection. ``--verbose`` leaves
everything on the terminal.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from .storage import cache_dir

_SAVED: dict = {}


def log_path() -> Path:
    return cache_dir() / "logs" / "native.log"


def silence() -> Path | None:
    """Redirect fd 2 to the log file (once); returns its path, or None when stderr is not the real one."""
    if _SAVED or sys.stderr is not sys.__stderr__:  # already done, or captured (tests): leave it alone
        return None
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        path = log_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        log = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        sys.stderr.flush()
        terminal = os.dup(2)
    except OSError:
        return None  # no writable cache: keep the lines rather than fail
    os.dup2(log, 2)
    os.close(log)
    _SAVED.update(fd=terminal, stderr=sys.stderr)
    sys.stderr = os.fdopen(terminal, "w", buffering=1, closefd=False)
    return path


def restore() -> None:
    if not _SAVED:
        return
    sys.stderr.flush()
    os.dup2(_SAVED["fd"], 2)
    os.close(_SAVED["fd"])
    sys.stderr = _SAVED["stderr"]
    _SAVED.clear()
