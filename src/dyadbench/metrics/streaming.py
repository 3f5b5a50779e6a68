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
the worker that scored the item. Item statistics are kept as rows (in memory, or spilled to disk
by the caller) and folded per group in item-id order, one group at a time.

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


def gaussian_sums_head(sums: np.ndarray, a: int) -> np.ndarray:
    """The ``gaussian_sums`` of the first ``a`` columns, taken out of the sums of all of them."""
    d = gaussian_sums_dim(len(sums))
    rows, cols = _packed_index(d)
    keep = (rows < a) & (cols < a)  # row-major upper triangle: the head block's entries in its own order
    return np.concatenate([sums[:1 + a], sums[1 + d:][keep]])


def gaussian_sums_joined(head: np.ndarray, head_shifted: np.ndarray, tail: np.ndarray, tail_shift, *,
                         tail_sums: np.ndarray | None = None) -> np.ndarray:
    """``gaussian_sums`` of ``[head rows ‖ tail rows]`` when the head's own sums are known: only the
    cross block and the tail's block are multiplied (a quarter of the work for equal halves), only
    the cross block when the tail's own sums (``tail_sums``, same shift) are known too.

    ``head_shifted`` are the head rows minus their shift (the one ``head`` was taken with)."""
    z = np.asarray(tail, np.float64) - np.asarray(tail_shift, np.float64)
    a, b = head_shifted.shape[1], z.shape[1]
    if head[0] != len(z) or len(head_shifted) != len(z) or len(head) != gaussian_sums_size(a):
        raise ValueError(f"joined sums: head sums of {int(head[0])} rows and {len(head)} values, "
                         f"head rows {head_shifted.shape}, tail rows {z.shape}: expected the same rows")
    if tail_sums is not None and (len(tail_sums) != gaussian_sums_size(b) or tail_sums[0] != len(z)):
        raise ValueError(f"joined sums: tail sums of {int(tail_sums[0])} rows and {len(tail_sums)} values, "
                         f"tail rows {z.shape}: expected the tail's own sums")
    outer = np.empty((a + b, a + b))
    outer[:a, :a][_packed_index(a)] = head[1 + a:]
    outer[:a, a:] = head_shifted.T @ z
    if tail_sums is None:
        outer[a:, a:], tail_total = z.T @ z, z.sum(0)
    else:  # the packed upper triangle is all that is read back out of this block
        outer[a:, a:][_packed_index(b)], tail_total = tail_sums[1 + b:], tail_sums[1:1 + b]
    return np.concatenate([head[:1 + a], tail_total, outer[_packed_index(a + b)]])


def known_or_computed(known, compute, size: int, what: str) -> np.ndarray:
    """An item's data-only statistics (``Streaming.reference_part``): ``known`` (from an earlier
    evaluation of the same data) when given, else ``compute()``; refused unless ``size`` values."""
    part = compute() if known is None else np.asarray(known, np.float64)
    if part.shape != (size,):
        raise ValueError(f"reference_part: expected {what} ({size} values), got shape {part.shape}")
    return part


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

def checked_rows(ids, rows, size: int) -> np.ndarray:
    """A chunk of item statistics as float64 (len(ids), size), or a ValueError naming its items."""
    rows = np.asarray(rows, np.float64)
    if rows.shape != (len(ids), size):
        raise ValueError(f"stats of items {list(ids)[:3]}...: expected ({len(ids)}, {size}) values, got {rows.shape}")
    return rows


def replicate_sums(chunks, seed: int, n_boot: int, size: int) -> tuple[np.ndarray, np.ndarray, int]:
    """``(Σ_i t_i, R, n)`` with ``R[b] = Σ_i w_ib t_i`` over ``chunks`` of ``(item ids, rows (k, size))``.

    One matrix product per chunk; memory is the ``n_boot × size`` replicate sums and one chunk,
    whatever the number of items. Fed in item-id order, the result is the same bit for bit for
    any arrival order or worker split.
    """
    total, reps, n = np.zeros(size), np.zeros((int(n_boot), size)), 0
    for ids, rows in chunks:
        rows = checked_rows(ids, rows, size)
        total += rows.sum(axis=0)
        n += len(ids)
        if n_boot:
            reps += np.stack([poisson_weights(i, seed, n_boot) for i in ids], axis=1) @ rows
    return total, reps, n


