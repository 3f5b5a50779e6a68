"""Fetch exactly the files a task reads from the public release (``dyadbench download``).

Sources, as the official repository (facebookresearch/seamless_interaction, ``SeamlessInteractionFS``)
documents them:

* the per-file layout over HTTPS, ``https://dl.fbaipublicfiles.com/seamless_interaction/<label>/<split>/
  {smplh,movement,boxes_and_keypoints}/<feature>/<id>.npy``, ``audio/<id>.wav``, ``metadata/{transcript,vad}/<id>.jsonl``
  and the metadata tables at the top (``participants.csv``, ``relationships.csv``, ``interactions.csv``);
* the WebDataset tars of the Hugging Face dataset ``facebook/seamless-interaction``
  (``<label>/<split>/<batch:04d>/<archive:04d>.tar``) through ``huggingface_hub``, only when the task
  needs video.

Which ids: the rows of ``filelist.csv`` for the split. Each file is fetched into ``<name>.part`` and
renamed when whole; an interrupted transfer resumes with an HTTP Range request; sizes are checked
against the server's Content-Length and, where the server's ETag is an MD5 (S3 single-part
uploads), the content too: a file on disk of the wrong size or digest is fetched again. A 404 or
a file that stays wrong after retries raises ``DownloadError`` naming the URL.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import shutil
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .errors import DatasetError

FILES_BASE = "https://dl.fbaipublicfiles.com/seamless_interaction"
FILELIST_URL = "https://raw.githubusercontent.com/facebookresearch/seamless_interaction/main/assets/filelist.csv"
HF_REPO = "facebook/seamless-interaction"
METADATA_TABLES = ("participants.csv", "relationships.csv", "interactions.csv")
VALID_KEYS = ("smplh:is_valid", "movement:is_valid", "boxes_and_keypoints:is_valid_box")  # tiny; they time each group (fault checks)
AUDIO_METRICS = ("beat_consistency",)  # metrics that read the target's audio
CHUNK = 1 << 20
RETRIES = 3
_MD5 = re.compile(r'^"?([0-9a-f]{32})"?$')


class DownloadError(DatasetError):
    """A file of the release could not be fetched whole; names its URL."""


@dataclass
class Planned:
    url: str
    dest: Path
    size: int | None = None
    md5: str | None = None  # from an ETag that is an MD5
    optional: bool = False  # not every id has it (transcripts, the fault checks' masks): a 404 drops it


def task_files(task, fid: str, movement: bool = True) -> list[tuple[str, bool]]:
    """``(path under <label>/<split>/, optional)`` of every per-file-layout file ``task`` reads for
    one id; ``movement=False`` (filelist.csv's has_imitator_movement) leaves out movement features."""
    read = [*task.feature_keys, *([task.valid_key] if task.valid_key else [])]
    keys = {k: False for k in read} | {k: True for k in VALID_KEYS if k not in read}
    out = [(f"{k.split(':', 1)[0]}/{k.split(':', 1)[1]}/{fid}.npy", optional) for k, optional in keys.items()
           if movement or not k.startswith("movement:")]
    if any(m in task.metrics for m in AUDIO_METRICS):
        out.append((f"audio/{fid}.wav", False))
    return out + [(f"metadata/transcript/{fid}.jsonl", True), (f"metadata/vad/{fid}.jsonl", True)]


def read_filelist(source: str, dest: Path) -> pd.DataFrame:
    """The release's filelist.csv from a path or URL, kept at ``dest`` (the reader finds it there)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    if re.match(r"^https?://", source):
        fetch(Planned(source, dest, *_head(source)))
    elif Path(source).resolve() != dest.resolve():
        shutil.copyfile(source, dest)
    try:
        return pd.read_csv(dest, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, OSError, UnicodeDecodeError) as exc:
        raise DatasetError(dest, f"unreadable filelist.csv ({exc})") from exc


def plan_files(task, filelist: pd.DataFrame, split: str, to: Path, base: str = FILES_BASE, labels=None,
               limit: int | None = None) -> list[Planned]:
    rows = filelist[filelist["split"] == split]
    if labels:
        rows = rows[rows["label"].isin(labels)]
    rows = rows.drop_duplicates(["label", "file_id"])
    if limit:
        rows = rows.head(limit)
    planned = [Planned(f"{base}/{table}", to / "assets" / table, optional=True) for table in METADATA_TABLES]
    for r in rows.to_dict("records"):
        movement = str(r.get("has_imitator_movement", "True")).strip().lower() not in ("false", "0")
        label, fid = r["label"], r["file_id"]
        planned += [Planned(f"{base}/{label}/{split}/{rel}", to / label / split / rel, optional=optional)
                    for rel, optional in task_files(task, fid, movement)]
    return planned


def _head(url: str) -> tuple[int | None, str | None]:
    req = urllib.request.Request(url, method="HEAD")
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            size = r.headers.get("Content-Length")
            m = _MD5.match(r.headers.get("ETag", "") or "")
            return (int(size) if size else None), (m.group(1) if m else None)
    except urllib.error.HTTPError as exc:
        raise DownloadError(url, f"HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise DownloadError(url, f"cannot be reached ({getattr(exc, 'reason', exc)})") from exc


def sizes(planned: list[Planned], threads: int = 16) -> list[Planned]:
    """Content-Length and ETag of every planned file (HEAD requests). A 404 on an optional file
    (one the release does not have for every id) drops it from the plan; any other 404 raises."""

    def one(p: Planned):
        try:
            p.size, p.md5 = _head(p.url)
            return p
        except DownloadError as exc:
            if "HTTP 404" in exc.problem and p.optional:
                return None
            raise

    with ThreadPoolExecutor(threads) as pool:
        return [p for p in pool.map(one, planned) if p is not None]


def _md5(path: Path) -> str:
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def is_whole(p: Planned) -> bool:
    if not p.dest.is_file():
        return False
    if p.size is not None and p.dest.stat().st_size != p.size:
        return False
    return p.md5 is None or _md5(p.dest) == p.md5


def fetch(p: Planned) -> str:
    """Fetch one file (resuming a ``.part``); returns "kept", "fetched" or "resumed"."""
    if is_whole(p):
        return "kept"
    p.dest.parent.mkdir(parents=True, exist_ok=True)
    part = p.dest.with_name(p.dest.name + ".part")
    how = "fetched"
    for _ in range(RETRIES):
        offset = part.stat().st_size if part.exists() else 0
        if p.size is not None and offset > p.size:
            part.unlink()
            offset = 0
        req = urllib.request.Request(p.url, headers={"Range": f"bytes={offset}-"} if offset else {})
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                resumed = offset and r.status == 206
                how = "resumed" if resumed else how
                with open(part, "ab" if resumed else "wb") as out:
                    shutil.copyfileobj(r, out, CHUNK)
        except urllib.error.HTTPError as exc:
            if exc.code == 416 and p.size is not None and offset == p.size:
                pass  # the part is already whole: checked below
            else:
                raise DownloadError(p.url, f"HTTP {exc.code} {exc.reason}") from exc
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            if _ == RETRIES - 1:
                raise DownloadError(p.url, f"transfer failed ({getattr(exc, 'reason', exc)}); run again to resume") from exc
            continue  # the .part keeps what arrived: the next try resumes from there
        got = part.stat().st_size
        if p.size is not None and got < p.size:
            continue  # cut short: resume
        if (p.size is not None and got != p.size) or (p.md5 is not None and _md5(part) != p.md5):
            part.unlink()  # wrong bytes: start over
            how = "fetched"
            continue
        os.replace(part, p.dest)
        return how
    raise DownloadError(p.url, f"still not whole after {RETRIES} tries (expected {p.size} bytes"
                               + (f", MD5 {p.md5})" if p.md5 else ")"))


def fetch_all(planned: list[Planned], threads: int = 8, progress: Callable[[str, str], None] | None = None) -> dict[str, int]:
    counts: dict[str, int] = {}

    def one(p: Planned) -> str:
        how = fetch(p)
        if progress:
            progress(str(p.dest.name), how)
        return how

    with ThreadPoolExecutor(threads) as pool:
        for how in pool.map(one, planned):
            counts[how] = counts.get(how, 0) + 1
    return counts


def plan_tars(filelist: pd.DataFrame, split: str, labels=None) -> list[str]:
    """The Hugging Face dataset's tar paths that hold the split's ids (filelist batch/archive)."""
    rows = filelist[filelist["split"] == split]
    if labels:
        rows = rows[rows["label"].isin(labels)]
    keys = sorted({(r["label"], int(r["batch_idx"]), int(r["archive_idx"])) for r in rows.to_dict("records")})
    return [f"{label}/{split}/{batch:04d}/{archive:04d}.tar" for label, batch, archive in keys]


def fetch_tars(paths: list[str], to: Path, endpoint: str | None = None, progress=None) -> None:
    """Each tar through ``huggingface_hub`` (its own resuming and ETag checks), into ``to`` in the
    release's layout."""
    from huggingface_hub import hf_hub_download

    for path in paths:
        try:
            hf_hub_download(HF_REPO, path, repo_type="dataset", local_dir=to, endpoint=endpoint)
        except Exception as exc:  # huggingface_hub raises many kinds (HTTP, entry not found, offline)
            raise DownloadError(f"{endpoint or 'https://huggingface.co'}/datasets/{HF_REPO}/resolve/main/{path}",
                                f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from exc
        if progress:
            progress(path, "fetched")


def bytes_per_frame(task) -> int:
    """Bytes of the per-file layout ``task`` reads per 30 Hz frame of one participant (npy payloads:
    float32, bool masks; 48 kHz 16-bit mono audio where a metric reads it). Headers and jsonl are
    a few KB a file and left out."""
    import numpy as np

    from .seamless_format import AUDIO_SAMPLE_RATE, FEATURE_FPS, NPZ_SPEC

    read = [*task.feature_keys, *([task.valid_key] if task.valid_key else [])]
    total = 0
    for key in dict.fromkeys([*read, *VALID_KEYS]):
        shape, kind = NPZ_SPEC[key]
        total += int(np.prod(shape or (1,))) * (1 if kind == "b" else 4)
    if any(m in task.metrics for m in AUDIO_METRICS):
        total += int(AUDIO_SAMPLE_RATE * 2 / FEATURE_FPS)
    return total
