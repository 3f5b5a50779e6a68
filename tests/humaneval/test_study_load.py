"""50 concurrent simulated raters on loopback; a SIGKILL of the server mid-run loses nothing."""

import pytest

pytest.importorskip("fastapi")
from dyadbench.humaneval.db import connect, load_study
from dyadbench.humaneval.loadtest import (
    LoadRun,
    check_stored,
    simulated_raters,
    synthetic_study,
)
from dyadbench.humaneval.study import read_study

pytestmark = pytest.mark.slow
RATERS, ITEMS = 50, 100  # 100 comparisons x 4 raters / 50 raters + 2 checks = 10 votes per rater


def test_fifty_raters_and_a_sigkill_lose_no_acknowledged_vote(tmp_path, db_url):
    study = synthetic_study(tmp_path / "study", items=ITEMS, raters=RATERS)
    doc = read_study(study).doc
    engine = connect(db_url)
    secrets = load_study(engine, doc)
    run = LoadRun(study, db_url)
    run.start()
    try:
        result = simulated_raters(run, secrets["raters"], kill_at=0.4, total_votes=len(doc["trials"]), time_limit=240)
    finally:
        run.stop()
    assert not result["errors"] and not result["unfinished"]
    assert result["wall_s"] < 240  # bounded: the run finished well inside its limit
    assert result["acknowledged"] == len(doc["trials"])  # every trial answered and acknowledged
    assert result["acknowledged_before_kill"] >= 0.4 * len(doc["trials"])
    check = check_stored(engine, result["_acknowledged"])
    assert check == {"stored": len(doc["trials"]), "missing": [], "wrong_choice": [], "duplicates": []}
    assert not check_stored(engine, result["_before_kill"])["missing"]  # the votes acknowledged before the kill survived
    server_log = run.log_path.read_text()
    assert not any(tok in server_log for tok in [*secrets["raters"].values(), secrets["admin"]])  # tokens never logged
    engine.dispose()
