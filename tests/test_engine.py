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


class Registering(Tagger):
    """Leaves one file per construction in ``folder``: how many actors were built, by which process."""

    def __init__(self, offset: int, folder: str):
        super().__init__(offset)
        with open(os.path.join(folder, f"{os.getpid()}-{len(os.listdir(folder))}"), "w"):
            pass


class Refusing:
    def __init__(self):
        raise FileNotFoundError("weights.pt: not found (download from https://example.org/weights)")


@pytest.mark.parametrize("workers", [1, 2])
def test_pool_builds_every_actor_before_returning_and_reuses_them_across_runs(workers, tmp_path):
    from dyadbench.engine import ActorPool

    with ActorPool(Registering, {"offset": 0, "folder": str(tmp_path)}, engine="local", workers=workers) as pool:
        built = sorted(os.listdir(tmp_path))
        assert len(built) == workers and len({b.split("-")[0] for b in built}) == workers  # one per process, up front
        first = dict(pool.run(list(range(6))))
        second = dict(pool.run(list(range(6, 12))))
        assert sorted(first) == list(range(6)) and sorted(second) == list(range(6))
        assert sorted(os.listdir(tmp_path)) == built  # the second run built nothing
        served = [s for _, _, s in first.values()] + [s for _, _, s in second.values()]
        assert max(served) > 6 // workers  # an actor kept counting across the two runs
    with pytest.raises(RuntimeError, match="after close"):
        pool.run([1])


@pytest.mark.parametrize("workers", [1, 2])
def test_an_actor_that_cannot_start_reports_its_own_error(workers):
    from dyadbench.engine import ActorPool

    with pytest.raises(FileNotFoundError, match="weights.pt: not found"):
        ActorPool(Refusing, {}, engine="local", workers=workers)


PRESTART_SCRIPT = '''
import os, sys

MARKER = "dyadbench.metrics.listener"  # imported by neither this script nor dyadbench.engine


class Probe:
    def __init__(self):
        self.had_marker = MARKER in sys.modules  # before the actor ran any code of its own

    def __call__(self, job):
        return job * 2, self.had_marker, os.getppid()


if __name__ == "__main__":
    from dyadbench import engine

    if sys.argv[1] == "prestart":
        engine.prestart_local(MARKER)
    out = dict(engine.run_actors(Probe, {}, list(range(6)), engine="local", workers=2))
    assert sorted(out) == list(range(6)) and all(out[i][0] == 2 * i for i in out), out
    print(sorted({had for _, had, _ in out.values()}), MARKER in sys.modules)
'''


@pytest.mark.parametrize("mode", ["prestart", "plain"])
def test_prestarted_process_server_hands_its_imports_to_the_workers(mode, tmp_path):
    """``prestart_local(module)``: the workers are forked with ``module`` already imported (their
    start-up skips those imports); this process never imports it; without it, workers import only
    what they need."""
    import subprocess
    import sys

    script = tmp_path / "probe.py"
    script.write_text(PRESTART_SCRIPT)
    res = subprocess.run([sys.executable, str(script), mode], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    expected = "[True] False" if mode == "prestart" else "[False] False"
    assert res.stdout.strip() == expected
