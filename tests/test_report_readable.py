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


def test_best_system_respects_direction_and_says_when_intervals_overlap():
    runs = [{"system": "a", "metrics": {"fd": m(5.0, 4.0, 6.0), "r": m(0.3, 0.2, 0.4, "higher"),
                                         "v": m(2.0, better="closer to reference", reference=1.0)}},
            {"system": "b", "metrics": {"fd": m(1.0, 0.5, 1.5), "r": m(0.35, 0.25, 0.45, "higher"),
                                         "v": m(1.1, better="closer to reference", reference=1.0)}}]
    best = best_systems(runs, ["fd", "r", "v"])
    assert best["fd"] == {"system": "b", "runner_up": "a", "overlap": False}
    assert best["r"]["system"] == "b" and best["r"]["overlap"] is True
    assert best["v"]["system"] == "b"


def test_cautions_flag_tiny_n_zero_width_and_perfect_scores():
    notes = cautions({"n_items": 4, "metrics": {"ffd": m(0.0, 0.0, 0.0), "l2": m(0.5, 0.4, 0.6)}})
    assert any("only 4 items" in n for n in notes)
    assert any("ffd: zero-width" in n for n in notes) and any("ffd: a perfect score" in n for n in notes)
    assert not any(n.startswith("l2") for n in notes)


def test_rendered_report_has_header_best_marks_and_glossary():
    base = {"task": "seamless/facial-motion", "task_declaration": {"description": "d"}, "n_items": 40, "extras": {},
            "dyadbench_version": "9.9.9", "created": "2026-11-23T00:00:00+00:00", "command": "dyadbench evaluate X",
            "data_root": "/data/S", "slices": {}, "skipped": {}}
    runs = [{**base, "system": "mine", "metrics": {"ffd": m(1.0, 0.5, 1.5, convention="pooled", reference_code="ref-code")}},
            {**base, "system": "random", "metrics": {"ffd": m(9.0, 8.0, 10.0, convention="pooled")}}]
    page = render(runs)
    assert "9.9.9" in page and "dyadbench evaluate X" in page and "/data/S" in page
    assert "class='best'" in page and "★" in page
    assert "Glossary" in page and "Fréchet distance on face-motion features" in page and "ref-code" in page
