"""The rating API against SQLite and against a real PostgreSQL server."""

import json

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dyadbench.humaneval.analysis import analyze
from dyadbench.humaneval.app import create_app
from dyadbench.humaneval.db import Vote, connect, export_rows, load_study
from dyadbench.humaneval.study import read_study


@pytest.fixture
def served(study_dir, db_url):
    study = read_study(study_dir)
    engine = connect(db_url)
    secrets = load_study(engine, study.doc)
    assert load_study(engine, study.doc) is None  # a second start does not mint new tokens
    client = TestClient(create_app(engine, study, failure_rate=0.01, failure_burst=5))
    yield client, secrets, engine, study
    engine.dispose()


def auth(token):
    return {"Authorization": f"Bearer {token}"}


def rate_everything(client, token, choose):
    """Answer every trial of one rater with ``choose(trial row) -> side``; returns the choices."""
    made = {}
    while True:
        nxt = client.get("/api/next", headers=auth(token)).json()
        if nxt["trial"] is None:
            return made
        tid = nxt["trial"]["id"]
        for side in ("left", "right"):
            clip = client.get(f"/api/trials/{tid}/{side}", headers=auth(token))
            assert clip.status_code == 200 and clip.headers["content-type"] == "video/mp4" and len(clip.content) > 100
        side = choose(tid)
        r = client.post(f"/api/trials/{tid}/vote", headers=auth(token), json={"choice": side, "response_ms": 1234})
        assert r.status_code == 201, r.text
        made[tid] = side


def test_rate_all_finish_and_export(served):
    client, secrets, engine, study = served
    assert client.get("/").status_code == 200 and "rate.js" in client.get("/join").text
    for slot, token in secrets["raters"].items():
        info = client.get("/api/study", headers=auth(token)).json()
        assert info["done"] == 0 and info["total"] == sum(t["rater"] == slot for t in study.doc["trials"])
        assert client.post("/api/finish", headers=auth(token)).status_code == 409  # not done yet
        rate_everything(client, token, lambda tid: "left" if tid % 3 else "right")
        done = client.post("/api/finish", headers=auth(token))
        assert done.status_code == 200 and len(done.json()["code"]) == 10
    progress = client.get("/api/admin/progress", headers=auth(secrets["admin"])).json()
    assert progress["votes"] == progress["trials"] == len(study.doc["trials"])
    assert all(r["finished"] for r in progress["raters"])
    exported = client.get("/api/admin/export", headers=auth(secrets["admin"])).json()["rows"]
    assert exported == json.loads(json.dumps(export_rows(engine, study.id)))
    csv_text = client.get("/api/admin/export?format=csv", headers=auth(secrets["admin"])).text
    assert csv_text.count("\n") == len(exported) + 1
    # Brute-force check of the headline statistic against the raw rows.
    result = analyze(exported, max_failed_checks=10)
    main = [r for r in exported if not r["attention"]]
    comp = result["comparisons"]["gt vs model"]
    assert comp["judgements"] == len(main)
    assert comp["preference_a"] == pytest.approx(sum(r["chosen"] == "gt" for r in main) / len(main))


def test_one_vote_per_trial_is_a_database_constraint(served):
    client, secrets, engine, _ = served
    token = secrets["raters"][0]
    tid = client.get("/api/next", headers=auth(token)).json()["trial"]["id"]
    assert client.post(f"/api/trials/{tid}/vote", headers=auth(token), json={"choice": "left", "response_ms": 5}).status_code == 201
    again = client.post(f"/api/trials/{tid}/vote", headers=auth(token), json={"choice": "left", "response_ms": 9})
    assert again.status_code == 200 and again.json()["duplicate"] is True  # a retried request
    assert client.post(f"/api/trials/{tid}/vote", headers=auth(token), json={"choice": "right", "response_ms": 5}).status_code == 409
    with Session(engine) as s:
        s.add(Vote(trial_id=tid, choice="right", response_ms=1))
        with pytest.raises(IntegrityError):
            s.commit()
    with Session(engine) as s:
        assert s.query(Vote).filter_by(trial_id=tid).count() == 1


def test_raters_see_only_their_own_trials_and_resume(served):
    client, secrets, _, _ = served
    a, b = secrets["raters"][0], secrets["raters"][1]
    first = client.get("/api/next", headers=auth(a)).json()["trial"]["id"]
    assert client.get(f"/api/trials/{first}/left", headers=auth(b)).status_code == 404
    assert client.post(f"/api/trials/{first}/vote", headers=auth(b), json={"choice": "left", "response_ms": 1}).status_code == 404
    huge = 2**63  # one past the largest database integer
    assert client.post(f"/api/trials/{huge}/vote", headers=auth(b), json={"choice": "left", "response_ms": 1}).status_code == 404
    assert client.get(f"/api/trials/{huge}/left", headers=auth(b)).status_code == 404
    client.post(f"/api/trials/{first}/vote", headers=auth(a), json={"choice": "left", "response_ms": 1})
    # A new browser session with the same token continues after the answered trial.
    fresh = TestClient(client.app)
    nxt = fresh.get("/api/next", headers=auth(a)).json()
    assert nxt["done"] == 1 and nxt["trial"]["id"] != first and nxt["trial"]["position"] == 1


@pytest.mark.parametrize("body", [{"choice": "middle", "response_ms": 1}, {"choice": "left"},
                                  {"choice": "left", "response_ms": -1}, {"choice": "left", "response_ms": 1, "x": 1},
                                  {"choice": "left", "response_ms": "soon"}])
def test_invalid_votes_are_rejected(served, body):
    client, secrets, engine, _ = served
    token = secrets["raters"][0]
    tid = client.get("/api/next", headers=auth(token)).json()["trial"]["id"]
    assert client.post(f"/api/trials/{tid}/vote", headers=auth(token), json=body).status_code == 422
    assert client.post("/api/trials/0/vote", headers=auth(token), json={"choice": "left", "response_ms": 1}).status_code == 422
    assert client.post(f"/api/trials/{tid}/vote", headers={**auth(token), "content-type": "application/json"},
                       content=b"{" + b" " * 5000 + b"}").status_code == 413
    with Session(engine) as s:
        assert s.query(Vote).count() == 0


def test_tokens_are_checked_and_failures_rate_limited(served):
    client, secrets, _, _ = served
    codes = [client.get("/api/study").status_code,
             client.get("/api/admin/progress", headers=auth(secrets["raters"][0])).status_code,  # a rater is not admin
             client.get("/api/admin/export").status_code,
             client.get("/api/next", headers={"Authorization": "Basic abc"}).status_code]
    codes += [client.get("/api/study", headers=auth("x" * 32)).status_code for _ in range(4)]
    assert codes == [401] * 5 + [429] * 3  # a burst of 5 failures per address, then refused
    r = client.get("/api/study", headers=auth(secrets["raters"][0]))
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
