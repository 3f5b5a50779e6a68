"""`dyadbench download` against an HTTP server on 127.0.0.1 serving a generated release in the
per-file layout (no test reaches the internet): the task's files only, sizes and MD5 checked, an
interrupted transfer resumed, a corrupted file fetched again, a 404 named with its URL."""

import hashlib
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dyadbench.cli import app
from dyadbench.datasets.sample.seamless_sample import write_seamless_sample
from dyadbench.runner.manifest import task_manifest

TASK = "seamless/facial-motion"


class Release(BaseHTTPRequestHandler):
    """Serves ``root`` with Content-Length, an MD5 ETag (as S3 does) and Range requests; ``cut``
    names files whose first GET stops half way; every request is logged."""

    root: Path
    cut: set
    log: list

    def log_message(self, *args):
        pass

    def _file(self):
        path = (self.root / self.path.lstrip("/")).resolve()
        return path if path.is_file() and self.root in path.parents else None

    def _headers(self, path, status, length, extra=()):
        self.send_response(status)
        self.send_header("Content-Length", str(length))
        self.send_header("ETag", f'"{hashlib.md5(path.read_bytes()).hexdigest()}"')
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()

    def do_HEAD(self):
        self.log.append(("HEAD", self.path, None))
        path = self._file()
        if path is None:
            self.send_error(404)
            return
        self._headers(path, 200, path.stat().st_size)

    def do_GET(self):
        rng = self.headers.get("Range")
        self.log.append(("GET", self.path, rng))
        path = self._file()
        if path is None:
            self.send_error(404)
            return
        data = path.read_bytes()
        start = int(rng.split("=")[1].split("-")[0]) if rng else 0
        body = data[start:]
        if rng:
            self._headers(path, 206, len(body), [("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")])
        else:
            self._headers(path, 200, len(body))
        if self.path in self.cut:
            self.cut.discard(self.path)
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)


@pytest.fixture
def server(tmp_path):
    sample = tmp_path / "sample"
    write_seamless_sample(sample, dyads=2, seconds=2.0, seed=2, layout="files", video=False, splits=("test",))
    served = tmp_path / "served"
    shutil.copytree(sample, served, ignore=shutil.ignore_patterns("assets"))
    for table in (sample / "assets").glob("*.csv"):
        shutil.copy(table, served / table.name)  # the bucket keeps the tables at its top
    handler = type("H", (Release,), {"root": served.resolve(), "cut": set(), "log": []})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_port}", handler, sample, served
    httpd.shutdown()


def _download(url, to, *extra):
    return CliRunner().invoke(app, ["download", "seamless", "--task", TASK, "--to", str(to), "--base-url", url,
                                    "--filelist", f"{url}/filelist.csv", *extra], env={"COLUMNS": "200"})


def test_fetches_only_the_tasks_files_and_scores_the_same_items(server, tmp_path):
    url, handler, sample, served = server
    to = tmp_path / "dl"
    result = _download(url, to)
    assert result.exit_code == 0, result.output
    got = sorted(str(p.relative_to(to)) for p in to.rglob("*") if p.is_file())
    assert not any("smplh/body_pose" in p or p.endswith(".wav") for p in got)  # facial motion reads neither
    assert any("movement/expression" in p for p in got)
    total = sum(p.stat().st_size for p in to.rglob("*") if p.is_file() and p.name not in ("filelist.csv", "dyadbench-download.json"))
    assert f"{total:,} bytes" in result.output.replace("\n", "")  # the size printed before starting
    want = task_manifest(TASK, sample)
    assert want["hash"] in result.output.replace("\n", "")
    assert task_manifest(TASK, to)["hash"] == want["hash"]
    # a second run fetches nothing
    gets = sum(1 for m, *_ in handler.log if m == "GET")
    again = _download(url, to)
    assert again.exit_code == 0 and sum(1 for m, *_ in handler.log if m == "GET") == gets  # every file, filelist.csv too, already whole


def test_an_interrupted_transfer_resumes_and_a_corrupted_file_is_fetched_again(server, tmp_path):
    url, handler, sample, served = server
    victim = sorted((served / "improvised" / "test" / "movement" / "expression").glob("*.npy"))[0]
    path = "/" + str(victim.relative_to(served))
    handler.cut.add(path)
    to = tmp_path / "dl"
    result = _download(url, to)
    assert result.exit_code == 0, result.output
    ranges = [rng for m, p, rng in handler.log if m == "GET" and p == path]
    assert ranges[0] is None and ranges[1] is not None and ranges[1] != "bytes=0-"  # resumed, not restarted
    local = to / victim.relative_to(served)
    assert local.read_bytes() == victim.read_bytes()
    data = bytearray(local.read_bytes())
    data[-5] ^= 0xFF  # same size, wrong bytes
    local.write_bytes(bytes(data))
    before = len(handler.log)
    assert _download(url, to).exit_code == 0
    assert any(m == "GET" and p == path for m, p, _ in handler.log[before:])
    assert local.read_bytes() == victim.read_bytes()


def test_a_missing_file_is_reported_with_its_url(server, tmp_path):
    url, handler, sample, served = server
    victim = sorted((served / "improvised" / "test" / "movement" / "expression").glob("*.npy"))[0]
    victim.unlink()
    result = _download(url, tmp_path / "dl")
    assert result.exit_code != 0
    message = str(result.exception) if result.exception else result.output
    assert f"{url}/{victim.relative_to(served)}" in message and "404" in message


def test_the_video_task_fetches_the_splits_tars_through_huggingface_hub(tmp_path):
    """The Hugging Face dataset's resolve URLs served on 127.0.0.1 (``--hf-endpoint``): the test
    split's tars arrive in the release's layout, byte for byte; no per-file feature is fetched."""
    sample = tmp_path / "sample"
    write_seamless_sample(sample, dyads=1, seconds=1.0, seed=1, video=False, splits=("test", "dev"))
    hub = tmp_path / "hub"
    repo = hub / "datasets" / "facebook" / "seamless-interaction" / "resolve" / "main"
    tars = sorted(sample.glob("*/*/[0-9]*/[0-9]*.tar"))
    for tar in tars:
        (repo / tar.relative_to(sample)).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(tar, repo / tar.relative_to(sample))
    shutil.copy(sample / "assets" / "filelist.csv", hub / "filelist.csv")

    class Hub(Release):
        def _headers(self, path, status, length, extra=()):
            super()._headers(path, status, length, [*extra, ("X-Repo-Commit", "0" * 40)])

    handler = type("H", (Hub,), {"root": hub.resolve(), "cut": set(), "log": []})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_port}"
    try:
        to = tmp_path / "dl"
        result = CliRunner().invoke(app, ["download", "seamless", "--task", "seamless/video", "--to", str(to), "--hf-endpoint", url,
                                          "--filelist", f"{url}/filelist.csv"], env={"HF_HUB_OFFLINE": "0"})
    finally:
        httpd.shutdown()
    assert result.exit_code == 0, result.output
    test_tars = [t for t in tars if t.relative_to(sample).parts[1] == "test"]
    assert test_tars and len(test_tars) < len(tars)
    for tar in test_tars:
        assert (to / tar.relative_to(sample)).read_bytes() == tar.read_bytes()
    assert not any((to / t.relative_to(sample)).exists() for t in tars if t not in test_tars)
    assert not list(to.rglob("*.npy"))
