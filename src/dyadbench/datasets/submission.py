"""Submission files: read and validate before any heavy work; write (used by baselines too).

* motion: ``<dir>/<item_id>.npz`` with the task's keys, each (N, ...) at the ground truth's
  frame rate and length, or (M, N, ...) for M samples;
* video: ``<dir>/<item_id>.mp4`` at 30 (29.97) fps with the ground truth's frame count (±2);
* retrieval: ``<dir>/scores.npz`` with ``scores`` (queries, bank), ``query_ids``, ``bank_ids``.

Every problem raises ``SubmissionError`` naming the file and what was expected; ids are checked
for missing, extra and duplicate entries first, so a bad submission fails in seconds.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

from . import media
from .errors import DatasetError

MOTION_EXT, VIDEO_EXT, SCORES_FILE = ".npz", ".mp4", "scores.npz"


class SubmissionError(DatasetError):
    """A submission file is missing, extra, duplicated or malformed."""


def submission_ids(folder: Path, ext: str, expected: list[str], ignore=()) -> dict[str, Path]:
    """``{item id: file}`` after checking for missing, extra and duplicate ids (file names only).

    Files for ``ignore`` ids (items the task excludes because of a dataset fault) are not an error
    and not read: a submission made for every id of the split is not blamed for the data's faults."""
    folder = Path(folder)
    if not folder.is_dir():
        raise SubmissionError(folder, "submission folder does not exist")
    files: dict[str, list[Path]] = {}
    for path in folder.iterdir():
        if path.suffix.lower() == ext:
            files.setdefault(path.stem.lower(), []).append(path)
    dups = sorted(str(p) for paths in files.values() if len(paths) > 1 for p in paths)
    if dups:
        raise SubmissionError(folder, f"duplicate ids (same id, several files): {dups[:6]}")
    by_id = {paths[0].stem: paths[0] for paths in files.values()}
    missing = sorted(set(expected) - set(by_id))
    extra = sorted(set(by_id) - set(expected) - set(ignore))
    by_id = {k: v for k, v in by_id.items() if k not in set(ignore) or k in set(expected)}
    if missing:
        raise SubmissionError(folder, f"{len(missing)} missing item(s), e.g. {[m + ext for m in missing[:5]]}")
    if extra:
        raise SubmissionError(folder, f"{len(extra)} unexpected item(s) not in the task's split, e.g. {[e + ext for e in extra[:5]]}")
    return by_id


def _check_motion_shapes(path: Path, shapes: dict[str, tuple], keys, per_frame_shapes, n_frames: int) -> int:
    """The sample count M of one item after checking its arrays' shapes (headers or arrays)."""
    samples = []
    for key in keys:
        if key not in shapes:
            raise SubmissionError(path, f"missing key {key!r}; expected keys {list(keys)}")
        arr_shape, shape = tuple(shapes[key]), tuple(per_frame_shapes[key])
        lead = arr_shape[: len(arr_shape) - len(shape)]
        if arr_shape[len(arr_shape) - len(shape):] != shape or len(lead) not in (1, 2):
            raise SubmissionError(path, f"key {key!r}: expected shape (N, {', '.join(map(str, shape))}) or (M, N, ...), got {arr_shape}")
        if lead[-1] != n_frames:
            raise SubmissionError(path, f"key {key!r}: {lead[-1]} frames, expected {n_frames} (30 Hz, the ground truth's length) — wrong fps or length?")
        samples.append(lead[0] if len(lead) == 2 else 1)
        if samples[-1] == 0:
            raise SubmissionError(path, f"key {key!r}: shape {arr_shape} holds 0 samples; expected (N, ...) or (M, N, ...) with M ≥ 1")
    if len(set(samples)) != 1:
        raise SubmissionError(path, f"keys disagree on the number of samples: {samples}")
    return samples[0]


def _check_motion_dtype(path: Path, key: str, dtype) -> None:
    """Motion is real floating point: integers (a quantised or index array) and complex values (whose
    imaginary part a cast would drop) are refused, naming the file and key."""
    if not np.issubdtype(np.dtype(dtype), np.floating):
        raise SubmissionError(path, f"key {key!r}: expected real floating-point values (float16/32/64), got dtype {dtype}")


