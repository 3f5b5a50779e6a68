"""Input validation at the metric boundary (scikit-learn style: fail loudly, name the argument)."""

from __future__ import annotations

import numpy as np


def as_float_array(
    x,
    name: str,
    *,
    ndim: int | tuple[int, ...] | None = None,
    min_rows: int = 0,
    allow_empty: bool = False,
    dtype=np.float64,
) -> np.ndarray:
    """Convert ``x`` to a finite float array, raising ``ValueError`` that names ``name``.

    ``ndim`` may be an int or a tuple of accepted ranks; ``min_rows`` checks ``shape[0]``.
    """
    try:
        arr = np.asarray(x, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: expected a numeric array, got {type(x).__name__} ({exc})") from exc
    if ndim is not None:
        accepted = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in accepted:
            raise ValueError(f"{name}: expected {' or '.join(map(str, accepted))}-d array, got shape {arr.shape}")
    if arr.size == 0 and not allow_empty:
        raise ValueError(f"{name}: is empty (shape {arr.shape})")
    if arr.ndim >= 1 and arr.shape[0] < min_rows:
        raise ValueError(f"{name}: needs at least {min_rows} rows, got {arr.shape[0]}")
    if arr.size and not np.all(np.isfinite(arr)):
        bad = int(np.count_nonzero(~np.isfinite(arr)))
        raise ValueError(f"{name}: contains {bad} NaN/inf value(s)")
    return arr


def same_shape(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    if a.shape != b.shape:
        raise ValueError(f"{name_a} has shape {a.shape} but {name_b} has shape {b.shape}; they must match")


def same_dim(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(
            f"{name_a} has feature dimension {a.shape[-1]} but {name_b} has {b.shape[-1]}; they must match"
        )


def check_probability(p: float, name: str) -> float:
    if not 0.0 < float(p) < 1.0:
        raise ValueError(f"{name}: expected a value in (0, 1), got {p}")
    return float(p)


def resolve_rng(seed) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
