"""The mismatched-interlocutor design (GENEA 2023): one system's listener beside its own speaker
vs beside another dialogue's speaker; the export gives each system's matched-preference rate."""

import json

import numpy as np
from conftest import make_clips
from scipy.stats import binomtest
from typer.testing import CliRunner

from dyadbench.cli import app
from dyadbench.datasets import media
from dyadbench.humaneval.analysis import analyze
from dyadbench.humaneval.mismatched import dialogue_of, donors

runner = CliRunner()
# Seamless file ids: participants P0947/P0948 are one dialogue (interaction I00000582), and so on
ITEMS = ["V00_S0809_I00000582_P0947", "V00_S0809_I00000582_P0948", "V01_S0810_I00000583_P0949",
         "V01_S0810_I00000583_P0950", "V00_S0811_I00000584_P0951"]


def test_donor_speakers_come_from_other_dialogues_and_are_seeded():
    assert dialogue_of(ITEMS[0]) == dialogue_of(ITEMS[1]) != dialogue_of(ITEMS[2])
    assert dialogue_of("dQw4w9WgXcQ_000384@rude") == "dQw4w9WgXcQ" != dialogue_of("abcdefghijk_000384")
    d = donors(ITEMS, seed=3)
    assert set(d) == set(ITEMS) and all(dialogue_of(k) != dialogue_of(v) for k, v in d.items())
    assert d == donors(ITEMS, seed=3) and sorted(d.values()) == sorted(ITEMS)  # a permutation: each speaker lent once
    try:
        donors(ITEMS[:2])
    except ValueError as exc:
        assert "two or more dialogues" in str(exc)
    else:
        raise AssertionError("one dialogue cannot give a mismatched speaker")


def _gap(a, b):
    return float(np.abs(a.astype(int) - b.astype(int)).mean())


def _halves(path):
    frames = media.read_frames(path)
    return frames, frames[:, :, : frames.shape[2] // 2], frames[:, :, frames.shape[2] // 2 :]


def test_study_create_mismatched_pairs_each_listener_with_its_own_and_another_speaker(tmp_path):
    make_clips(tmp_path / "speakers", ITEMS, 7, frames=12)  # a listener plays in sync with its own speaker
    make_clips(tmp_path / "ours", ITEMS, 8, frames=12)
    args = ["study", "create", str(tmp_path / "s"), "--system", f"ours={tmp_path / 'ours'}", "--context", str(tmp_path / "speakers"),
            "--mismatched", "--raters-per-pair", "2", "--attention-checks", "1"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "s" / "study.json").read_text())
    assert doc["design"] == "mismatched-interlocutor" and doc["playback"] == "sequential"
    assert doc["systems"] == ["matched", "mismatched"] and "appropriately" not in doc["question"]
    assert set(doc["item_systems"].values()) == {"ours"} and len(doc["items"]) == len(ITEMS)
    media_of = {}
    for t in doc["trials"]:
        if not t["attention"]:
            media_of[(t["item"], t["left"])] = t["left_media"]
            media_of[(t["item"], t["right"])] = t["right_media"]
    for key, system in doc["item_systems"].items():
        item = key.split("|")[0]
        matched, m_spk, m_lis = _halves(tmp_path / "s" / "media" / f"{media_of[(key, 'matched')]}.mp4")
        other, o_spk, o_lis = _halves(tmp_path / "s" / "media" / f"{media_of[(key, 'mismatched')]}.mp4")
        assert len(matched) == len(other) == 12  # equal length: duration never tells the pairings apart
        listener = media.read_frames(tmp_path / "ours" / f"{item}.mp4")
        someone_else = media.read_frames(tmp_path / "ours" / f"{doc['donors'][item]}.mp4")
        own = media.read_frames(tmp_path / "speakers" / f"{item}.mp4")
        lent = media.read_frames(tmp_path / "speakers" / f"{doc['donors'][item]}.mp4")
        for half in (m_lis, o_lis):  # the same listener on both sides (up to re-encoding)
            assert _gap(half, listener) < 0.5 * _gap(half, someone_else)
        assert _gap(m_spk, own) < 0.5 * _gap(m_spk, lent)  # matched: its own speaker
        assert _gap(o_spk, lent) < 0.5 * _gap(o_spk, own)  # mismatched: the donor dialogue's speaker
    refused = runner.invoke(app, ["study", "create", str(tmp_path / "t"), "--system", f"ours={tmp_path / 'ours'}", "--mismatched"])
    assert refused.exit_code != 0 and "--context" in refused.output


def test_export_statistics_per_system_are_wilson_and_binomial():
    rows = []
    for system, matched_wins in (("good", 17), ("blind", 10)):
        for j in range(20):
            chosen = "matched" if j < matched_wins else "mismatched"
            rows.append(dict(rater=j % 4, item=f"i{j % 5}|{system}", system_a="matched", system_b="mismatched", attention=False,
                             expected=None, choice="left", left=chosen, chosen=chosen))
    out = analyze(rows, item_systems={r["item"]: r["item"].split("|")[1] for r in rows})
    good, blind = (out["per_system"][s]["matched vs mismatched"] for s in ("good", "blind"))
    assert good["preference_a"] == 17 / 20 and blind["preference_a"] == 0.5
    assert abs(good["p_value"] - binomtest(17, 20, 0.5).pvalue) < 1e-12 and blind["p_value"] == 1.0
    z, p = 1.959963984540054, 17 / 20  # Wilson score interval, re-derived
    centre, half = (p + z * z / 40) / (1 + z * z / 20), z * np.sqrt(p * (1 - p) / 20 + z * z / 1600) / (1 + z * z / 20)
    assert abs(good["low"] - (centre - half)) < 1e-9 and abs(good["high"] - (centre + half)) < 1e-9
    from dyadbench.report.html import _human_eval

    section = _human_eval({"question": "q", **out})  # the report shows one row per generating system
    assert "good: matched vs mismatched" in section and "85.0%" in section and "blind: matched vs mismatched" in section