def check_motion_submission(folder: Path, keys: tuple[str, ...], per_frame_shapes: dict[str, tuple],
                            frames: dict[str, int], ignore=()) -> dict[str, Path]:
    """Ids, keys, shapes, frame counts and sample counts of every item from the npy headers alone
    (no array data read): a bad submission fails in seconds, before any scoring."""
    from .seamless_format import npz_headers

    paths = submission_ids(folder, MOTION_EXT, list(frames), ignore)
    counts: dict[int, list[str]] = {}
    for item_id, path in sorted(paths.items()):
        try:
            with open(path, "rb") as f:
                headers = npz_headers(f, str(path))
        except DatasetError as exc:
            raise SubmissionError(path, f"not a readable npz ({exc.problem})") from exc
        except OSError as exc:  # a symlink loop, a dangling link, a file that vanished or cannot be read
            raise SubmissionError(path, f"cannot be opened ({exc.strerror or exc})") from exc
        m = _check_motion_shapes(path, {k: v[0] for k, v in headers.items()}, keys, per_frame_shapes, frames[item_id])
        for key in keys:
            _check_motion_dtype(path, key, headers[key][1])
        counts.setdefault(m, []).append(item_id)
    if len(counts) > 1:  # metrics over samples would weigh items unequally: refuse, never mix silently
        detail = "; ".join(f"{m} sample(s): {len(ids)} item(s), e.g. {paths[ids[0]].name}" for m, ids in sorted(counts.items()))
        raise SubmissionError(folder, f"every item must have the same number of samples M (arrays (M, N, ...)); got {detail}")
    return paths


def read_motion_item(path: Path, keys: tuple[str, ...], per_frame_shapes: dict[str, tuple], n_frames: int) -> np.ndarray:
    """One item's (M, N, D) float64: the keys' per-frame arrays flattened and concatenated."""
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (zipfile.BadZipFile, EOFError, ValueError, OSError) as exc:
        raise SubmissionError(path, f"not a readable npz ({exc})") from exc
    m = _check_motion_shapes(path, {k: v.shape for k, v in arrays.items()}, keys, per_frame_shapes, n_frames)
    parts = []
    for key in keys:
        arr = arrays[key]
        _check_motion_dtype(path, key, arr.dtype)
        arr = arr.astype(np.float64).reshape(m, n_frames, -1)
        if not np.isfinite(arr).all():
            raise SubmissionError(path, f"key {key!r}: {int((~np.isfinite(arr)).sum())} NaN/inf value(s)")
        parts.append(arr)
    return np.concatenate(parts, axis=2)


def read_motion_submission(folder: Path, keys: tuple[str, ...], per_frame_shapes: dict[str, tuple],
                           frames: dict[str, int]) -> dict[str, np.ndarray]:
    """``{item_id: (M, N, D) float64}`` of every item (small sets; evaluation reads item by item)."""
    paths = check_motion_submission(folder, keys, per_frame_shapes, frames)
    return {i: read_motion_item(p, keys, per_frame_shapes, frames[i]) for i, p in sorted(paths.items())}


def write_motion_submission(folder: Path, item_id: str, arrays: dict[str, np.ndarray]) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    np.savez(buf, **{k: np.asarray(v, np.float32) for k, v in arrays.items()})
    path = folder / f"{item_id}{MOTION_EXT}"
    path.write_bytes(buf.getvalue())
    return path


def check_decoded_frames(path: Path, decoded: int, tolerance: int = 2) -> None:
    """A video must decode the frames its header promises: a file cut short keeps its header (with
    the index at the front, "faststart") and decodes only part of them, which would be scored."""
    from .media import probe_video

    promised = probe_video(path).frames
    if decoded < promised - tolerance:
        raise SubmissionError(path, f"header promises {promised} frames but only {decoded} decode: the file is cut short "
                                    f"or damaged (re-encode or re-copy it)")


def read_video_submission(folder: Path, frames: dict[str, int], tolerance: int = 2, ignore=()) -> dict[str, Path]:
    """Paths of the submitted videos after checking fps and length against the ground truth."""
    paths = submission_ids(folder, VIDEO_EXT, list(frames), ignore)
    for item_id, path in paths.items():
        info = media.probe_video(path)
        if not any(abs(info.fps - f) < 0.01 for f in (30.0, 30000 / 1001)):
            raise SubmissionError(path, f"frame rate {info.fps:.3f} fps, expected 30 or 29.97")
        if abs(info.frames - frames[item_id]) > tolerance:
            raise SubmissionError(path, f"{info.frames} frames, expected {frames[item_id]} ± {tolerance}")
    return paths


