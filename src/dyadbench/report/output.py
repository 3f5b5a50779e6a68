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


class OutputRefused(ValueError):
    """The output folder holds what dyadbench did not write, or holds the inputs: never replaced."""


MARKER = ".dyadbench-result"  # written into every result folder: only such a folder is ever replaced
_LEGACY_FILES = {"report.json", "report.html"}  # what a result folder held before the marker existed


def is_result_folder(path: Path) -> bool:
    """Whether ``path`` is a folder dyadbench wrote as a result (its marker; or, from older versions,
    only report.json with our schema and report.html)."""
    path = Path(path)
    if (path / MARKER).is_file():
        return True
    names = {p.name for p in path.iterdir()}
    if not names or not names <= _LEGACY_FILES or "report.json" not in names:
        return False
    try:
        return json.loads((path / "report.json").read_text()).get("schema", "").startswith("dyadbench.report/")
    except (OSError, ValueError, AttributeError):
        return False


def check_replaceable(out: Path, protect=()) -> None:
    """Refuse an ``out`` that would remove what dyadbench did not write: an existing folder that is
    not a dyadbench result (empty folders excepted), or one equal to, inside or holding a
    protected path (the dataset, the submission, the cache)."""
    out = Path(out).absolute()
    check_replaceable_inputs(out, protect)
    if out.exists() and out.is_dir() and any(out.iterdir()) and not is_result_folder(out):
        raise OutputRefused(f"{out}: exists and is not a dyadbench result folder (no {MARKER} in it); dyadbench "
                            "replaces only folders it wrote: choose another --out")


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


def _remove_leftovers(out: Path) -> None:
    """What a killed run left beside ``out``: its ``.<name>.partial-*`` folder (with its scratch
    files) or a ``.<name>.previous-*`` one. Only runs holding ``out``'s lock create these, and we
    hold it now, so any that exist belong to a run that is gone."""
    for pattern in (f".{out.name}.partial-*", f".{out.name}.previous-*"):
        for path in out.parent.glob(pattern):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)


def scratch_folder(tmp: Path) -> Path:
    """A folder for a run's temporary files (spilled item statistics) inside its partial result
    folder: a killed run's files go with its partial folder; ``result_folder`` removes it before
    the result is put in place."""
    path = Path(tmp) / ".scratch"
    path.mkdir(exist_ok=True)
    return path


@contextmanager
def result_folder(out: Path, protect=()) -> Iterator[Path]:
    """Lock ``out``, yield a temporary folder to fill, then put it in place of ``out`` as a whole.

    An existing ``out`` is replaced only when it is a dyadbench result folder (``check_replaceable``):
    a folder the user named for something else is refused before any work, never removed."""
    out = Path(out)
    if not out.name or out.resolve() == Path.cwd().resolve():
        raise OutputRefused(f"{out}: name a folder of its own for the results, not the current folder")
    check_writable(out)
    check_replaceable(out, protect)
    out.parent.mkdir(parents=True, exist_ok=True)
    with _lock(out):
        check_replaceable(out, protect)  # again under the lock: another process may have filled it
        _remove_leftovers(out)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-{os.getpid()}-", dir=out.parent))
        try:
            yield tmp
            shutil.rmtree(tmp / ".scratch", ignore_errors=True)
            (tmp / MARKER).write_text(json.dumps({"written_by": "dyadbench", "pid": os.getpid()}))
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


GENERATOR = "<meta name='generator' content='dyadbench'>"


def write_report_file(path: Path, text: str) -> None:
    """Write one report file (leaderboard --html, --csv): an existing file is replaced only when
    dyadbench wrote it (its generator tag); anything else is refused, naming it."""
    path = Path(path)
    if path.is_dir():
        raise OutputRefused(f"{path}: is a folder; give a file name for the page")
    if path.exists():
        try:
            head = path.read_text(errors="replace")[:4096]
        except OSError:
            head = ""
        if GENERATOR not in head:
            raise OutputRefused(f"{path}: exists and was not written by dyadbench; never overwritten: choose another file")
    tmp = path.with_name(f".{path.name}.partial-{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


def claim_folder(out: Path, kind: str, *, legacy_names=(), legacy_suffixes=(), protect=()) -> Path:
    """A folder a command writes into (a submission, a training run, a study export, the demo):
    created when absent; an existing one is written into only when it is empty, carries the
    marker (dyadbench wrote it), or holds nothing but what this command writes (a folder from
    before the marker: ``legacy_names`` / ``legacy_suffixes``). Anything else is refused, naming
    it, before any work; ``out`` equal to, inside or holding an input (``protect``) too."""
    out = Path(out)
    if not out.name or out.resolve() == Path.cwd().resolve():
        raise OutputRefused(f"{out}: name a folder of its own for the {kind}, not the current folder")
    check_replaceable_inputs(out, protect)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"{out}: exists and is not a folder")
    if out.is_dir() and not (out / MARKER).is_file():
        names = [p.name for p in out.iterdir()]
        foreign = [n for n in names if n not in legacy_names and not n.endswith(tuple(legacy_suffixes)) and n != MARKER]
        if foreign:
            raise OutputRefused(f"{out}: exists and holds what dyadbench did not write (e.g. {sorted(foreign)[:3]}); "
                                f"the {kind} needs a folder of its own: choose another --out")
    check_writable(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text(json.dumps({"written_by": "dyadbench", "kind": kind}))
    return out


def check_replaceable_inputs(out: Path, protect=()) -> None:
    out = Path(out).absolute()
    for p in protect:
        if p is None:
            continue
        p = Path(p).absolute()
        if out == p or p in out.parents or out in p.parents:
            raise OutputRefused(f"{out}: --out must not be, contain or lie inside {p} (an input of this command); "
                                "choose a folder of its own")
