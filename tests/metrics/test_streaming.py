"""Streaming building blocks: additive sums equal the pooled computation; Poisson replicates and
frame samples do not depend on the order or partition in which items arrive."""

import numpy as np
import pytest

from dyadbench.metrics import genea_emage as GE
from dyadbench.metrics import motion_fd as MF
from dyadbench.metrics.frechet import frechet_distance_from_features
from dyadbench.metrics.streaming import (
    FrameSample,
    MemoryRows,
    bottom_k,
    frame_priorities,
    gaussian_from_sums,
    gaussian_sums,
    gaussian_sums_head,
    gaussian_sums_joined,
    poisson_weights,
    replicate_sums,
)


def test_gaussian_sums_recover_mean_and_covariance_without_cancellation():
    rng = np.random.default_rng(0)
    x = 1e4 + rng.normal(size=(500, 6)) @ rng.normal(size=(6, 6))  # a large offset: naive Σxxᵀ would lose ~8 digits
    n, mean, cov = gaussian_from_sums(gaussian_sums(x[:200], x.mean(0)) + gaussian_sums(x[200:], x.mean(0)), x.mean(0))
    assert n == 500
    np.testing.assert_allclose(mean, x.mean(0), rtol=1e-13)
    np.testing.assert_allclose(cov, np.cov(x.T), rtol=1e-9, atol=1e-12)


def test_fd_from_item_sums_equals_fd_of_pooled_frames():
    rng = np.random.default_rng(1)
    gen = [rng.normal(size=(1, n, 5)) + 0.3 for n in (40, 55, 31)]
    ref = [rng.normal(size=(n, 5)) for n in (40, 55, 31)]
    valid = [rng.random(len(r)) > 0.2 for r in ref]
    pooled_gen = np.concatenate([g[0][v] for g, v in zip(gen, valid)])
    pooled_ref = np.concatenate([r[v] for r, v in zip(ref, valid)])
    want = frechet_distance_from_features(pooled_gen, pooled_ref)
    assert MF.fd_set(gen, ref, valid) == pytest.approx(want, rel=1e-10)
    shift = rng.normal(size=5)  # any shift gives the same distance
    stats = sum(MF.fd_item_stats(g, r, v, shift) for g, r, v in zip(gen, ref, valid))
    assert MF.fd_finish(stats, shift) == pytest.approx(want, rel=1e-10)


