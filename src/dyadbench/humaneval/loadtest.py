"""Load test of a study server on loopback: simulated raters, and a SIGKILL mid-run.

``simulated_raters`` runs one thread per rater, each doing what the rating page does
(``GET /api/next``, then ``POST`` a vote) as fast as the server answers. A request that fails
(connection refused while the server is down, a 5xx, a 429) is retried with backoff; a vote
counts as *acknowledged* only when the server answered 200/201. ``LoadRun`` starts the server as
a subprocess (``dyadbench study serve``), can SIGKILL it once a fraction of the votes are in and
start it again, and finally checks the database: every acknowledged vote is stored, exactly once,
with the acknowledged choice. Used by the tests and by ``benchmarks/bench_study_load.py``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class RaterLog:
    acknowledged: dict[int, str] = field(default_factory=dict)  # trial id -> choice
    latencies: list[float] = field(default_factory=list)  # seconds per acknowledged vote request
    retries: int = 0
    error: str | None = None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rater(base: str, token: str, seed: int, log: RaterLog, deadline: float, on_ack) -> None:
    import httpx

    rng = np.random.default_rng(seed)
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=10) as client:

        def call(method, path, **kw):
            wait = 0.05
            while time.monotonic() < deadline:
                try:
                    r = client.request(method, path, **kw)
                    if r.status_code < 500 and r.status_code != 429:
                        return r
                except httpx.TransportError:
                    pass
                log.retries += 1
                time.sleep(wait)
                wait = min(wait * 2, 0.5)
            raise TimeoutError(f"{method} {path}: no answer before the deadline")

        try:
            while True:
                nxt = call("GET", "/api/next").json()
                if nxt["trial"] is None:
                    return
                tid, choice = nxt["trial"]["id"], ("left", "right")[int(rng.integers(2))]
                t0 = time.perf_counter()
                r = call("POST", f"/api/trials/{tid}/vote", json={"choice": choice, "response_ms": int(rng.integers(500, 9000))})
                if r.status_code not in (200, 201):
                    raise RuntimeError(f"vote on trial {tid}: HTTP {r.status_code} {r.text}")
                log.latencies.append(time.perf_counter() - t0)
                log.acknowledged[tid] = choice
                on_ack()
        except Exception as exc:  # reported, not raised: the other raters go on
            log.error = f"{type(exc).__name__}: {exc}"


class LoadRun:
    """A study server subprocess that can be killed and restarted."""

    def __init__(self, study: Path, db_url: str, port: int | None = None, log_path: Path | None = None):
        self.study, self.db_url, self.port = Path(study), db_url, port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path or self.study / "server.log"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> float:
        import httpx

        t0 = time.monotonic()
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "dyadbench", "study", "serve", str(self.study), "--db", self.db_url,
                                      "--port", str(self.port)], stdout=log, stderr=subprocess.STDOUT)
        while time.monotonic() - t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"study server exited with {self.proc.returncode}; see {self.log_path}")
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return time.monotonic() - t0
            except httpx.TransportError:
                time.sleep(0.1)
        raise TimeoutError(f"study server did not answer within {timeout} s; see {self.log_path}")

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


def simulated_raters(run: LoadRun, tokens: dict[int, str], *, kill_at: float | None = None, total_votes: int,
                     time_limit: float = 300, seed: int = 0) -> dict:
    """All raters at once; with ``kill_at`` (a fraction of ``total_votes``) the server is SIGKILLed
    when that many votes are acknowledged and started again. Returns figures and logs."""
    logs = {slot: RaterLog() for slot in tokens}
    acked = {"n": 0}
    lock = threading.Lock()
    reached = threading.Event()

    def on_ack():
        with lock:
            acked["n"] += 1
            if kill_at is not None and acked["n"] >= kill_at * total_votes:
                reached.set()

    deadline = time.monotonic() + time_limit
    threads = [threading.Thread(target=_rater, args=(run.base, tok, seed + slot, logs[slot], deadline, on_ack), daemon=True)
               for slot, tok in tokens.items()]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    outage = None
    before_kill: dict[int, str] = {}
    if kill_at is not None:
        if not reached.wait(time_limit):
            raise TimeoutError("the kill point was never reached")
        with lock:
            before_kill = {tid: c for lg in logs.values() for tid, c in lg.acknowledged.items()}
        k0 = time.perf_counter()
        run.kill()
        run.start()
        outage = time.perf_counter() - k0
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    wall = time.perf_counter() - t0
    lat = np.array([x for lg in logs.values() for x in lg.latencies])
    return {
        "raters": len(tokens), "wall_s": wall, "acknowledged": sum(len(lg.acknowledged) for lg in logs.values()),
        "votes_per_s": len(lat) / wall if wall else 0.0,
        "latency_ms": {q: float(np.percentile(lat, p) * 1000) if len(lat) else None for q, p in (("p50", 50), ("p95", 95), ("p99", 99))},
        "retries": sum(lg.retries for lg in logs.values()), "outage_s": outage,
        "acknowledged_before_kill": len(before_kill), "errors": {s: lg.error for s, lg in logs.items() if lg.error},
        "unfinished": [s for s, t in zip(tokens, threads) if t.is_alive()],
        "_acknowledged": {tid: c for lg in logs.values() for tid, c in lg.acknowledged.items()},
        "_before_kill": before_kill,
    }


def check_stored(engine, acknowledged: dict[int, str]) -> dict:
    """Compare acknowledged votes with the database: missing, wrong choice, stored twice."""
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from .db import Vote

    with Session(engine) as s:
        stored = dict(s.execute(select(Vote.trial_id, Vote.choice)).all())
        dupes = s.execute(select(Vote.trial_id).group_by(Vote.trial_id).having(func.count() > 1)).all()
    return {"stored": len(stored), "missing": sorted(set(acknowledged) - set(stored)),
            "wrong_choice": sorted(t for t, c in acknowledged.items() if t in stored and stored[t] != c),
            "duplicates": [d[0] for d in dupes]}


def synthetic_study(out: Path, *, items: int, raters: int, raters_per_pair: int = 4, attention_checks: int = 2,
                    seed: int = 0) -> Path:
    """A study over ``items`` tiny clips (one short clip per system, linked under every item name)."""
    from ..datasets.media import write_video
    from .design import balanced_design
    from .study import system_clips, write_study

    out = Path(out)
    rng = np.random.default_rng(seed)
    names = [f"item_{i:04d}" for i in range(items)]
    systems = {}
    for k, system in enumerate(("reference", "model")):
        folder = out.parent / f"{out.name}-input" / system
        folder.mkdir(parents=True, exist_ok=True)
        base = rng.integers(0, 255, size=(32, 48, 3), dtype=np.uint8)
        clip = folder.parent / f"{system}.mp4"
        write_video(clip, np.stack([np.roll(base, t + k, axis=1) for t in range(8)]), fps=30)
        for name in names:
            (folder / f"{name}.mp4").symlink_to(clip.resolve())
        systems[system] = folder
    trials = balanced_design(names, list(systems), raters_per_pair=raters_per_pair, n_raters=raters,
                             attention_checks=attention_checks, seed=seed)
    write_study(out, system_clips(systems), trials, title="load test")
    return out
