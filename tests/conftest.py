import os
from pathlib import Path

import pytest

# Never touch the user's cache from tests.
os.environ.setdefault("DYADBENCH_CACHE", str(Path(os.environ.get("TMPDIR", "/tmp")) / f"dyadbench-test-cache-{os.getpid()}"))


@pytest.fixture(scope="session")
def seamless_root(tmp_path_factory) -> Path:
    from dyadbench.datasets.sample.seamless_sample import write_seamless_sample

    root = tmp_path_factory.mktemp("seamless")
    write_seamless_sample(root, dyads=1, seconds=2.0, seed=0, width=320, height=240)
    return root


@pytest.fixture(scope="session")
def realtalk_root(tmp_path_factory) -> Path:
    from dyadbench.datasets.sample.realtalk_sample import write_realtalk_sample

    root = tmp_path_factory.mktemp("realtalk")
    write_realtalk_sample(root, videos=5, seconds=16.0, seed=0, width=320, height=180)
    return root
