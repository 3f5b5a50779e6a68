"""Fréchet distances of the motion tasks, item by item: FD on frames (FFD / FGD), on
[partner ‖ generated] frames (paired FD) and on velocities (FD_k).

Each set-level FD is ``*_finish(Σ_i *_item_stats(item_i))``: an item contributes the Gaussian
sums of its generated frames and of its true frames (``streaming.gaussian_sums``). The true
frames' half depends on the dataset alone (``*_reference_sums``): the streamed evaluation computes it
once per item and data and hands it back as ``reference_part`` (``Streaming.reference_part``), so
a later evaluation of the same data multiplies only the generated side. Inputs as in
``metrics.motion``.
"""

from __future__ import annotations

import numpy as np

from .frechet import frechet_distance, frechet_distance_from_features
from .item_memo import shared_array
from .streaming import (
    gaussian_from_sums,
    gaussian_sums,
    gaussian_sums_dim,
    gaussian_sums_head,
    gaussian_sums_joined,
    gaussian_sums_size,
    known_or_computed,
)

SUMS = "the true frames' Gaussian sums"
NO_VALUE = float("nan")  # an item the metric cannot score (reported as items_without_value)


def _first(generated) -> np.ndarray:
    return np.asarray(generated)[0]


# --- Fréchet distances -------------------------------------------------------------------------

def _pooled(series, valid) -> tuple[np.ndarray, np.ndarray]:
    """Valid frames of all items stacked, and the item index of each frame (the resampling unit)."""
    frames = np.concatenate([np.asarray(x)[v] for x, v in zip(series, valid)])
    items = np.concatenate([np.full(int(np.sum(v)), i) for i, v in enumerate(valid)])
    return frames, items


def _paired(generated, reference, partner):
    return ([np.hstack([p, _first(g)]) for g, p in zip(generated, partner)],
            [np.hstack([p, r]) for r, p in zip(reference, partner)])


def _samples(generated, samples: str) -> np.ndarray:
    """The item's samples a convention scores: (1, N, D) for ``"first"``, (M, N, D) for ``"all"``."""
    g = np.asarray(generated)
    if samples not in ("first", "all"):
        raise ValueError(f"samples: expected 'first' or 'all', got {samples!r}")
    return g[:1] if samples == "first" else g


def fd_reference_sums(reference, valid, mean) -> np.ndarray:
    """Gaussian sums of one item's valid true frames, shifted by ``mean``: the half of
    ``fd_item_stats`` that depends on the dataset alone (one copy of the ground truth)."""
    return gaussian_sums(np.asarray(reference)[np.asarray(valid)], mean)


def fd_item_stats(generated, reference, valid, mean, *, samples: str = "first", reference_part=None) -> np.ndarray:
    """One item's additive Fréchet statistics: Gaussian sums of its valid generated and true
    frames, shifted by ``mean`` (the ground truth's mean; see ``streaming.gaussian_sums``).

    ``samples="first"`` scores sample 0. ``samples="all"`` pools the valid frames of all M
    samples against the ground truth repeated M times, as Audio2Photoreal's ``utils/eval.py``
    does (its ``gt`` is stored once per sample): the reference sums are M times one copy's.
    ``reference_part``: ``fd_reference_sums`` of this item, when already known (not recomputed)."""
    g = _samples(generated, samples)
    if len(g) == 1:
        gen = _first_sums(generated, valid, mean)
    else:
        gen = gaussian_sums(g[:, np.asarray(valid)].reshape(-1, g.shape[-1]), mean)
    ref = known_or_computed(reference_part, lambda: fd_reference_sums(reference, valid, mean), len(gen), SUMS)
    return np.concatenate([gen, len(g) * ref])


def _first_sums(generated, valid, mean) -> np.ndarray:
    """Gaussian sums of sample 0's valid frames, shifted by ``mean``: FFD's generated half and paired
    FD's generated block, made once per item (``item_memo``)."""
    return shared_array("Gaussian sums of sample 0's valid frames", (generated, valid, mean), None,
                        lambda: gaussian_sums(_first(generated)[np.asarray(valid)], mean))


def fd_finish(stats, mean, *, exact: bool = True) -> float:
    """FD between the two Gaussians of summed ``fd_item_stats`` (NaN with fewer than 2 frames a side)."""
    stats = np.asarray(stats, np.float64)
    half = len(stats) // 2
    if stats[0] < 2 or stats[half] < 2:  # the frame counts of each side
        return NO_VALUE
    _, mu_g, cov_g = gaussian_from_sums(stats[:half], mean)
    _, mu_r, cov_r = gaussian_from_sums(stats[half:], mean)
    return frechet_distance(mu_g, cov_g, mu_r, cov_r, exact=exact)


def _shift(reference, valid) -> np.ndarray:
    return _pooled(reference, valid)[0].mean(0) if any(np.any(v) for v in valid) else np.zeros(np.asarray(reference[0]).shape[1])


def fd_set(generated, reference, valid, *, samples: str = "first") -> float:
    """FD between the pooled valid frames of every item (sample 0, or all samples) and of the ground truth.

    Computed as ``fd_finish(Σ_i fd_item_stats(item_i))``: the same functions the streaming
    evaluation sums item by item."""
    shift = _shift(reference, valid)
    return fd_finish(sum(fd_item_stats(g, r, v, shift, samples=samples) for g, r, v in zip(generated, reference, valid)),
                     shift)


