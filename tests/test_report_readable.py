"""A report a person reads in a minute: rounding, best system, cautions, header, glossary."""

from dyadbench.report.html import render
from dyadbench.report.readable import best_systems, cautions, fmt_metric, fmt_number


def m(value, low=None, high=None, better="lower", **kw):
    return {"value": value, "low": low, "high": high, "better": better, **kw}


def test_numbers_are_rounded_to_their_interval_and_round_off_is_zero():
    assert fmt_number(12.34567, 12.0, 12.7) == "12.35"  # width 0.7: two significant digits of it
    assert fmt_number(8.261e-30, 8.26e-30, 8.26e-30, scale=50.0) == "0"
    assert fmt_number(-0.0) == "0"
    assert fmt_metric(m(1.675e-12, 0.0, 3e-12, reference=41.2)).startswith("0 ")


def _run(system, metrics, per_item):
    return {"system": system, "metrics": metrics, "per_item": per_item}


def _infl(values):
    v = [float(x) for x in values]
    mean = sum(v) / len(v)
    return {"kind": "influence", "ids": [str(i) for i in range(len(v))], "values": [(x - mean) / len(v) for x in v]}


def test_best_is_starred_only_when_the_paired_difference_excludes_zero():
    import numpy as np

    rng = np.random.default_rng(0)
    base = rng.normal(5, 2, 40)  # item difficulty shared by both systems: pairing cancels it
    a, b = base + 0.3 + rng.normal(0, 0.05, 40), base + rng.normal(0, 0.05, 40)
    runs = [_run("a", {"l2": m(a.mean(), a.mean() - 0.6, a.mean() + 0.6)}, {"l2": _infl(a)}),
            _run("b", {"l2": m(b.mean(), b.mean() - 0.6, b.mean() + 0.6)}, {"l2": _infl(b)})]
    v = best_systems(runs, ["l2"])["l2"]
    # the two intervals overlap, yet b is better on every item: the paired difference excludes 0
    assert v["system"] == "b" and v["verdict"] == "best" and v["difference"]["high"] < 0
    noisy = base + rng.normal(0, 1.0, 40)
    noisy += a.mean() - noisy.mean() - 1e-3  # the same mean as a, up to 1e-3: no clear winner
    runs[1] = _run("b", {"l2": m(noisy.mean(), noisy.mean() - 0.6, noisy.mean() + 0.6)}, {"l2": _infl(noisy)})
    v = best_systems(runs, ["l2"])["l2"]
    assert v["system"] is None and v["verdict"] == "no clear winner"


def test_ties_and_degenerate_results_are_never_starred():
    ones = {"kind": "influence", "ids": ["0", "1"], "values": [0.0, 0.0]}
    runs = [_run("a", {"recall": m(1.0, 1.0, 1.0, "higher")}, {"recall": ones}),
            _run("b", {"recall": m(1.0, 1.0, 1.0, "higher")}, {"recall": ones})]
    assert best_systems(runs, ["recall"])["recall"]["verdict"] == "tie"
    runs = [_run("mirror", {"ffd": m(5e-13, 0.0, 0.02, tolerance=1e-9)}, {}),
            _run("mean", {"ffd": m(3.0, 2.0, 4.0, tolerance=1e-9)}, {}),
            _run("random", {"ffd": m(2.0, 1.5, 2.5, tolerance=1e-9)}, {})]
    v = best_systems(runs, ["ffd"])["ffd"]
    assert "mirror" in v["excluded"] and "degenerate" in v["excluded"]["mirror"]
    assert v["system"] is None  # random vs mean: no paired data, and their intervals overlap


def test_round_off_shows_as_zero_but_json_keeps_it():
    from dyadbench.report.readable import shown

    entry = m(1.404e-30, 0.0, 2e-30, better="closer to reference", reference=1.3, tolerance=1.3e-12)
    assert shown(entry) == 0.0 and entry["value"] == 1.404e-30
    assert fmt_metric(entry).startswith("0 ")


