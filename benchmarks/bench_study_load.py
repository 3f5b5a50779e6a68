"""Study server under load on loopback: N concurrent simulated raters, with and without a
SIGKILL of the server mid-run, on SQLite and (when a URL is given) PostgreSQL.

Each simulated rater does what the rating page does, without pauses: GET /api/next, then POST a
vote, until it has answered all of its trials. Figures: wall time, acknowledged votes per second,
vote latency percentiles, retries while the server was down, the outage (kill -> answering again),
and the database check (acknowledged votes missing / stored twice / with another choice).

Run: .venv/bin/python benchmarks/bench_study_load.py [--raters 50 --items 400]
     [--postgres postgresql+psycopg://user:pw@127.0.0.1:5432/db]   (scripts/ci_postgres.sh prints one)
"""

from __future__ import annotations

import argparse
import json
import tempfile
import uuid
from pathlib import Path


def one_run(label: str, db_url: str, study: Path, kill: bool) -> dict:
    from dyadbench.humaneval.db import connect, load_study
    from dyadbench.humaneval.loadtest import LoadRun, check_stored, simulated_raters
    from dyadbench.humaneval.study import read_study

    doc = read_study(study).doc
    engine = connect(db_url)
    secrets = load_study(engine, doc)
    run = LoadRun(study, db_url, log_path=study.parent / f"server-{uuid.uuid4().hex[:6]}.log")
    run.start()
    try:
        r = simulated_raters(run, secrets["raters"], kill_at=0.5 if kill else None, total_votes=len(doc["trials"]))
    finally:
        run.stop()
    check = check_stored(engine, r["_acknowledged"])
    engine.dispose()
    lat = r["latency_ms"]
    row = {"db": label, "sigkill": kill, "raters": r["raters"], "votes": r["acknowledged"], "wall_s": round(r["wall_s"], 2),
           "votes_per_s": round(r["votes_per_s"], 1), "p50_ms": round(lat["p50"], 1), "p95_ms": round(lat["p95"], 1),
           "p99_ms": round(lat["p99"], 1), "retries": r["retries"],
           "outage_s": round(r["outage_s"], 2) if r["outage_s"] is not None else None,
           "acked_before_kill": r["acknowledged_before_kill"] if kill else None,
           "missing": len(check["missing"]), "duplicates": len(check["duplicates"]), "wrong": len(check["wrong_choice"]),
           "errors": len(r["errors"])}
    print(json.dumps(row))
    return row


def fresh_postgres(url: str) -> str:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin_url = make_url(url)
    name = f"dyadbench_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return admin_url.set(database=name).render_as_string(hide_password=False)


def main():
    from dyadbench.humaneval.loadtest import synthetic_study

    ap = argparse.ArgumentParser()
    ap.add_argument("--raters", type=int, default=50)
    ap.add_argument("--items", type=int, default=400, help="comparisons; x4 raters each, + 2 checks per rater")
    ap.add_argument("--postgres", default=None)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-study-"))
    rows = []
    for kill in (False, True):
        study = synthetic_study(tmp / f"study-{int(kill)}", items=args.items, raters=args.raters)
        rows.append(one_run("sqlite", f"sqlite:///{study / 'bench.db'}", study, kill))
        if args.postgres:
            study_pg = synthetic_study(tmp / f"study-pg-{int(kill)}", items=args.items, raters=args.raters)
            rows.append(one_run("postgresql", fresh_postgres(args.postgres), study_pg, kill))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
