"""Result folders written all-or-nothing, one writer at a time.

``result_folder(out)`` locks ``out`` (a ``<out>.lock`` file holding the writer's pid and host; a
second run refuses to start while the first is alive, a lock left by a dead process is taken
over), hands out a fresh temporary folder beside ``out`` to write into, and only when the block
finishes swaps it into place. ``report.json`` and ``report.html`` therefore always come from the
same run: an interrupted run leaves the previous complete result (or nothing), never a mix.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class OutputBusy(RuntimeError):
    """Another live process is writing the same output folder."""


def check_writable(out: Path) -> None:
    """Fail before any heavy work when ``out`` cannot be written (its nearest existing parent)."""
    out = Path(out).absolute()
    parent = next((p for p in [out, *out.parents] if p.exists()), None)
    if parent is None or not os.access(parent, os.W_OK):
        raise PermissionError(f"{out}: cannot write results here (no write permission on {parent})")
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"{out}: exists and is not a folder")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def _lock(out: Path) -> Iterator[None]:
    lock = out.with_name(out.name + ".lock")
    me = {"pid": os.getpid(), "host": socket.gethostname()}
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                owner = json.loads(lock.read_text())
            except (OSError, ValueError):
                owner = {}
            if owner.get("host") == me["host"] and isinstance(owner.get("pid"), int) and not _alive(owner["pid"]):
                lock.unlink(missing_ok=True)  # left by a process that died: take it over
                continue
            raise OutputBusy(f"{out}: another run (pid {owner.get('pid', '?')} on {owner.get('host', '?')}) is writing here; "
                             f"wait for it, or delete {lock} if that run is gone") from None
        with os.fdopen(fd, "w") as f:
            json.dump(me, f)
        break
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)


@contextmanager
def result_folder(out: Path) -> Iterator[Path]:
    """Lock ``out``, yield a temporary folder to fill, then put it in place of ``out`` as a whole."""
    out = Path(out)
    check_writable(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with _lock(out):
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
        try:
            yield tmp
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        old = None
        if out.exists():
            old = out.with_name(f".{out.name}.previous-{os.getpid()}")
            os.rename(out, old)
        os.rename(tmp, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