class MemoryRows:
    """Per-item statistic vectors by metric name, kept in memory (``storage.SpillRows`` keeps them
    on disk with the same interface, so the parent's memory does not grow with items)."""

    def __init__(self):
        self._rows: dict[str, dict[str, np.ndarray]] = {}

    def append(self, name: str, item_id: str, row) -> None:
        self._rows.setdefault(name, {})[item_id] = np.asarray(row, np.float64).copy()

    def size(self, name: str) -> int:
        return len(next(iter(self._rows[name].values())))

    def chunks(self, name: str, ids: list[str], chunk: int = 64):
        for start in range(0, len(ids), chunk):
            part = ids[start : start + chunk]
            yield part, np.stack([self._rows[name][i] for i in part])


FRAME_AXIS_INPUTS = ("generated", "reference", "partner", "valid")  # inputs a frame sample keeps (valid frames only)


def frame_rows(inputs: dict, keep: np.ndarray) -> dict:
    """The rows of a frame sample: frames ``keep`` of each frame-aligned input ((M, N, D) on axis 1)."""
    rows = {}
    for key in FRAME_AXIS_INPUTS:
        if key in inputs:
            x = np.asarray(inputs[key])
            rows[key] = np.moveaxis(x, 1, 0)[keep] if x.ndim == 3 else x[keep]
    return rows


def item_sample(item_id: str, seed: int, valid: np.ndarray, inputs: dict, k: int, *, at_most: float | None = None):
    """An item's share of the seeded bottom-k sample of valid frames: (priorities, rows, valid frames).

    ``at_most``: the whole set's k-th smallest priority when it is known beforehand (the same
    priorities, drawn in an earlier pass: ``sample_cutoff``): frames above it can never be in the
    sample, so they are neither gathered nor sent."""
    idx = np.flatnonzero(np.asarray(valid))
    pri = frame_priorities(item_id, seed, len(valid))[idx]
    pick = bottom_k(pri, k)
    if at_most is not None:
        pick = pick[pri[pick] <= at_most]
    return pri[pick], frame_rows(inputs, idx[pick]), len(idx)


def sample_cutoff(priorities: "FrameSample") -> float | None:
    """The k-th smallest priority of a ``FrameSample`` of priorities alone (no rows) taken over
    every item, or None when the items have fewer than k valid frames (every frame is sampled)."""
    pri = priorities.priorities
    return float(pri[-1]) if len(pri) >= priorities.k > 0 else None


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
        self._positions: dict | None = None

    def add(self, item_id: str, priorities: np.ndarray, rows: dict[str, np.ndarray], frames_seen: int | None = None) -> None:
        """``rows``: arrays whose first axis matches ``priorities`` (already an item's own bottom k)."""
        self.frames_seen += len(priorities) if frames_seen is None else int(frames_seen)
        self._pri.append(np.asarray(priorities))
        self._items.append(np.full(len(priorities), item_id, dtype=object))
        self._rows.append({k: np.asarray(v) for k, v in rows.items()})
        self._pending += len(priorities)
        self._compacted, self._positions = False, None
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

    def item_positions(self) -> dict[str, np.ndarray]:
        """Each item's positions in the sample, ascending: ``rows[k][positions[id]]`` is
        ``rows[k][items == id]``, grouped once by a stable sort instead of comparing all k item ids
        per item (per item and per slice group that was GIL-bound work: ~20 s of gesture's slices)."""
        items = self.items
        if self._positions is None:
            order = np.argsort(items, kind="stable")
            keys, starts = np.unique(items[order], return_index=True)
            ends = np.append(starts[1:], len(order))
            self._positions = {key: order[a:b] for key, a, b in zip(keys, starts, ends)}
        return self._positions
