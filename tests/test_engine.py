"""The local engine's actor pool: one worker instance per process, every job once, bad engines refused."""

import os

import pytest

from dyadbench.engine import run_actors


class Tagger:
    """Records which process built it and how many jobs it has served."""

    def __init__(self, offset: int):
        self.offset, self.pid, self.served = offset, os.getpid(), 0

    def __call__(self, job: int):
        self.served += 1
        return job + self.offset, self.pid, self.served


@pytest.mark.parametrize("workers", [1, 2])
def test_every_job_once_and_one_actor_per_worker(workers):
    out = dict(run_actors(Tagger, {"offset": 100}, list(range(12)), engine="local", workers=workers))
    assert sorted(out) == list(range(12)) and all(out[i][0] == i + 100 for i in out)
    pids = {pid for _, pid, _ in out.values()}
    assert 1 <= len(pids) <= workers
    for pid in pids:  # each process built its worker once and reused it for all of its jobs
        served = sorted(s for _, p, s in out.values() if p == pid)
        assert served == list(range(1, len(served) + 1))


def test_unknown_engine_is_refused():
    with pytest.raises(ValueError, match="engine"):
        list(run_actors(Tagger, {"offset": 0}, [1], engine="spark"))
