"""The 2AFC rating web app (FastAPI).

Raters open ``/join#<token>``: the token lives in the URL *fragment*, which browsers never send
to the server, so it cannot reach an access log; the page keeps it in ``localStorage`` (resume
after closing the browser) and sends it as ``Authorization: Bearer`` on every API call. Clips are
fetched with that header too and played from blob URLs, so no URL ever carries a secret.

Endpoints (all JSON, all validated by pydantic, unknown fields rejected):
  GET  /api/study                      the rater's study: question, instructions, progress
  GET  /api/next                       the rater's next unanswered trial (or finished)
  GET  /api/trials/{id}/{left|right}   a clip of one of the rater's own trials
  POST /api/trials/{id}/vote           {"choice": "left"|"right", "response_ms": int}
  POST /api/finish                     after the last vote: a completion code
  GET  /api/admin/progress             admin token: per-slot progress (never tokens)
  GET  /api/admin/export?format=json|csv   admin token: every trial with its vote
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from importlib import resources
from typing import Literal

from fastapi import Depends, FastAPI, HTTPException, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .db import Rater, Study, Trial, Vote, export_rows, token_hash
from .ratelimit import RateLimiter
from .study import StudyFolder, votes_csv

log = logging.getLogger("dyadbench.study")
MAX_BODY = 2048


class VoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    choice: Literal["left", "right"]
    response_ms: int = Field(ge=0, le=24 * 3600 * 1000)


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not (20 <= len(token) <= 100) or not token.replace("-", "").replace("_", "").isalnum():
        return None
    return token


def create_app(engine: Engine, study: StudyFolder, *, rater_rate: float = 20.0, rater_burst: int = 60,
               failure_rate: float = 0.2, failure_burst: int = 10) -> FastAPI:
    app = FastAPI(title="dyadbench 2AFC study", docs_url=None, redoc_url=None, openapi_url=None)
    per_rater = RateLimiter(rater_rate, rater_burst)
    failures = RateLimiter(failure_rate, failure_burst)  # wrong tokens per client address
    with Session(engine) as s:
        row = s.get(Study, study.id)
        if row is None:
            raise RuntimeError(f"study {study.id} is not in the database; `dyadbench study serve` loads it")
        admin_hash = row.admin_token_hash
    static = resources.files("dyadbench.humaneval") / "static"
    page = (static / "rate.html").read_text()

    @app.middleware("http")
    async def guard(request: Request, call_next):
        if int(request.headers.get("content-length") or 0) > MAX_BODY:
            return JSONResponse({"detail": "request body too large"}, status_code=413)
        response = await call_next(request)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Content-Security-Policy"] = "default-src 'self'; media-src 'self' blob:; img-src 'self' data:"
        if request.url.path.startswith("/api/"):
            response.headers["Cache-Control"] = "no-store"
        return response

    def _client(request: Request) -> str:
        return request.client.host if request.client else "?"

    def _deny(request: Request, status: int = 401, detail: str = "invalid or missing token"):
        if not failures.allow(_client(request)):
            raise HTTPException(429, "too many failed attempts; wait a minute")
        raise HTTPException(status, detail)

    def rater(request: Request) -> Rater:
        token = _bearer(request)
        if token is None:
            _deny(request)
        with Session(engine) as s:
            found = s.scalar(select(Rater).where(Rater.token_hash == token_hash(token), Rater.study_id == study.id))
        if found is None:
            _deny(request)
        if not per_rater.allow(found.token_hash):
            raise HTTPException(429, "too many requests")
        return found

    def admin(request: Request) -> None:
        token = _bearer(request)
        if token is None or token_hash(token) != admin_hash:
            _deny(request)

    def _progress(s: Session, rater_id: int) -> tuple[int, int]:
        total = s.scalar(select(func.count()).select_from(Trial).where(Trial.rater_id == rater_id))
        done = s.scalar(select(func.count()).select_from(Vote).join(Trial).where(Trial.rater_id == rater_id))
        return total, done

    def _own_trial(s: Session, trial_id: int, who: Rater) -> Trial:
        if trial_id > 2**63 - 1:  # beyond any database integer: no such trial (not a 500 from the driver)
            raise HTTPException(404, "no such trial for this rater")
        trial = s.get(Trial, trial_id)
        if trial is None or trial.rater_id != who.id:
            raise HTTPException(404, "no such trial for this rater")
        return trial

    @app.get("/", response_class=HTMLResponse)
    @app.get("/join", response_class=HTMLResponse)
    def rating_page():
        return HTMLResponse(page)

    app.mount("/static", StaticFiles(directory=str(static)), name="static")

    @app.get("/healthz")
    def healthz():
        return {"ok": True}

    @app.get("/api/study")
    def study_info(who: Rater = Depends(rater)):
        with Session(engine) as s:
            total, done = _progress(s, who.id)
        doc = study.doc
        return {"title": doc["title"], "question": doc["question"], "instructions": doc["instructions"],
                "total": total, "done": done, "finished": who.finished_at is not None}

    @app.get("/api/next")
    def next_trial(who: Rater = Depends(rater)):
        with Session(engine) as s:
            if who.started_at is None:
                s.get(Rater, who.id).started_at = dt.datetime.now(dt.UTC)
                s.commit()
            total, done = _progress(s, who.id)
            trial = s.scalar(select(Trial).outerjoin(Vote, Vote.trial_id == Trial.id)
                             .where(Trial.rater_id == who.id, Vote.id.is_(None)).order_by(Trial.position).limit(1))
        if trial is None:
            return {"trial": None, "total": total, "done": done}
        return {"trial": {"id": trial.id, "position": trial.position, "context": study.context_of(trial.item) is not None,
                          "question": study.question_of(trial.item),
                          "sequential": study.doc.get("playback") == "sequential"}, "total": total, "done": done}

    @app.get("/api/trials/{trial_id}/{side}")
    def clip(side: Literal["left", "right", "context"], trial_id: int = PathParam(ge=1), who: Rater = Depends(rater)):
        with Session(engine) as s:
            trial = _own_trial(s, trial_id, who)
            digest = {"left": trial.left_media, "right": trial.right_media, "context": study.context_of(trial.item)}[side]
        if digest is None:
            raise HTTPException(404, "this trial has no context clip")
        return FileResponse(study.media_path(digest), media_type="video/mp4",
                            headers={"Cache-Control": "private, max-age=3600"})

    @app.post("/api/trials/{trial_id}/vote", status_code=201)
    def vote(body: VoteIn, response: Response, trial_id: int = PathParam(ge=1), who: Rater = Depends(rater)):
        with Session(engine) as s:
            _own_trial(s, trial_id, who)
            s.add(Vote(trial_id=trial_id, choice=body.choice, response_ms=body.response_ms))
            try:
                s.commit()  # acknowledged only once committed
            except IntegrityError:  # the database's one-vote-per-trial constraint
                s.rollback()
                existing = s.scalar(select(Vote.choice).where(Vote.trial_id == trial_id))
                if existing != body.choice:
                    raise HTTPException(409, "this trial already has a different vote")
                response.status_code = 200  # a retried request: same vote, stored once
                return {"stored": True, "duplicate": True}
        log.info("vote stored: rater slot %d, trial %d", who.slot, trial_id)
        return {"stored": True, "duplicate": False}

    @app.post("/api/finish")
    def finish(who: Rater = Depends(rater)):
        with Session(engine) as s:
            total, done = _progress(s, who.id)
            if done < total:
                raise HTTPException(409, f"{total - done} trial(s) still to rate")
            row = s.get(Rater, who.id)
            row.finished_at = row.finished_at or dt.datetime.now(dt.UTC)
            s.commit()
        return {"finished": True, "code": hashlib.sha256(f"done:{who.token_hash}".encode()).hexdigest()[:10].upper()}

    @app.get("/api/admin/progress", dependencies=[Depends(admin)])
    def progress():
        with Session(engine) as s:
            raters = s.scalars(select(Rater).where(Rater.study_id == study.id).order_by(Rater.slot)).all()
            out = []
            for r in raters:
                total, done = _progress(s, r.id)
                out.append({"slot": r.slot, "done": done, "total": total, "started": r.started_at is not None,
                            "finished": r.finished_at is not None})
        return {"study": study.id, "votes": sum(r["done"] for r in out), "trials": sum(r["total"] for r in out),
                "raters": out}

    @app.get("/api/admin/export", dependencies=[Depends(admin)])
    def export(format: Literal["json", "csv"] = Query("json")):
        rows = export_rows(engine, study.id)
        if format == "json":
            return {"study": study.id, "rows": rows}
        return Response(votes_csv(rows), media_type="text/csv")

    return app