def read_retrieval_goals(folder: Path, query_ids: list[str], bank_ids: list[str],
                        goals: tuple[str, ...] = ("appropriate",)) -> dict[str, np.ndarray]:
    """``{goal: (queries, bank) scores}``, rows and columns in the protocol's id order.

    ``scores`` is the first goal's matrix (``scores_<first goal>`` is the same, not both); other
    goals are ``scores_<goal>``. A goal the submission leaves out is not scored; an array for a goal
    the task does not declare is refused."""
    path = Path(folder) / SCORES_FILE if Path(folder).is_dir() else Path(folder)
    if not path.exists():
        raise SubmissionError(path, f"missing {SCORES_FILE} (arrays scores, query_ids, bank_ids)")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (zipfile.BadZipFile, EOFError, ValueError, OSError) as exc:
        raise SubmissionError(path, f"not a readable npz ({exc})") from exc
    for key in ("query_ids", "bank_ids"):
        if key not in arrays:
            raise SubmissionError(path, f"missing array {key!r}; expected scores, query_ids, bank_ids")
    matrices = {k.removeprefix("scores_"): v for k, v in arrays.items() if k.startswith("scores_")}
    if "scores" in arrays:
        if goals[0] in matrices:
            raise SubmissionError(path, f"both 'scores' and 'scores_{goals[0]}': they name the same goal; keep one")
        matrices[goals[0]] = arrays["scores"]
    unknown = sorted(set(matrices) - set(goals))
    if unknown:
        raise SubmissionError(path, f"scores for undeclared goal(s) {unknown}; the task's goals are {list(goals)}")
    if not matrices:
        raise SubmissionError(path, f"no score matrix: expected 'scores' or 'scores_<goal>' for goals {list(goals)}")
    q, b = [str(x) for x in arrays["query_ids"]], [str(x) for x in arrays["bank_ids"]]
    for name, got, want in (("query_ids", q, query_ids), ("bank_ids", b, bank_ids)):
        if len(set(got)) != len(got):
            raise SubmissionError(path, f"{name}: duplicate ids")
        if set(got) != set(want):
            missing, extra = sorted(set(want) - set(got)), sorted(set(got) - set(want))
            raise SubmissionError(path, f"{name}: {len(missing)} missing (e.g. {missing[:3]}), {len(extra)} unexpected (e.g. {extra[:3]})")
    qi, bi = {x: i for i, x in enumerate(q)}, {x: i for i, x in enumerate(b)}
    out = {}
    for goal in goals:
        if goal not in matrices:
            continue
        scores, key = matrices[goal], "scores" if goal == goals[0] and "scores" in arrays else f"scores_{goal}"
        if scores.shape != (len(q), len(b)):
            raise SubmissionError(path, f"{key}: expected shape ({len(q)}, {len(b)}), got {scores.shape}")
        if not np.issubdtype(scores.dtype, np.number) or not np.isfinite(scores).all():
            raise SubmissionError(path, f"{key}: {int((~np.isfinite(scores)).sum()) if np.issubdtype(scores.dtype, np.number) else 'non-numeric'} NaN/inf value(s)")
        out[goal] = scores[np.ix_([qi[x] for x in query_ids], [bi[x] for x in bank_ids])].astype(np.float64)
    if goals[0] not in out:
        raise SubmissionError(path, f"no scores for the reference goal {goals[0]!r} ('scores' or 'scores_{goals[0]}')")
    return out


def read_retrieval_submission(folder: Path, query_ids: list[str], bank_ids: list[str]) -> np.ndarray:
    """(queries, bank) scores of the (first) goal, rows and columns in the protocol's id order."""
    return next(iter(read_retrieval_goals(folder, query_ids, bank_ids).values()))


def write_retrieval_submission(folder: Path, scores: np.ndarray | dict, query_ids: list[str], bank_ids: list[str]) -> Path:
    """``scores``: one matrix (``scores``), or ``{goal: matrix}`` (one ``scores_<goal>`` array each)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / SCORES_FILE
    arrays = ({f"scores_{g}": np.asarray(m, np.float32) for g, m in scores.items()} if isinstance(scores, dict)
              else {"scores": np.asarray(scores, np.float32)})
    np.savez(path, **arrays, query_ids=np.asarray(query_ids), bank_ids=np.asarray(bank_ids))
    return path
