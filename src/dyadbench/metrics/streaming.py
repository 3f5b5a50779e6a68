r"""Streaming building blocks: additive per-item statistics, Poisson bootstrap replicates, and a
seeded frame sample whose content does not depend on the order in which items arrive.

**Additive statistics.** A set-level metric that streams (Fréchet distances, SI-diversity, pooled
variance) is ``finish(Σ_i t_i)``: each item contributes a flat vector ``t_i`` (counts, sums, sums
of outer products) and only the running sum is kept. Fréchet sums are taken on rows minus a fixed
``shift`` (the ground truth's mean) so that :math:`\Sigma = (S - s s^\top / n) / (n - 1)` does not
lose digits to cancellation.

**Poisson bootstrap** (Hanley & MacGibbon 2006; Chamandy et al. 2012). Replicate :math:`b` weighs
item :math:`i` by :math:`w_{ib} \sim \text{Poisson}(1)`, the large-n limit of the multinomial
counts of an ordinary bootstrap over items. The weights come from a generator seeded by
``(seed, item id)``, so a replicate is :math:`\sum_i w_{ib} t_i` whatever the order of arrival or
the worker that scored the item, and memory is one running sum per replicate, never per item.

**Frame sample** ("bottom-k"): every frame gets a priority :math:`u \sim U(0,1)` from a generator
seeded by ``(seed, item id)``; the sample is the ``k`` frames of smallest priority over all items,
a uniform sample without replacement that is the same for any order or partition of the items.
"""

from __future__ import annotations

import hashlib

import numpy as np


def item_rng(item_id: str, seed: int, stream: str) -> np.random.Generator:
    """A generator that depends only on ``(seed, item id, stream)``: order- and worker-independent."""
    digest = hashlib.blake2b(f"{seed}\x00{stream}\x00{item_id}".encode(), digest_size=8).digest()
    return np.random.default_rng(int.from_bytes(digest, "little"))


def poisson_weights(item_id: str, seed: int, n: int) -> np.ndarray:
    """The item's Poisson(1) weight in each of ``n`` bootstrap replicates (float64)."""
    return item_rng(item_id, seed, "poisson-bootstrap").poisson(1.0, int(n)).astype(np.float64)


def frame_priorities(item_id: str, seed: int, n_frames: int) -> np.ndarray:
    """Uniform priorities of an item's frames; the sample keeps the smallest over all items."""
    return item_rng(item_id, seed, "frame-sample").random(int(n_frames))


# --- Fréchet sufficient statistics -----------------------------------------------------------------

def _packed_index(d: int) -> tuple[np.ndarray, np.ndarray]:
    return np.triu_indices(d)


def gaussian_sums(x: np.ndarray, shift) -> np.ndarray:
    """``[n, Σ(x − shift), upper triangle of Σ(x − shift)(x − shift)ᵀ]`` of rows ``x`` (N, D)."""
    x = np.asarray(x, np.float64)
    d = x.shape[1]
    z = x - np.asarray(shift, np.float64)
    outer = z.T @ z
    return np.concatenate([[float(len(z))], z.sum(0), outer[_packed_index(d)]])


def gaussian_sums_size(d: int) -> int:
    return 1 + d + d * (d + 1) // 2


def gaussian_from_sums(sums: np.ndarray, shift) -> tuple[float, np.ndarray, np.ndarray]:
    """``(n, mean, covariance)`` (covariance with ``n − 1``, as ``np.cov``) from ``gaussian_sums``."""
    shift = np.asarray(shift, np.float64)
    d = shift.shape[0] if shift.ndim else gaussian_sums_dim(len(sums))
    n, s, packed = sums[0], sums[1:1 + d], sums[1 + d:]
    outer = np.zeros((d, d))
    outer[_packed_index(d)] = packed
    outer = outer + np.triu(outer, 1).T
    mean = s / n
    cov = (outer - np.outer(s, s) / n) / (n - 1)
    return float(n), mean + shift, cov


def gaussian_sums_dim(size: int) -> int:
    d = int((-3 + np.sqrt(9 + 8 * (size - 1))) / 2)
    if gaussian_sums_size(d) != size:
        raise ValueError(f"stats: {size} values is not the size of Gaussian sums of any dimension")
    return d


# --- accumulators ------------------------------------------------------------------------------------

