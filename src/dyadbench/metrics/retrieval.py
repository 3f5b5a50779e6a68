r"""Retrieval metrics for goal-conditioned listener retrieval (RealTalk, Geng et al. 2023).

For query q with scores s_q ∈ ℝ^B over a bank of B candidates (higher = better match) and true
index g_q, the 1-based rank is

.. math::  r_q = 1 + \#\{j : s_{qj} > s_{qg}\} + \#\{j \ne g : s_{qj} = s_{qg}\}

i.e. **ties count against the method** (pessimistic rank), so constant scores give rank B rather
than an arbitrary position from sort order. Recall@k = mean_q [r_q ≤ k]; median rank =
median_q r_q; MRR = mean_q 1/r_q. Under random scores r is uniform on {1..B}, so
E[R@k] = k/B: 500/1896 ≈ 0.264, 1000/1896 ≈ 0.527, median ≈ 948.5 (the published chance row).
"""

from __future__ import annotations

import numpy as np

from ._validation import as_float_array

__all__ = ["GOAL_DIRECTIONS", "RELEASE_BANK", "chance_recall_at_k", "delta_median_rank", "k_for_bank", "mean_rank", "median_rank", "moved_share", "mrr", "recall_at_k", "recall_at_k_for_bank", "retrieval_ranks"]


def retrieval_ranks(scores, gt_index) -> np.ndarray:
    """1-based rank of each query's true candidate; ``scores`` is (queries, bank)."""
    scores = as_float_array(scores, "scores", ndim=2)
    gt = np.asarray(gt_index)
    if gt.ndim != 1 or gt.shape[0] != scores.shape[0]:
        raise ValueError(f"gt_index: expected shape ({scores.shape[0]},) for {scores.shape[0]} queries, got {gt.shape}")
    if not np.issubdtype(gt.dtype, np.integer):
        raise ValueError(f"gt_index: expected integer indices, got dtype {gt.dtype}")
    if gt.size and (gt.min() < 0 or gt.max() >= scores.shape[1]):
        raise ValueError(f"gt_index: indices must lie in [0, {scores.shape[1]}), got [{gt.min()}, {gt.max()}]")
    true_scores = scores[np.arange(scores.shape[0]), gt][:, None]
    better = (scores > true_scores).sum(axis=1)
    ties = (scores == true_scores).sum(axis=1) - 1  # the true item itself is not a tie
    return (1 + better + ties).astype(np.int64)


def _ranks(ranks) -> np.ndarray:
    r = np.asarray(ranks)
    if r.ndim != 1 or r.size == 0:
        raise ValueError(f"ranks: expected a non-empty 1-d array, got shape {r.shape}")
    if not np.issubdtype(r.dtype, np.integer) or r.min() < 1:
        raise ValueError("ranks: expected positive integer (1-based) ranks")
    return r


def recall_at_k(ranks, k: int) -> float:
    """Fraction of queries whose true item is within the top ``k``."""
    if int(k) < 1:
        raise ValueError(f"k: expected a positive integer, got {k}")
    return float(np.mean(_ranks(ranks) <= int(k)))


def median_rank(ranks) -> float:
    return float(np.median(_ranks(ranks)))


def mean_rank(ranks) -> float:
    return float(np.mean(_ranks(ranks)))


def mrr(ranks) -> float:
    """Mean reciprocal rank."""
    return float(np.mean(1.0 / _ranks(ranks)))


def chance_recall_at_k(k: int, bank_size: int) -> float:
    """Expected Recall@k of random scores: min(k, B) / B."""
    if int(bank_size) < 1:
        raise ValueError(f"bank_size: expected a positive integer, got {bank_size}")
    return min(int(k), int(bank_size)) / int(bank_size)


RELEASE_BANK = 1896  # RealTalk's retrieval bank: every clip of the release


def k_for_bank(k: int, bank_size: int, release_bank: int = RELEASE_BANK) -> int:
    """The k that keeps k / bank the release's ratio on a smaller bank (k·B/1896, at least 1)."""
    return k if bank_size >= release_bank else max(1, int(round(k * bank_size / release_bank)))


def recall_at_k_for_bank(ranks, bank_size: int, *, k: int) -> float:
    """Recall@k with k scaled to the bank (``k_for_bank``): equal to ``recall_at_k`` on the release."""
    return recall_at_k(ranks, k_for_bank(k, bank_size))


GOAL_DIRECTIONS = ("high", "low")  # where a goal wants the true listener: near the top, or pushed down


def delta_median_rank(ranks, ranks_reference) -> float:
    r"""Δ median rank of a goal against the reference goal on the same queries:
    :math:`\operatorname{median}_q r_q^{goal} - \operatorname{median}_q r_q^{ref}` (positive: the goal
    pushed the true listener down, as a rude goal should)."""
    a, b = _ranks(ranks), _ranks(ranks_reference)
    if a.shape != b.shape:
        raise ValueError(f"ranks {a.shape} and ranks_reference {b.shape}: expected one rank per query for both goals")
    return float(np.median(a) - np.median(b))


def moved_share(ranks, ranks_reference, goal_direction: str) -> float:
    r"""Share of queries whose true listener moved the goal's way against the reference goal:
    :math:`\frac1Q \sum_q [r_q^{goal} > r_q^{ref}]` for a goal that pushes it down (``"low"``),
    :math:`[r_q^{goal} < r_q^{ref}]` for one that lifts it (``"high"``); unchanged ranks do not count.
    Under goal-blind random scores it is (B − 1) / (2B) ≈ 0.5."""
    a, b = _ranks(ranks), _ranks(ranks_reference)
    if a.shape != b.shape:
        raise ValueError(f"ranks {a.shape} and ranks_reference {b.shape}: expected one rank per query for both goals")
    if goal_direction not in GOAL_DIRECTIONS:
        raise ValueError(f"goal_direction: expected one of {GOAL_DIRECTIONS}, got {goal_direction!r}")
    return float(np.mean(a > b) if goal_direction == "low" else np.mean(a < b))