def fd_set_rows(generated, reference, valid, *, samples: str = "first"):
    """Pooled valid rows of the scored samples with each row's item index, and the reference rows
    (repeated once per sample, as ``fd_item_stats`` counts them) with theirs: what the delta
    method of ``fd_set`` needs when it runs on frames (``Convention.frechet_rows``)."""
    gen, ref, gen_items, ref_items = [], [], [], []
    for i, (g, r, v) in enumerate(zip(generated, reference, valid)):
        g, v = _samples(g, samples), np.asarray(v)
        rows = g[:, v].reshape(-1, g.shape[-1])
        gen.append(rows)
        ref.append(np.tile(np.asarray(r)[v], (len(g), 1)))
        gen_items.append(np.full(len(rows), i))
        ref_items.append(np.full(len(ref[-1]), i))
    return np.concatenate(gen), np.concatenate(gen_items), np.concatenate(ref), np.concatenate(ref_items)


def fd_item(generated, reference, valid) -> float:
    """FD of one clip's frames against its own ground truth (LM-listener's and DIM's per-clip "fid")."""
    v = np.asarray(valid)
    return frechet_distance_from_features(_first(generated)[v], np.asarray(reference)[v]) if v.sum() >= 2 else NO_VALUE


def paired_fd_reference_sums(reference, partner, valid, mean) -> np.ndarray:
    """Gaussian sums of one item's valid [partner ‖ ground truth] frames (shift [mean ‖ mean]): the
    half of ``paired_fd_item_stats`` that depends on the dataset alone."""
    v = np.asarray(valid)
    head = np.asarray(partner, np.float64)[v] - mean
    return gaussian_sums_joined(gaussian_sums(head, 0.0), head, np.asarray(reference)[v], mean)


def paired_fd_item_stats(generated, reference, partner, valid, mean, *, reference_part=None) -> np.ndarray:
    """``fd_item_stats`` of [partner ‖ generated] vs [partner ‖ ground truth] frames.

    Both sides share the partner's block: the generated side takes it from the reference side's
    sums and multiplies only the partner–generated and generated blocks."""
    v = np.asarray(valid)
    head = np.asarray(partner, np.float64)[v] - mean
    d = head.shape[1]
    ref = known_or_computed(reference_part, lambda: paired_fd_reference_sums(reference, partner, valid, mean),
                            gaussian_sums_size(2 * d), SUMS)
    gen = gaussian_sums_joined(gaussian_sums_head(ref, d), head, _first(generated)[v], mean,
                               tail_sums=_first_sums(generated, valid, mean))
    return np.concatenate([gen, ref])


def paired_fd_finish(stats, mean, *, exact: bool = True) -> float:
    return fd_finish(stats, np.concatenate([mean, mean]), exact=exact)


def paired_fd_set(generated, reference, partner, valid) -> float:
    """FD on pooled [partner ‖ generated] vs [partner ‖ ground truth] frames (Learning2Listen's P-FD)."""
    gen, ref = _paired(generated, reference, partner)
    return fd_set([g[None] for g in gen], ref, valid)


def paired_fd_item(generated, reference, partner, valid) -> float:
    """Paired FD of one clip ([speaker ‖ listener], LM-listener's "fid2", DIM's "pfid")."""
    gen, ref = _paired([generated], [reference], [partner])
    return fd_item(gen[0][None], ref[0], valid)


def _velocities(series, valid, fps):
    """Frame differences within each series (``fps=None``), or velocities per second (× fps)."""
    out, keep = [], []
    for x, v in zip(series, valid):
        v = np.asarray(v)
        d = np.diff(np.asarray(x), axis=-2)  # along frames: (N, D) or (M, N, D)
        out.append(d if fps is None else d * fps)
        keep.append(v[1:] & v[:-1])  # a velocity needs both of its frames valid
    return out, keep


def fd_kinetic_reference_sums(reference, valid, fps, *, per_second: bool = True) -> np.ndarray:
    """Gaussian sums (shift 0) of one item's true velocities: the half of ``fd_kinetic_item_stats``
    that depends on the dataset alone (one copy of the ground truth)."""
    r, keep = _velocities([reference], [valid], fps if per_second else None)
    return gaussian_sums(r[0][keep[0]], 0.0)


def fd_kinetic_item_stats(generated, reference, valid, fps, *, per_second: bool = True,
                          samples: str = "first", reference_part=None) -> np.ndarray:
    """``fd_item_stats`` of one item's velocities (shift 0: velocities are centred near zero).

    ``per_second=True``: differences × fps (units per second, comparable across frame rates);
    ``per_second=False``: plain frame differences, as Audio2Photoreal's ``utils/eval.py`` takes them."""
    g, keep = _velocities([_samples(generated, samples)], [valid], fps if per_second else None)
    d = g[0].shape[-1]
    ref = known_or_computed(reference_part, lambda: fd_kinetic_reference_sums(reference, valid, fps, per_second=per_second),
                            gaussian_sums_size(d), SUMS)
    return fd_item_stats(g[0], None, keep[0], np.zeros(d), samples="all", reference_part=ref)


def fd_kinetic_finish(stats, *, exact: bool = True) -> float:
    return fd_finish(stats, np.zeros(gaussian_sums_dim(len(stats) // 2)), exact=exact)


def fd_kinetic_set(generated, reference, valid, fps, *, per_second: bool = True, samples: str = "first") -> float:
    """FD on frame-to-frame velocities (FD_k), pooled over items: per second (dyadbench) or as
    plain frame differences of every sample (Audio2Photoreal)."""
    return fd_kinetic_finish(sum(fd_kinetic_item_stats(g, r, v, fps, per_second=per_second, samples=samples)
                                 for g, r, v in zip(generated, reference, valid)))