class ReplicateSums:
    """Running ``Σ_i t_i`` and ``Σ_i w_ib t_i`` for ``n_boot`` Poisson replicates (one row each).

    Items are buffered and folded in with one matrix product per batch (the replicate sums are
    touched once per batch, not once per item). A group of fewer items than replicates keeps its
    items' statistics instead: memory is ``min(items, replicates)`` vectors, bounded either way.
    """

    def __init__(self, size: int, n_boot: int, seed: int, batch: int = 32):
        self.total = np.zeros(size)
        self.n_boot, self.n_items = int(n_boot), 0
        self._replicates: np.ndarray | None = None
        self._seed, self._batch = seed, batch
        self._stats: list[np.ndarray] = []
        self._weights: list[np.ndarray] = []

    def add(self, item_id: str, stats: np.ndarray) -> None:
        stats = np.asarray(stats, np.float64)
        if stats.shape != self.total.shape:
            raise ValueError(f"stats of item {item_id}: expected {self.total.shape[0]} values, got {stats.shape}")
        self.total += stats
        self.n_items += 1
        if self.n_boot:
            self._stats.append(stats)
            self._weights.append(poisson_weights(item_id, self._seed, self.n_boot))
            if len(self._stats) >= max(self._batch, self.n_boot if self._replicates is None else 0):
                self._flush()

    def _flush(self) -> None:
        if self._replicates is None:
            self._replicates = np.zeros((self.n_boot, len(self.total)))
        if self._stats:
            self._replicates += np.stack(self._weights, axis=1) @ np.stack(self._stats)
            self._stats, self._weights = [], []

    def replicate_sums(self) -> np.ndarray:
        """(n_boot, size): replicate b's ``Σ_i w_ib t_i``."""
        if not self.n_boot:
            return np.zeros((0, len(self.total)))
        if self._replicates is None:  # fewer items than replicates: computed, not kept
            return np.stack(self._weights, axis=1) @ np.stack(self._stats)
        self._flush()
        return self._replicates


def bottom_k(priorities: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` smallest priorities, in increasing priority (ties by index)."""
    k = min(int(k), len(priorities))
    if k == len(priorities):
        return np.argsort(priorities, kind="stable")
    part = np.argpartition(priorities, k - 1)[:k]
    return part[np.argsort(priorities[part], kind="stable")]


class FrameSample:
    """The ``k`` frames of smallest priority over all items added so far (with their item ids).

    Items are appended and the sample is cut back to ``k`` only when more than ``2k`` frames are
    pending, so adding an item costs its own frames, not the whole sample's."""

    def __init__(self, k: int):
        self.k = int(k)
        self.frames_seen = 0
        self._pri: list[np.ndarray] = []
        self._items: list[np.ndarray] = []
        self._rows: list[dict[str, np.ndarray]] = []
        self._pending = 0
        self._compacted = False  # one chunk already cut to the k smallest: nothing to redo

    def add(self, item_id: str, priorities: np.ndarray, rows: dict[str, np.ndarray], frames_seen: int | None = None) -> None:
        """``rows``: arrays whose first axis matches ``priorities`` (already an item's own bottom k)."""
        self.frames_seen += len(priorities) if frames_seen is None else int(frames_seen)
        self._pri.append(np.asarray(priorities))
        self._items.append(np.full(len(priorities), item_id, dtype=object))
        self._rows.append({k: np.asarray(v) for k, v in rows.items()})
        self._pending += len(priorities)
        self._compacted = False
        if self._pending > 2 * self.k:
            self._compact()

    def _compact(self) -> None:
        if self._compacted:
            return
        pri = np.concatenate(self._pri) if self._pri else np.empty(0)
        items = np.concatenate(self._items) if self._items else np.empty(0, dtype=object)
        keys = self._rows[0].keys() if self._rows else ()
        rows = {k: np.concatenate([r[k] for r in self._rows]) for k in keys}
        keep = bottom_k(pri, self.k)
        self._pri, self._items = [pri[keep]], [items[keep]]
        self._rows = [{k: v[keep] for k, v in rows.items()}] if keys else []
        self._pending, self._compacted = len(keep), True

    @property
    def priorities(self) -> np.ndarray:
        self._compact()
        return self._pri[0] if self._pri else np.empty(0)

    @property
    def items(self) -> np.ndarray:
        self._compact()
        return self._items[0] if self._items else np.empty(0, dtype=object)

    @property
    def rows(self) -> dict[str, np.ndarray]:
        self._compact()
        return self._rows[0] if self._rows else {}