def test_joined_sums_equal_the_sums_of_the_joined_rows_and_the_head_comes_back_out():
    rng = np.random.default_rng(4)
    a, b = 3 + rng.normal(size=(300, 4)), -2 + rng.normal(size=(300, 5))
    sa, sb = rng.normal(size=4), rng.normal(size=5)
    whole = gaussian_sums(np.hstack([a, b]), np.concatenate([sa, sb]))
    head = gaussian_sums(a, sa)
    np.testing.assert_allclose(gaussian_sums_joined(head, a - sa, b, sb), whole, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(gaussian_sums_head(whole, 4), head, rtol=1e-12)
    with pytest.raises(ValueError, match="same rows"):
        gaussian_sums_joined(head, a[:-1] - sa, b[:-1], sb)


@pytest.mark.parametrize("name", ["ffd", "paired_fd", "fd_kinetic", "speed_hellinger"])
def test_a_known_reference_part_gives_the_same_item_statistics_and_is_not_recomputed(name):
    """The data-only half of a metric's item statistics (``Streaming.reference_part``: the true
    frames' Gaussian sums of the Fréchet distances, GENEA's true speed counts):
    computed and handed back when unknown, taken as given when known (an earlier evaluation of the
    same data), with the same statistics; a part of the wrong size is refused by name."""
    from dyadbench.metrics.aggregate import REFERENCE_PART, item_outputs, plan

    rng = np.random.default_rng(5)
    n, d = 120, 6
    inputs = {"generated": rng.normal(size=(1, n, d)), "reference": rng.normal(size=(n, d)) + 1,
              "partner": rng.normal(size=(n, d)), "valid": rng.random(n) > 0.1}
    shared = {"mean": rng.normal(size=d), "std": np.ones(d), "fps": 30.0}
    plans = plan([name])
    first = item_outputs(plans, inputs, shared)[name]
    part = first.pop("reference_part")
    want = {"ffd": lambda: MF.fd_reference_sums(inputs["reference"], inputs["valid"], shared["mean"]),
            "paired_fd": lambda: MF.paired_fd_reference_sums(inputs["reference"], inputs["partner"], inputs["valid"],
                                                             shared["mean"]),
            "fd_kinetic": lambda: MF.fd_kinetic_reference_sums(inputs["reference"], inputs["valid"], 30.0),
            "speed_hellinger": lambda: GE.speed_hellinger_reference_counts(inputs["reference"], inputs["valid"], 30.0)}[name]()
    np.testing.assert_array_equal(part, want)
    np.testing.assert_array_equal(first["stats"][len(part):], part)  # one sample: the true half is the part itself
    again = item_outputs(plans, inputs, shared, known_refs={name + REFERENCE_PART: part})[name]
    assert "reference_part" not in again
    np.testing.assert_array_equal(again["stats"], first["stats"])
    bent = np.concatenate([part[:1], 2 * part[1:]])  # same frame count, other sums
    other = item_outputs(plans, inputs, shared, known_refs={name + REFERENCE_PART: bent})[name]
    assert not np.array_equal(other["stats"], first["stats"])  # a known part is used as given
    wrong = item_outputs(plans, inputs, shared, known_refs={name + REFERENCE_PART: part[:-1]})[name]
    assert "reference_part" in wrong["error"]


def test_poisson_replicates_are_sums_of_each_items_own_weights():
    rng = np.random.default_rng(2)
    ids = [f"item{i}" for i in range(70)]
    stats = {i: rng.normal(size=4) for i in ids}
    rows = MemoryRows()
    for i in rng.permutation(ids):  # arrival order does not matter: groups are read back by id
        rows.append("m", str(i), stats[str(i)])
    total, reps, n = replicate_sums(rows.chunks("m", sorted(ids), chunk=8), 3, 50, 4)
    assert n == 70
    np.testing.assert_allclose(total, sum(stats.values()), rtol=1e-12)
    # replicate b is Σ w_ib t_i with the item's own weights, whatever else is in the group
    w = np.stack([poisson_weights(i, 3, 50) for i in sorted(ids)], axis=1)
    np.testing.assert_allclose(reps, w @ np.stack([stats[i] for i in sorted(ids)]), rtol=1e-12, atol=1e-12)
    _, other_chunks, _ = replicate_sums(rows.chunks("m", sorted(ids), chunk=5), 3, 50, 4)
    np.testing.assert_allclose(reps, other_chunks, rtol=1e-12, atol=1e-12)
    assert not np.array_equal(poisson_weights("item0", 3, 50), poisson_weights("item0", 4, 50))  # the seed matters


def test_spilled_rows_read_back_exactly_and_leave_nothing_behind():
    from dyadbench.storage import SpillRows

    rng = np.random.default_rng(5)
    ids = [f"clip{i}" for i in range(30)]
    mem, disk = MemoryRows(), SpillRows()
    for i in rng.permutation(ids):
        row = rng.normal(size=7)
        mem.append("fd", str(i), row)
        disk.append("fd", str(i), row)
        disk.append("other", str(i), row[:3])
    assert disk.size("fd") == 7 and disk.size("other") == 3
    for (a_ids, a), (b_ids, b) in zip(mem.chunks("fd", sorted(ids), 9), disk.chunks("fd", sorted(ids), 9)):
        assert a_ids == b_ids
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="expected 7"):
        disk.append("fd", "clipX", np.ones(6))
    # slice groups read their rows from several threads at once: each reader gets its own rows
    from concurrent.futures import ThreadPoolExecutor

    want = {i: mem_row for chunk_ids, rows in mem.chunks("fd", sorted(ids), 30) for i, mem_row in zip(chunk_ids, rows)}
    orders = [list(rng.permutation(ids)) for _ in range(16)]
    read = lambda order: [(i, r.copy()) for part, rows in disk.chunks("fd", order, 4) for i, r in zip(part, rows)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        for got in pool.map(read, orders):
            for i, row in got:
                np.testing.assert_array_equal(row, want[i])
    folder = disk.folder
    assert any(folder.iterdir())
    disk.close()
    assert not folder.exists()


def test_frame_sample_is_the_global_bottom_k_for_any_order_and_partition():
    rng = np.random.default_rng(4)
    lengths = {f"clip{i}": int(n) for i, n in enumerate(rng.integers(5, 60, 12))}
    rows = {i: rng.normal(size=(n, 3)) for i, n in lengths.items()}

    def sampled(order, per_item_k):
        s = FrameSample(40)
        for i in order:
            pri = frame_priorities(i, 7, lengths[i])
            keep = bottom_k(pri, per_item_k)
            s.add(i, pri[keep], {"x": rows[i][keep]}, lengths[i])
        return s

    a, b = sampled(list(lengths), 40), sampled(list(rng.permutation(list(lengths))), 1000)
    np.testing.assert_array_equal(a.priorities, b.priorities)
    np.testing.assert_array_equal(a.rows["x"], b.rows["x"])
    assert a.frames_seen == b.frames_seen == sum(lengths.values())
    every = np.concatenate([frame_priorities(i, 7, n) for i, n in lengths.items()])
    np.testing.assert_array_equal(a.priorities, np.sort(every)[:40])
    # each item's rows, grouped once, are those its id marks, in sample order
    positions = b.item_positions()
    assert sorted(positions) == sorted(set(b.items)) and sum(len(v) for v in positions.values()) == 40
    for item_id, where in positions.items():
        np.testing.assert_array_equal(b.rows["x"][where], b.rows["x"][b.items == item_id])
    b.add("late", np.array([0.0]), {"x": np.zeros((1, 3))}, 1)  # a new frame regroups
    assert "late" in b.item_positions()


def test_items_sending_only_frames_at_or_below_the_known_cutoff_give_the_same_sample():
    """The streamed evaluation learns the set's k-th smallest priority in its ground-truth pass
    (priorities alone) and then sends only the frames at or below it: the same sample, far fewer rows."""
    from dyadbench.metrics.streaming import item_sample, sample_cutoff

    rng = np.random.default_rng(8)
    lengths = {f"clip{i}": int(n) for i, n in enumerate(rng.integers(30, 90, 15))}
    data = {i: {"reference": rng.normal(size=(n, 2))} for i, n in lengths.items()}
    valid = {i: rng.random(n) > 0.2 for i, n in lengths.items()}
    k = 50
    first = FrameSample(k)
    for i in lengths:
        first.add(i, item_sample(i, 3, valid[i], {}, k)[0], {})
    cutoff = sample_cutoff(first)
    full, cut, sent = FrameSample(k), FrameSample(k), 0
    for i in lengths:
        full.add(i, *item_sample(i, 3, valid[i], data[i], k))
        part = item_sample(i, 3, valid[i], data[i], k, at_most=cutoff)
        sent += len(part[0])
        cut.add(i, *part)
    assert sent == k  # exactly the sample's frames cross
    np.testing.assert_array_equal(cut.priorities, full.priorities)
    assert len(full.rows["reference"]) == k
    np.testing.assert_array_equal(cut.rows["reference"], full.rows["reference"])
    np.testing.assert_array_equal(cut.items, full.items)
    assert cut.frames_seen == full.frames_seen == sum(int(v.sum()) for v in valid.values())
    few = FrameSample(10_000)
    few.add("clip0", item_sample("clip0", 3, valid["clip0"], {}, 10_000)[0], {})
    assert sample_cutoff(few) is None  # fewer valid frames than k: every frame is sampled


def test_a_frechet_group_reads_its_item_rows_twice_with_the_same_numbers():
    """The set's sum and the half-samples' sums in one pass, the delta method's influences in one
    more (not four passes over rows that may be on disk); value, half-sample bias and interval as
    computed from the rows directly."""
    from dyadbench.metrics.aggregate import Aggregator, item_outputs, plan
    from dyadbench.metrics.frechet import frechet_distance
    from dyadbench.metrics.frechet_interval import frechet_delta_from_sums

    class CountingRows(MemoryRows):
        passes = 0

        def chunks(self, name, ids, chunk=64):
            CountingRows.passes += 1
            return super().chunks(name, ids, chunk=5)

    rng = np.random.default_rng(8)
    d, plans = 4, plan(["ffd"])
    shared = {"mean": np.zeros(d), "std": np.ones(d), "fps": 30.0}
    agg = Aggregator(plans, n_boot=50, slice_boot=20, seed=0, rows=CountingRows())
    ids = [f"item{i:02d}" for i in range(24)]
    for item_id in ids:
        n = int(rng.integers(40, 80))
        ref = rng.normal(size=(n, d)) + rng.normal(0, 0.5, d)
        inputs = {"generated": (0.8 * ref + rng.normal(0, 0.6, (n, d)))[None], "reference": ref, "valid": np.ones(n, bool)}
        agg.add(item_id, [], item_outputs(plans, inputs, shared))
    got = agg.results("all", shared)["ffd"]
    assert CountingRows.passes == 2
    rows = np.stack([agg.rows._rows["ffd"][i] for i in ids])
    finish = lambda s: frechet_distance(*_two_gaussians(s, d))
    value = finish(rows.sum(0))
    halves = [finish(rows[0::2].sum(0)), finish(rows[1::2].sum(0))]
    assert got["value"] == pytest.approx(value, rel=1e-12)
    assert got["bias"] == pytest.approx(np.mean(halves) - value, rel=1e-9, abs=1e-12)
    delta = frechet_delta_from_sums(lambda: iter([(ids, rows)]), rows.shape[1] // 2)
    assert got["low"] == pytest.approx(value - (delta["value"] - delta["low"]), rel=1e-9)
    assert got["high"] == pytest.approx(value + (delta["high"] - delta["value"]), rel=1e-9)


def _two_gaussians(sums, d):
    half = len(sums) // 2
    _, m1, s1 = gaussian_from_sums(sums[:half], np.zeros(d))
    _, m2, s2 = gaussian_from_sums(sums[half:], np.zeros(d))
    return m1, s1, m2, s2


def test_item_statistics_of_the_wrong_size_are_refused_by_item():
    from dyadbench.metrics.aggregate import _sums_and_halves

    chunks = [(["a", "b"], np.ones((2, 5))), (["c"], np.ones((1, 4)))]
    for fold in (lambda: replicate_sums(iter(chunks), 0, 3, 5), lambda: _sums_and_halves(iter(chunks), ["a", "b", "c"], 5, halves=True)):
        with pytest.raises(ValueError, match=r"stats of items \['c'\].*expected \(1, 5\) values, got \(1, 4\)"):
            fold()
