"""A mismatched-interlocutor study on the RealTalk sample, end to end in a browser: each stimulus is
a speaker beside the system's top-1 listener, with that speaker's sound; the two play one after
the other; a rater who always picks the listener's own speaker gives a matched-preference rate of
1 with its Wilson interval and binomial test in the export."""

import json
import subprocess
import sys
import time

import pytest
from conftest import export_study, rate_in_browser
from scipy.stats import binomtest

pytest.importorskip("fastapi")
from dyadbench.baselines.retrieval import write_retrieval_baseline

pytestmark = pytest.mark.slow


def assert_sequential_instructions(page):
    assert "one after the other" in page.text_content("#instructions")


def _wait(page, script, what, seconds=30):
    deadline = time.monotonic() + seconds  # (wait_for_function evals a string: the page's CSP forbids it)
    while not page.evaluate(script):
        assert time.monotonic() < deadline, what
        page.wait_for_timeout(100)


def test_matched_vs_mismatched_speaker_plays_in_turn_and_exports_each_systems_rate(browser, goal_root, tmp_path):
    sub = write_retrieval_baseline("speaker_nearest_neighbour", goal_root, tmp_path / "nn", 0, ("appropriate",))
    study = tmp_path / "study"
    done = subprocess.run([sys.executable, "-m", "dyadbench", "study", "create", str(study), "--data", str(goal_root),
                           "--from-retrieval", f"nn={sub}", "--mismatched", "--max-items", "2", "--raters-per-pair", "1",
                           "--attention-checks", "1"], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    doc = json.loads((study / "study.json").read_text())
    assert doc["design"] == "mismatched-interlocutor" and set(doc["item_systems"].values()) == {"nn"}
    db = f"sqlite:///{tmp_path / 'study.db'}"

    def on_trial(page, trial):
        _wait(page, "() => { const v = document.getElementById('video-left'); return !v.paused && v.currentTime > 0.5; }",
              "the first video did not start")
        first = page.evaluate("""() => { const v = (id) => document.getElementById(id);
            return {leftMuted: v('video-left').muted, rightPaused: v('video-right').paused, rightAt: v('video-right').currentTime,
                    question: v('question').textContent, hidden: v('context-figure').hidden}; }""")
        assert not first["leftMuted"] and first["rightPaused"] and first["rightAt"] == 0, first  # one at a time
        assert first["hidden"] and "appropriately" not in first["question"] and "speaker" in first["question"]
        _wait(page, "() => { const v = document.getElementById('video-right'); return !v.paused && v.currentTime > 0.5; }",
              "the second video did not follow the first")
        second = page.evaluate("""() => { const v = (id) => document.getElementById(id);
            return {leftEnded: v('video-left').ended, rightMuted: v('video-right').muted,
                    audio: v('video-right').webkitAudioDecodedByteCount}; }""")
        assert second["leftEnded"] and not second["rightMuted"], second
        if trial["attention"]:  # a catch clip is frozen and silent
            return trial["expected"]
        assert second["audio"] > 0, second  # a pairing carries its speaker's sound
        return "left" if trial["left"] == "matched" else "right"

    rate_in_browser(browser, study, db, on_trial=on_trial, playback_rate=4,
                    on_intro=lambda page: assert_sequential_instructions(page))
    result, votes = export_study(study, db, tmp_path / "results")
    assert result["design"] == "mismatched-interlocutor"
    entry = result["per_system"]["nn"]["matched vs mismatched"]
    n = sum(v["attention"] in ("False", "0", "false") for v in votes)
    assert entry["judgements"] == n == 2 and entry["preference_a"] == 1.0
    assert entry["p_value"] == pytest.approx(binomtest(2, 2, 0.5).pvalue)
    assert 0 < entry["low"] < 1.0 <= entry["high"] + 1e-12  # Wilson: 2 of 2 is not certainty
