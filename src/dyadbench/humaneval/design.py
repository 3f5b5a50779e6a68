"""Balanced two-alternative forced-choice (2AFC) study designs (pure; no I/O).

Every *comparison* is one item (a speaker clip) shown with the outputs of two systems. The design:

* each comparison is judged by ``raters_per_pair`` distinct raters: judgement ``j`` of comparison
  ``p`` goes to rater slot ``(p · N + j) mod R``, so consecutive judgements of one comparison land
  on distinct raters (needs N ≤ R) and rater loads differ by at most one trial;
* left/right is counterbalanced: system A is on the left when ``(p + j)`` is even, so every
  comparison shows A on the left for ⌈N/2⌉ or ⌊N/2⌋ of its judgements, and every rater sees A on
  the left about half the time;
* each rater's trial order is shuffled with their own seeded generator;
* each rater gets ``attention_checks`` catch trials with a known answer: a reference clip next to
  the same clip frozen on its first frame ("which listener reacts?" has one right answer), placed
  at random positions after the first trial.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from itertools import combinations

import numpy as np

CATCH = "__frozen__"  # the system name of attention-check catch clips


@dataclass(frozen=True)
class Trial:
    rater: int  # rater slot, 0-based
    position: int  # place in that rater's sequence, 0-based
    item: str
    system_a: str  # the comparison, in the order the systems were given
    system_b: str
    left: str  # system shown on the left
    right: str
    attention: bool = False
    expected: str | None = None  # "left" or "right" for attention checks

    def to_dict(self) -> dict:
        return asdict(self)


def balanced_design(items: list[str], systems: list[str], *, raters_per_pair: int = 4, n_raters: int | None = None,
                    attention_checks: int = 2, attention_system: str | None = None, seed: int = 0) -> list[Trial]:
    """All trials of a study, sorted by (rater, position)."""
    items, systems = list(items), list(systems)
    if len(systems) < 2 or len(set(systems)) != len(systems):
        raise ValueError(f"systems: expected two or more distinct names, got {systems}")
    if CATCH in systems:
        raise ValueError(f"systems: {CATCH!r} is reserved for attention-check clips")
    if not items or len(set(items)) != len(items):
        raise ValueError("items: expected a non-empty list of distinct item ids")
    if raters_per_pair < 1:
        raise ValueError(f"raters_per_pair: expected >= 1, got {raters_per_pair}")
    n_raters = raters_per_pair if n_raters is None else n_raters
    if n_raters < raters_per_pair:
        raise ValueError(f"n_raters: {n_raters} raters cannot give each comparison {raters_per_pair} distinct raters")
    if attention_checks < 0:
        raise ValueError(f"attention_checks: expected >= 0, got {attention_checks}")
    attention_system = attention_system or systems[0]
    if attention_checks and attention_system not in systems:
        raise ValueError(f"attention_system: {attention_system!r} is not one of {systems}")

    comparisons = [(item, a, b) for item in items for a, b in combinations(systems, 2)]
    if n_raters > len(comparisons) * raters_per_pair:
        raise ValueError(f"n_raters: {n_raters} raters but only {len(comparisons) * raters_per_pair} judgements; "
                         "some raters would have nothing to rate")
    per_rater: list[list[dict]] = [[] for _ in range(n_raters)]
    for p, (item, a, b) in enumerate(comparisons):
        for j in range(raters_per_pair):
            left, right = (a, b) if (p + j) % 2 == 0 else (b, a)
            per_rater[(p * raters_per_pair + j) % n_raters].append(
                dict(item=item, system_a=a, system_b=b, left=left, right=right))
    trials = []
    for r, own in enumerate(per_rater):
        rng = np.random.default_rng([seed, r])
        order = [own[i] for i in rng.permutation(len(own))]
        for c in range(attention_checks):
            item = items[int(rng.integers(len(items)))]
            reference_left = (r + c) % 2 == 0
            check = dict(item=item, system_a=attention_system, system_b=CATCH,
                         left=attention_system if reference_left else CATCH,
                         right=CATCH if reference_left else attention_system,
                         attention=True, expected="left" if reference_left else "right")
            order.insert(int(rng.integers(1, len(order) + 1)) if order else 0, check)
        trials += [Trial(rater=r, position=k, **t) for k, t in enumerate(order)]
    return trials
