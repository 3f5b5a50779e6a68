import json

from typer.testing import CliRunner

from dyadbench.cli import app

runner = CliRunner()


def test_sample_and_inspect_seamless(tmp_path):
    out = tmp_path / "S"
    res = runner.invoke(app, ["sample", "seamless", "--out", str(out), "--seconds", "1", "--width", "96", "--height", "96"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["data", "inspect", str(out), "--json", str(tmp_path / "inv.json")])
    assert res.exit_code == 0, res.output
    doc = json.loads((tmp_path / "inv.json").read_text())
    assert {(r["label"], r["split"]) for r in doc["summary"]} == {
        (label, split) for label in ("improvised", "naturalistic") for split in ("train", "dev", "test")}
    assert all(r["interactions"] == 1 and r["participants"] == 2 for r in doc["summary"])
    assert doc["problems"] == []
    assert "no problems found" in res.output


def test_inspect_realtalk_reports_clip_counts(realtalk_root, tmp_path):
    res = runner.invoke(app, ["data", "inspect", str(realtalk_root), "--json", str(tmp_path / "inv.json")])
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "inv.json").read_text())["summary"][0]
    assert summary["videos"] == 5 and summary["clips"] == summary["train"] + summary["eval"] == 5 and summary["eval"] == 1


def test_inspect_rejects_unknown_layout(tmp_path):
    res = runner.invoke(app, ["data", "inspect", str(tmp_path)])
    assert res.exit_code != 0
    assert "neither a Seamless Interaction root" in str(res.exception)


def test_evaluate_cache_option_puts_features_where_asked(realtalk_root, tmp_path):
    """--cache names the feature cache (a shared folder on a multi-node Ray cluster), never the driver's default."""
    from typer.testing import CliRunner

    from dyadbench.baselines import run_baseline
    from dyadbench.cli import app

    run_baseline("realtalk/listener-retrieval", "random", realtalk_root, tmp_path / "sub")
    res = CliRunner().invoke(app, ["evaluate", "realtalk/listener-retrieval", "--data", str(realtalk_root), "--submission",
                                   str(tmp_path / "sub"), "--out", str(tmp_path / "out"), "--bootstrap", "0",
                                   "--slice-bootstrap", "0", "--cache", str(tmp_path / "cache"),
                                   "--convention", "median_rank=realtalk"])
    assert res.exit_code == 0, res.output
    assert list((tmp_path / "cache").rglob("*.npz"))  # the face embeddings went to --cache
    bad = CliRunner().invoke(app, ["evaluate", "realtalk/listener-retrieval", "--data", str(realtalk_root), "--submission",
                                   str(tmp_path / "sub"), "--out", str(tmp_path / "out2"), "--convention", "median_rank"])
    assert bad.exit_code != 0 and "METRIC=CONVENTION" in bad.output


def test_inspect_exits_non_zero_on_problems_and_on_the_wrong_dataset(realtalk_root, tmp_path):
    out = tmp_path / "S"
    assert runner.invoke(app, ["sample", "seamless", "--out", str(out), "--seconds", "1", "--width", "96", "--height", "96"]).exit_code == 0
    victim = next(out.rglob("*.npz"))
    victim.write_bytes(victim.read_bytes()[:100])  # a cut bundle
    res = runner.invoke(app, ["data", "inspect", str(out)])
    assert res.exit_code == 1 and "problem(s)" in res.output
    res = runner.invoke(app, ["data", "inspect", str(realtalk_root), "--dataset", "seamless", "--json", str(tmp_path / "i.json")])
    reasons = [p["reason"] for p in json.loads((tmp_path / "i.json").read_text())["problems"]]
    assert res.exit_code == 1 and reasons == ["no Seamless Interaction dyad found here (this looks like a realtalk root)"]


def test_evaluate_compare_to_prints_and_records_paired_differences(seamless_root, tmp_path):
    from dyadbench.baselines import run_baseline

    for name in ("random", "mean"):
        run_baseline("seamless/facial-motion", name, seamless_root, tmp_path / "subs" / name)
    res = runner.invoke(app, ["evaluate", "seamless/facial-motion", "--data", str(seamless_root), "--submission",
                              str(tmp_path / "subs" / "random"), "--out", str(tmp_path / "res" / "random"), "--bootstrap", "20"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["evaluate", "seamless/facial-motion", "--data", str(seamless_root), "--submission",
                              str(tmp_path / "subs" / "mean"), "--out", str(tmp_path / "res" / "mean"), "--bootstrap", "20",
                              "--compare-to", str(tmp_path / "res" / "random")], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert "paired difference mean − random" in res.output
    report = json.loads((tmp_path / "res" / "mean" / "report.json").read_text())
    d = report["compared_to"]["differences"]["l2"]
    assert report["compared_to"]["system"] == "random" and d["low"] <= d["difference"] <= d["high"]
    assert d["difference"] == report["metrics"]["l2"]["value"] - json.loads(
        (tmp_path / "res" / "random" / "report.json").read_text())["metrics"]["l2"]["value"]
    assert "Paired differences to random" in (tmp_path / "res" / "mean" / "report.html").read_text()
    # a report of another task is refused before any work
    res = runner.invoke(app, ["evaluate", "seamless/gesture", "--data", str(seamless_root), "--submission",
                              str(tmp_path / "subs" / "mean"), "--out", str(tmp_path / "res" / "g"),
                              "--compare-to", str(tmp_path / "res" / "random")])
    assert res.exit_code != 0 and "not of seamless/gesture" in (res.output + str(res.exception))


def test_a_sample_without_video_inspects_clean(tmp_path):
    out = tmp_path / "S"
    res = runner.invoke(app, ["sample", "seamless", "--out", str(out), "--seconds", "1", "--no-video"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["data", "inspect", str(out)])
    assert res.exit_code == 0 and "missing .mp4" not in res.output and "no problems found" in res.output, res.output
