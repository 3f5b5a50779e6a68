"""A listener study built straight from two RealTalk retrieval submissions: the speaker plays with
its sound above the two muted listeners, all in sync; the export reports each goal."""

import json
import subprocess
import sys
import time

import pytest
from conftest import export_study, rate_in_browser

pytest.importorskip("fastapi")
from dyadbench.baselines.retrieval import write_retrieval_baseline

pytestmark = pytest.mark.slow
GOALS = ("appropriate", "rude")


def _create(goal_root, tmp_path):
    subs = {name: write_retrieval_baseline(name, goal_root, tmp_path / name, 0, GOALS) for name in ("affect", "random")}
    study = tmp_path / "study"
    cmd = [sys.executable, "-m", "dyadbench", "study", "create", str(study), "--data", str(goal_root),
           "--from-retrieval", f"affect={subs['affect']}", "--from-retrieval", f"random={subs['random']}",
           "--goal", "appropriate", "--goal", "rude", "--max-items", "2", "--raters-per-pair", "1", "--attention-checks", "1"]
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    return study


def test_speaker_in_sync_with_both_listeners_and_per_goal_export(browser, goal_root, tmp_path):
    study = _create(goal_root, tmp_path)
    doc = json.loads((study / "study.json").read_text())
    assert set(doc["goals"].values()) == set(GOALS) and len(doc["contexts"]) == 4  # 2 speakers x 2 goals
    db = f"sqlite:///{tmp_path / 'study.db'}"

    def on_trial(page, trial):
        deadline = time.monotonic() + 20  # (wait_for_function evals a string: the page's CSP forbids it)
        while not page.evaluate("() => { const v = document.getElementById('video-context'); return !v.paused && v.currentTime > 2; }"):
            assert time.monotonic() < deadline, "the speaker clip did not start playing"
            page.wait_for_timeout(100)
        state = page.evaluate("""() => {
            const v = (id) => document.getElementById(id);
            return {visible: !v('context-figure').hidden && v('video-context').videoWidth > 0,
                    contextMuted: v('video-context').muted, leftMuted: v('video-left').muted, rightMuted: v('video-right').muted,
                    audioBytes: v('video-context').webkitAudioDecodedByteCount,
                    times: ['video-context', 'video-left', 'video-right'].map((id) => v(id).currentTime),
                    question: document.getElementById('question').textContent};
        }""")
        assert state["visible"] and not state["contextMuted"] and state["leftMuted"] and state["rightMuted"], state
        assert state["audioBytes"] > 0, state  # the speaker is audible: its audio track decodes
        assert max(state["times"]) - min(state["times"]) < 0.35, state["times"]  # one clock for all three
        if trial["position"] == 0:  # what a rater sees: speaker on top, the two listeners below
            shot = tmp_path / "trial.png"
            page.screenshot(path=str(shot))
            assert shot.stat().st_size > 10_000
        goal = doc["goals"][trial["item"]]
        assert ("rudely" in state["question"]) == (goal == "rude")
        if trial["attention"]:
            return trial["expected"]
        wanted = "affect" if goal == "appropriate" else "random"  # affect's listener when appropriate, random's when rude
        return "left" if trial["left"] == wanted else "right"

    rate_in_browser(browser, study, db, on_trial=on_trial)
    result, votes = export_study(study, db, tmp_path / "results")
    votes = [v for v in votes if v["attention"] in ("False", "0", "false")]
    for goal in GOALS:  # brute force: count the votes of this goal's items
        mine = [v for v in votes if doc["goals"][v["item"]] == goal]
        entry = result["per_goal"][goal]["affect vs random"]
        assert entry["judgements"] == len(mine) == 2
        assert entry["k"] == sum(v["chosen"] == "affect" for v in mine)
        assert entry["preference_a"] == pytest.approx(entry["k"] / len(mine))
        assert entry["low"] <= entry["preference_a"] <= entry["high"] and 0 <= entry["p_value"] <= 1
    assert result["per_goal"]["appropriate"]["affect vs random"]["preference_a"] == 1.0
    assert result["per_goal"]["rude"]["affect vs random"]["preference_a"] == 0.0
