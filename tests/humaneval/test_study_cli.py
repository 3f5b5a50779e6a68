"""`dyadbench study create` and the report section, through the command line."""

import json

from conftest import make_clips, write_faststart_clip
from typer.testing import CliRunner

from dyadbench.cli import app
from dyadbench.humaneval.analysis import analyze
from dyadbench.report.html import render

runner = CliRunner()


def test_study_create_from_system_folders(tmp_path):
    items = [f"spk{k}" for k in range(5)]
    for k, name in enumerate(("gt", "ours", "base")):
        make_clips(tmp_path / name, items, k)
    args = ["study", "create", str(tmp_path / "s"), "--system", f"gt={tmp_path / 'gt'}", "--system", f"ours={tmp_path / 'ours'}",
            "--system", f"base={tmp_path / 'base'}", "--raters-per-pair", "2", "--raters", "3", "--max-items", "4",
            "--attention-checks", "1"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "s" / "study.json").read_text())
    assert len(doc["items"]) == 4 and doc["systems"] == ["gt", "ours", "base"]
    assert sum(not t["attention"] for t in doc["trials"]) == 4 * 3 * 2  # items x system pairs x raters per pair
    assert sum(t["attention"] for t in doc["trials"]) == 3
    again = runner.invoke(app, args)
    assert again.exit_code != 0 and "already exists" in str(again.exception)
    bad = runner.invoke(app, ["study", "create", str(tmp_path / "t"), "--system", "gt", "--system", f"x={tmp_path / 'gt'}"])
    assert bad.exit_code != 0 and "NAME=FOLDER" in bad.output


def test_report_gets_a_human_evaluation_section(seamless_root, tmp_path):
    from dyadbench.baselines import run_baseline
    from dyadbench.runner import evaluate

    run_baseline("seamless/facial-motion", "mean", seamless_root, tmp_path / "sub")
    report = evaluate("seamless/facial-motion", seamless_root, tmp_path / "sub", system="ours", n_boot=5, slice_boot=0)
    rows = [dict(rater=r, item=f"i{i}", system_a="ours", system_b="base", attention=False, expected=None,
                 choice="left", left="ours" if (r + i) % 3 else "base", chosen="ours" if (r + i) % 3 else "base")
            for r in range(4) for i in range(6)]
    human = {"question": "Which listener?", **analyze(rows)}
    report["human_eval"] = human
    page = render([report])
    assert "Human evaluation (2AFC)" in page and "ours vs base" in page
    c = human["comparisons"]["ours vs base"]
    assert f"{c['preference_a']:.1%}" in page and c["n"] == 24


def test_study_create_refuses_a_clip_that_decodes_fewer_frames_than_its_header(tmp_path):
    items = ["spk0", "spk1"]
    make_clips(tmp_path / "gt", items, 0, frames=120, size=(64, 48))
    make_clips(tmp_path / "ours", items, 1, frames=120, size=(64, 48))
    whole = write_faststart_clip(tmp_path / "whole.mp4", size=(64, 48))  # a cut copy keeps the header's 120 frames
    (tmp_path / "ours" / "spk1.mp4").write_bytes(whole.read_bytes()[: int(whole.stat().st_size * 0.4)])
    result = runner.invoke(app, ["study", "create", str(tmp_path / "s"), "--system", f"gt={tmp_path / 'gt'}",
                                 "--system", f"ours={tmp_path / 'ours'}"])
    assert result.exit_code != 0
    assert "spk1.mp4: header promises 120 frames but only" in str(result.exception)
    assert not (tmp_path / "s" / "study.json").exists()


def test_study_create_refuses_mixed_or_incomplete_sources(tmp_path):
    from typer.testing import CliRunner

    from dyadbench.cli import app

    runner = CliRunner()
    both = runner.invoke(app, ["study", "create", str(tmp_path / "a"), "--system", f"x={tmp_path}", "--system", f"y={tmp_path}",
                               "--from-retrieval", f"r={tmp_path}", "--from-retrieval", f"s={tmp_path}"])
    assert both.exit_code != 0 and "either --system" in both.output
    one = runner.invoke(app, ["study", "create", str(tmp_path / "b"), "--from-retrieval", f"r={tmp_path}"])
    assert one.exit_code != 0 and "two or more" in one.output
    no_data = runner.invoke(app, ["study", "create", str(tmp_path / "c"), "--from-retrieval", f"r={tmp_path}",
                                  "--from-retrieval", f"s={tmp_path}"])
    assert no_data.exit_code != 0 and "--data" in no_data.output
    assert not any((tmp_path / n).exists() for n in "abc")  # refused before anything was written
