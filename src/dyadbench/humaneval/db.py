"""The study database (SQLAlchemy 2.0): SQLite file by default, PostgreSQL by URL.

Integrity lives in the schema, not only in code: one vote per trial is ``UNIQUE(votes.trial_id)``,
a rater's sequence is ``UNIQUE(trials.rater_id, position)``, a choice is ``CHECK(choice IN
('left', 'right'))``. A vote is acknowledged only after its transaction commits, so a server
killed at any moment loses no acknowledged vote.

Nothing personal is stored: a rater is a slot number and the SHA-256 of their invite token (the
token itself is never stored or logged); a vote is the choice, the response time and a timestamp.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    create_engine,
    event,
    func,
    select,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.pool import StaticPool


class Base(DeclarativeBase):
    pass


class Study(Base):
    __tablename__ = "studies"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    question: Mapped[str] = mapped_column(String(500))
    admin_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Rater(Base):
    __tablename__ = "raters"
    __table_args__ = (UniqueConstraint("study_id", "slot", name="one_rater_per_slot"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_id: Mapped[str] = mapped_column(ForeignKey("studies.id"), index=True)
    slot: Mapped[int] = mapped_column(Integer)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Trial(Base):
    __tablename__ = "trials"
    __table_args__ = (UniqueConstraint("rater_id", "position", name="one_trial_per_position"),
                      CheckConstraint("expected IS NULL OR expected IN ('left', 'right')", name="expected_side"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rater_id: Mapped[int] = mapped_column(ForeignKey("raters.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    item: Mapped[str] = mapped_column(String(200))
    system_a: Mapped[str] = mapped_column(String(200))
    system_b: Mapped[str] = mapped_column(String(200))
    left: Mapped[str] = mapped_column(String(200))
    right: Mapped[str] = mapped_column(String(200))
    left_media: Mapped[str] = mapped_column(String(32))
    right_media: Mapped[str] = mapped_column(String(32))
    attention: Mapped[bool] = mapped_column(Boolean, default=False)
    expected: Mapped[str | None] = mapped_column(String(5), nullable=True)


class Vote(Base):
    __tablename__ = "votes"
    __table_args__ = (UniqueConstraint("trial_id", name="one_vote_per_trial"),
                      CheckConstraint("choice IN ('left', 'right')", name="choice_side"),
                      CheckConstraint("response_ms >= 0", name="response_ms_nonnegative"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id"))
    choice: Mapped[str] = mapped_column(String(5))
    response_ms: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


def token_hash(token: str) -> str:
    # Tokens carry 192 random bits, so an unsalted SHA-256 is enough to make a database dump useless.
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(24)


def connect(url: str) -> Engine:
    """An engine with the schema created. SQLite: WAL journal (readers never wait for the
    writer), foreign keys on, and a busy timeout so concurrent raters queue instead of failing."""
    if url.startswith("sqlite"):
        in_memory = make_url(url).database in (None, "", ":memory:")
        pool = {"poolclass": StaticPool} if in_memory else {"pool_size": 20, "max_overflow": 20}
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **pool)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()
    else:
        engine = create_engine(url, pool_size=20, max_overflow=20, pool_pre_ping=True)
    Base.metadata.create_all(engine)
    return engine


def load_study(engine: Engine, doc: dict) -> dict | None:
    """Put a study design into the database once. Returns the new secrets ``{"admin": token,
    "raters": {slot: token}}`` the first time, None when the study is already there (tokens
    cannot be recovered from the database: only their hashes are kept)."""
    with Session(engine) as s, s.begin():
        if s.get(Study, doc["id"]) is not None:
            return None
        admin = new_token()
        s.add(Study(id=doc["id"], title=doc["title"][:200], question=doc["question"][:500],
                    admin_token_hash=token_hash(admin)))
        s.flush()  # no ORM relationships, so insert order is ours to give
        tokens, raters = {}, {}
        for slot in sorted({t["rater"] for t in doc["trials"]}):
            tokens[slot] = new_token()
            raters[slot] = Rater(study_id=doc["id"], slot=slot, token_hash=token_hash(tokens[slot]))
        s.add_all(raters.values())
        s.flush()
        s.add_all(Trial(rater_id=raters[t["rater"]].id, position=t["position"], item=t["item"], system_a=t["system_a"],
                        system_b=t["system_b"], left=t["left"], right=t["right"], left_media=t["left_media"],
                        right_media=t["right_media"], attention=bool(t["attention"]), expected=t["expected"])
                  for t in doc["trials"])
    return {"admin": admin, "raters": tokens}


def export_rows(engine: Engine, study_id: str) -> list[dict]:
    """Every trial of a study with its vote (choice None when not yet answered)."""
    q = (select(Rater.slot, Trial.position, Trial.item, Trial.system_a, Trial.system_b, Trial.left, Trial.right,
                Trial.attention, Trial.expected, Vote.choice, Vote.response_ms, Vote.created_at)
         .join(Trial, Trial.rater_id == Rater.id).outerjoin(Vote, Vote.trial_id == Trial.id)
         .where(Rater.study_id == study_id).order_by(Rater.slot, Trial.position))
    with Session(engine) as s:
        rows = [dict(r._mapping) for r in s.execute(q)]
    for r in rows:
        r["rater"] = r.pop("slot")
        r["chosen"] = None if r["choice"] is None else r[r["choice"]]
        r["created_at"] = r["created_at"].isoformat() if r["created_at"] else None
    return rows
