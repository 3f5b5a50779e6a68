import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
REQUIRE_BROWSER = os.environ.get("DYADBENCH_REQUIRE_BROWSER") == "1"  # CI installs chromium: never skip there

# Never touch the user's cache from tests.
os.environ.setdefault("DYADBENCH_CACHE", str(Path(os.environ.get("TMPDIR", "/tmp")) / f"dyadbench-test-cache-{os.getpid()}"))


@pytest.fixture(scope="session")
def seamless_root(tmp_path_factory) -> Path:
    from dyadbench.datasets.sample.seamless_sample import write_seamless_sample

    root = tmp_path_factory.mktemp("seamless")
    # a listener that fully follows its partner (mimicry 1): tests that the paired metrics see the coupling
    write_seamless_sample(root, dyads=1, seconds=2.0, seed=0, width=320, height=240, mimicry=1.0)
    return root


@pytest.fixture(scope="session")
def realtalk_root(tmp_path_factory) -> Path:
    from dyadbench.datasets.sample.realtalk_sample import write_realtalk_sample

    root = tmp_path_factory.mktemp("realtalk")
    write_realtalk_sample(root, videos=5, seconds=16.0, seed=0, width=320, height=180)
    return root


@pytest.fixture(scope="session")
def goal_root(tmp_path_factory) -> Path:
    """RealTalk at a tiny raster with enough clips for retrieval statistics (about 55 clips, 12
    queries); listeners fully follow their speakers' affect, so goal contrasts are testable on 12
    queries (the sample's realistic default is tested in test_sample_hardness)."""
    from dyadbench.datasets.sample.realtalk_sample import write_realtalk_sample

    root = tmp_path_factory.mktemp("realtalk-goals")
    write_realtalk_sample(root, videos=14, seconds=62.0, seed=3, width=64, height=36, mimicry=1.0)
    return root


def export_study(study: Path, db: str, out: Path) -> tuple[dict, list[dict]]:
    """``dyadbench study export`` in a child process: (human_eval.json, votes.csv rows)."""
    import csv
    import json
    import subprocess
    import sys

    subprocess.run([sys.executable, "-m", "dyadbench", "study", "export", str(study), "--db", db, "--out", str(out)],
                   check=True, capture_output=True)
    return json.loads((out / "human_eval.json").read_text()), list(csv.DictReader((out / "votes.csv").open()))


def rate_in_browser(browser, study: Path, db: str, *, on_trial, playback_rate: float = 2.0, on_intro=None) -> None:
    """One rater (the first invite link) answers every trial of ``study`` through the rating page:
    ``on_trial(page, trial)`` checks what the page shows and returns the side to choose (answers
    are enabled only after the clips played to the end). Fails on any page error."""
    import csv
    import json

    from dyadbench.humaneval.loadtest import LoadRun

    doc = json.loads((study / "study.json").read_text())
    run = LoadRun(study, db)
    run.start()
    try:
        link = next(csv.DictReader((study / "invites.csv").open()))["invite_link"]
        page = browser.new_page()
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(link)
        page.wait_for_selector("#view-intro:not([hidden])")
        if on_intro:
            on_intro(page)
        page.evaluate("['video-context','video-left','video-right'].forEach(id => "
                      f"document.getElementById(id).defaultPlaybackRate = {playback_rate})")
        page.click("#start")
        for trial in sorted(doc["trials"], key=lambda t: t["position"]):
            page.wait_for_selector("#view-trial:not([hidden])")
            side = on_trial(page, trial)
            page.wait_for_selector("#choose-left:not([disabled])", timeout=30000)
            page.click(f"#choose-{side}")
        page.wait_for_selector("#view-done:not([hidden])")
        assert not errors, errors
    finally:
        run.stop()


def make_clips(folder: Path, items: list[str], seed: int, frames: int = 12, size: tuple[int, int] = (64, 48)) -> Path:
    """Tiny H.264 clips ``<item>.mp4`` (30 fps) with seeded moving content."""
    import numpy as np

    from dyadbench.datasets.media import write_video

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    w, h = size
    for item in items:
        base = rng.integers(0, 255, size=(h, w, 3), dtype=np.uint8)
        video = np.stack([np.roll(base, 2 * t, axis=1) for t in range(frames)])
        write_video(folder / f"{item}.mp4", video, fps=30)
    return folder


def write_faststart_clip(path: Path, frames: int = 120, size: tuple[int, int] = (64, 64)) -> Path:
    """An H.264 mp4 (30 fps) with its index at the front ("faststart"): a copy cut short keeps the
    header's frame count but decodes fewer frames."""
    import av
    import numpy as np

    w, h = size
    with av.open(str(path), "w", options={"movflags": "faststart"}) as c:
        s = c.add_stream("libx264", rate=30)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        for i in range(frames):
            img = np.random.default_rng(i).integers(0, 255, (h, w, 3), dtype=np.uint8)
            for pk in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(pk)
        for pk in s.encode():
            c.mux(pk)
    return path


@pytest.fixture(scope="session")
def study_dir(tmp_path_factory) -> Path:
    """A small 2AFC study: 3 items x systems gt/model, 2 raters per pair, 1 attention check each."""
    from dyadbench.humaneval.design import balanced_design
    from dyadbench.humaneval.study import system_clips, write_study

    base = tmp_path_factory.mktemp("study-input")
    items = ["item_a", "item_b", "item_c"]
    systems = {"gt": make_clips(base / "gt", items, 1), "model": make_clips(base / "model", items, 2)}
    trials = balanced_design(items, list(systems), raters_per_pair=2, attention_checks=1, seed=0)
    out = tmp_path_factory.mktemp("study") / "s"
    write_study(out, system_clips(systems), trials, title="test study")
    return out


def _postgres_admin_url():
    url = os.environ.get("DYADBENCH_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("DYADBENCH_REQUIRE_POSTGRES") == "1":
            pytest.fail("DYADBENCH_REQUIRE_POSTGRES=1 but DYADBENCH_TEST_POSTGRES_URL is not set")
        pytest.skip("no PostgreSQL server (set DYADBENCH_TEST_POSTGRES_URL; .ci/run starts one)")
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """A fresh, empty database per test: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'study.db'}"
        return
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin_url = make_url(_postgres_admin_url())
    name = f"dyadbench_t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield admin_url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture()
def browser():
    """Debian's headless Chromium driven by Playwright (no browser download)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if REQUIRE_BROWSER:
            raise
        pytest.skip("playwright not installed")
    if not os.path.exists(CHROMIUM):
        if REQUIRE_BROWSER:
            pytest.fail(f"chromium not found at {CHROMIUM}")
        pytest.skip("chromium not installed (apt-get install chromium)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--autoplay-policy=no-user-gesture-required"])
        yield b
        b.close()
