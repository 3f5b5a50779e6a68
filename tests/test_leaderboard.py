"""Leaderboard: one table per task, duplicates merged or refused, other JSON skipped, numeric CSV."""

import json

import pytest

from dyadbench.report.files import SCHEMA
from dyadbench.report.leaderboard import leaderboard, per_task


def report(task, system, value, low=None, high=None):
    return {"schema": SCHEMA, "task": task, "system": system, "n_items": 4,
            "metrics": {"ffd" if "facial" in task else "recall_at_500": {"value": value, "low": low, "high": high, "better": "lower", "n": 4}}}


def write(path, doc):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))
    return path


def test_demo_folder_with_bundle_copies_and_other_json(tmp_path):
    a = report("seamless/facial-motion", "mirror", 0.5, 0.2, 0.9)
    b = report("realtalk/listener-retrieval", "random", 0.26, 0.2, 0.3)
    write(tmp_path / "runs" / "a" / "report.json", a)
    write(tmp_path / "runs" / "b" / "report.json", b)
    write(tmp_path / "report.json", {"schema": "dyadbench.demo/1", "reports": [a, b]})  # the demo's own bundle
    write(tmp_path / "study" / "human_eval.json", {"comparisons": {}})
    table, reports, notes = leaderboard([tmp_path])
    assert len(reports) == 2 and sorted(table["task"]) == ["realtalk/listener-retrieval", "seamless/facial-motion"]
    # other JSON under the folders (a study's human_eval.json) is counted in one note, never read
    assert sum("counted once" in n for n in notes) == 2 and any("1 other .json file(s)" in n for n in notes)
    assert table["low"].dtype.kind == "f" and table.loc[table["system"] == "mirror", "high"].item() == 0.9
    wide = per_task(table)
    assert list(wide["seamless/facial-motion"].columns) == ["system", "ffd"]  # no other task's columns


def test_the_same_system_with_different_numbers_is_refused(tmp_path):
    write(tmp_path / "x" / "report.json", report("seamless/facial-motion", "mine", 0.5))
    write(tmp_path / "y" / "report.json", report("seamless/facial-motion", "mine", 0.7))
    with pytest.raises(ValueError, match="different numbers"):
        leaderboard([tmp_path])
    with pytest.raises(FileNotFoundError, match="no dyadbench report"):
        leaderboard([write(tmp_path / "z" / "other.json", {"a": 1})])


def test_runs_under_other_conventions_or_on_other_items_are_never_ranked_together(tmp_path):
    base = report("seamless/facial-motion", "a", 6.15)
    write(tmp_path / "a" / "report.json", {**base, "conventions": {"l2": "dyadbench"}, "items_fingerprint": "f1"})
    write(tmp_path / "b" / "report.json", {**report("seamless/facial-motion", "b", 0.0108),
                                           "conventions": {"l2": "lm-listener"}, "items_fingerprint": "f1"})
    write(tmp_path / "c" / "report.json", {**report("seamless/facial-motion", "c", 5.0),
                                           "conventions": {"l2": "dyadbench"}, "items_fingerprint": "f2", "n_items": 12})
    write(tmp_path / "d" / "report.json", {**report("seamless/facial-motion", "d", 7.0),
                                           "conventions": {"l2": "dyadbench"}, "items_fingerprint": "f1"})
    table, reports, _ = leaderboard([tmp_path])
    wide = per_task(table)
    assert len(wide) == 3  # a+d together; b (another convention) and c (other items) each apart
    together = next(t for t in wide.values() if len(t) == 2)
    assert sorted(together["system"]) == ["a", "d"]
    titles = " | ".join(wide)
    assert "conventions l2=lm-listener" in titles and "data f2" in titles
    # the same system name on other items is another run, not a conflict
    write(tmp_path / "e" / "report.json", {**report("seamless/facial-motion", "a", 9.9), "items_fingerprint": "f3",
                                           "conventions": {"l2": "dyadbench"}})
    assert len(per_task(leaderboard([tmp_path])[0])) == 4


def test_runs_on_different_data_manifests_are_kept_apart_and_say_so(tmp_path):
    """Same task, conventions and item ids, but different arrays (another copy of the data): the
    manifest hashes differ, so the runs are not ranked together and the titles say why."""
    for name, digest, value in (("a", "1" * 64, 6.1), ("b", "1" * 64, 6.3), ("c", "2" * 64, 5.0)):
        write(tmp_path / name / "report.json", {**report("seamless/facial-motion", name, value), "items_fingerprint": "f1",
                                                "manifest": {"hash": digest, "n_items": 4, "frames": 480}})
    table, _, _ = leaderboard([tmp_path])
    wide = per_task(table)
    assert sorted(len(t) for t in wide.values()) == [1, 2]
    assert sorted(next(t for t in wide.values() if len(t) == 2)["system"]) == ["a", "b"]
    titles = " | ".join(wide)
    assert "manifest 111111111111" in titles and "manifest 222222222222" in titles and "not comparable" in titles


def test_html_page_is_one_ranked_table_per_comparable_group(tmp_path):
    from dyadbench.report.leaderboard_html import render_leaderboard

    for name, value in (("b", 0.7), ("a", 0.2), ("c", 0.5)):
        write(tmp_path / name / "report.json", report("seamless/facial-motion", name, value, value - 0.1, value + 0.1))
    write(tmp_path / "r" / "report.json", report("realtalk/listener-retrieval", "random", 0.26, 0.2, 0.3))
    _, reports, _ = leaderboard([tmp_path])
    page = render_leaderboard(reports)
    assert page.count("<table class='metrics'>") == 2 and "<svg" not in page
    facial = page[page.index("seamless/facial-motion"):]
    assert facial.index(">a<") < facial.index(">c<") < facial.index(">b<")  # lower is better: ranked ascending
    assert "[0.10, 0.30]" in facial  # each value with its interval
