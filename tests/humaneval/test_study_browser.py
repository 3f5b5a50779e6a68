"""End to end in headless Chromium: join by invite link, rate every pair, finish, export."""

import csv
import json
import shutil

import pytest
from conftest import export_study

pytest.importorskip("fastapi")
from dyadbench.humaneval.loadtest import LoadRun

pytestmark = pytest.mark.slow


def test_join_rate_every_pair_finish_and_export(browser, study_dir, tmp_path):
    from playwright.sync_api import expect

    study = tmp_path / "study"
    shutil.copytree(study_dir, study)
    db = f"sqlite:///{tmp_path / 'study.db'}"
    run = LoadRun(study, db)
    run.start()  # the real `dyadbench study serve`: loads the study, writes invites.csv and admin_token
    try:
        links = {int(r["rater_slot"]): r["invite_link"] for r in csv.DictReader((study / "invites.csv").open())}
        trials = sorted((t for t in json.loads((study / "study.json").read_text())["trials"] if t["rater"] == 0),
                        key=lambda t: t["position"])
        page = browser.new_page()
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(links[0])
        page.wait_for_selector("#view-intro:not([hidden])")
        assert "#" not in page.url  # the token left the address bar
        assert "conversation" in page.inner_text("#instructions")
        page.click("#start")
        for k, trial in enumerate(trials):
            page.wait_for_selector("#view-trial:not([hidden])")
            expect(page.locator("#progress-text")).to_contain_text(f"Pair {k + 1} of {len(trials)}")
            # Voting opens only once both clips have played to the end.
            page.wait_for_selector("#choose-left:not([disabled])", timeout=20000)
            assert page.evaluate("document.getElementById('video-left').ended && document.getElementById('video-right').ended")
            side = trial["expected"] if trial["attention"] else ("left" if trial["left"] == "gt" else "right")
            if k % 2:  # keyboard for half the trials, buttons for the rest
                page.keyboard.press("1" if side == "left" else "ArrowRight")
            else:
                page.click(f"#choose-{side}")
        page.wait_for_selector("#view-done:not([hidden])")
        assert len(page.inner_text("#code").strip()) == 10
        page.reload()  # resuming after the end shows the end again
        page.wait_for_selector("#view-done:not([hidden])")
        assert not errors, errors
    finally:
        run.stop()
    result, votes = export_study(study, db, tmp_path / "results")
    comparison = result["comparisons"]["gt vs model"]
    rated = [t for t in trials if not t["attention"]]
    assert comparison["judgements"] == len(rated) and comparison["preference_a"] == 1.0  # we always chose gt
    assert result["attention"]["checks"] == sum(t["attention"] for t in trials) and result["attention"]["failed"] == 0
    assert sum(v["choice"] != "" for v in votes) == len(trials)
    log = run.log_path.read_text()
    assert "POST /api/trials/" in log  # the access log is on ...
    secrets = [link.split("#", 1)[1] for link in links.values()] + [(study / "admin_token").read_text().strip()]
    assert not any(s in log for s in secrets)  # ... and never holds a token