def test_cautions_flag_tiny_n_zero_width_and_degenerate_results():
    notes = cautions({"system": "mirror", "n_items": 4, "metrics": {"ffd": m(0.0, 0.0, 0.0, tolerance=1e-9),
                                                                    "l2": m(0.5, 0.4, 0.6)}})
    assert any("only 4 items" in n for n in notes)
    assert any("ffd: zero-width" in n for n in notes) and any(n.startswith("ffd: reproduces") for n in notes)
    assert not any(n.startswith("l2") for n in notes)


def test_rendered_report_has_header_best_marks_and_glossary():
    base = {"task": "seamless/facial-motion", "task_declaration": {"description": "d"}, "n_items": 40, "extras": {},
            "dyadbench_version": "9.9.9", "created": "2026-11-23T00:00:00+00:00", "command": "dyadbench evaluate X",
            "data_root": "/data/S", "slices": {}, "skipped": {}}
    lin = {"ffd": {"kind": "influence", "ids": [str(i) for i in range(10)], "values": [(i % 3 - 1) * 0.01 for i in range(10)]}}
    runs = [{**base, "system": "mine", "metrics": {"ffd": m(1.0, 0.5, 1.5, convention="pooled", reference_code="ref-code")},
             "per_item": lin},
            {**base, "system": "random", "metrics": {"ffd": m(9.0, 8.0, 10.0, convention="pooled")}, "per_item": lin}]
    page = render(runs)
    assert "9.9.9" in page and "dyadbench evaluate X" in page and "/data/S" in page
    assert "class='best'" in page and "★" in page
    assert "Paired differences to random" in page and "-8 " in page  # mine − random, its interval of width 0
    assert "Glossary" in page and "Fréchet distance on face-motion features" in page and "ref-code" in page
    assert "<details class='glossary' open>" in page  # open: the reader should not have to find it


def test_every_metric_is_explained_in_a_sentence_not_by_its_own_name():
    from dyadbench.metrics.registry import METRICS

    for name, spec in METRICS.items():
        words = spec.description
        assert len(words.split()) >= 5, (name, words)
        assert not words.lower().startswith(name.replace("_", " ") + " "), (name, words)  # "mrr of the true listener ..."


def test_console_summary_is_one_ranked_table_that_fits_a_terminal():
    import numpy as np
    from rich.console import Console

    from dyadbench.report.console import summary_table

    rng = np.random.default_rng(1)
    base = rng.normal(30, 8, 40)
    ranks = {"speaker_nearest_neighbour": base * 0.4, "random": base, "affect": base * 0.8 + 0.5}

    def run(system, r):
        return {"system": system, "n_items": 40, "per_item": {"median_rank": _infl(r)}, "metrics": {
            "recall_at_500": m(0.5, 0.3, 0.7, "higher", k=25), "median_rank": m(float(np.median(r)), r.min(), r.max()),
            "mrr": m(0.1, 0.05, 0.2, "higher"), "mean_rank": m(float(r.mean()), 1.0, 90.0)}}

    runs = [run(s, r) for s, r in ranks.items()] + [{"system": "ground_truth", "n_items": 40, "per_item": {}, "metrics": {
        "recall_at_500": m(1.0, 1.0, 1.0, "higher", k=25, tolerance=1e-12), "median_rank": m(1.0, 1.0, 1.0, tolerance=1e-12),
        "mrr": m(1.0, 1.0, 1.0, "higher", tolerance=1e-12)}}]
    runs[0]["metrics"]["recall_at_500"]["value"] = 0.6  # ranked by the first metric, higher first
    console = Console(width=80, record=True)
    console.print(summary_table("realtalk/listener-retrieval", runs))
    text = console.export_text()
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80
    for name in ranks:
        assert name in text  # never cut ("speaker_nearest_neighb…")
    assert "k=25 here" in text and "mean_rank" not in text  # the k used; three metrics, not every one
    order = [next(i for i, line in enumerate(lines) if line.startswith(f"│ {s} ")) for s in
             ("ground_truth", "speaker_nearest_neighbour", "affect", "random")]
    assert order == sorted(order), order  # 1.0, 0.6, 0.5, 0.5 (ties by name)
    assert "1 †" in text  # the ground truth: degenerate by construction, never starred
