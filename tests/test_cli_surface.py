"""What a user meets first: one-line errors (--debug for the traceback), --version, safe outputs."""

import json
import re
import os
import sys
from pathlib import Path

import pytest

from dyadbench import __version__
from dyadbench.cli import STATE, main
from dyadbench.report.output import OutputBusy, result_folder


def run_main(monkeypatch, capsys, *args):
    monkeypatch.setattr(sys, "argv", ["dyadbench", *args])
    STATE["debug"] = False
    with pytest.raises(SystemExit) as exc:
        main()
    out = capsys.readouterr()
    return exc.value.code, out.out + out.err


def test_version(monkeypatch, capsys):
    code, out = run_main(monkeypatch, capsys, "--version")
    assert code == 0 and f"dyadbench {__version__}" in out


def test_known_errors_are_one_red_line_and_debug_shows_the_traceback(monkeypatch, capsys, tmp_path):
    (tmp_path / "sub").mkdir()
    args = ["evaluate", "nosuch/task", "--data", str(tmp_path), "--submission", str(tmp_path / "sub"), "--out", str(tmp_path / "o")]
    code, out = run_main(monkeypatch, capsys, *args)
    assert code == 2 and "error: unknown task 'nosuch/task'" in out and "Traceback" not in out
    assert len([line for line in out.splitlines() if line.strip() and "Evaluating" not in line]) <= 4
    monkeypatch.setattr(sys, "argv", ["dyadbench", "--debug", *args])
    with pytest.raises(KeyError, match="unknown task"):
        main()


def test_bad_option_values_are_refused_before_any_work(monkeypatch, capsys, tmp_path):
    (tmp_path / "sub").mkdir()
    code, out = run_main(monkeypatch, capsys, "evaluate", "seamless/gesture", "--data", str(tmp_path), "--submission",
                         str(tmp_path / "sub"), "--out", str(tmp_path / "o"), "--bootstrap", "-5")
    assert code == 2 and "--bootstrap" in out


def test_result_folder_swaps_in_whole_results_and_keeps_the_old_ones_on_failure(tmp_path):
    out = tmp_path / "res"
    with result_folder(out) as tmp:
        (tmp / "report.json").write_text(json.dumps({"run": 1}))
        (tmp / "report.html").write_text("run 1")
    with pytest.raises(RuntimeError, match="interrupted"):
        with result_folder(out) as tmp:
            (tmp / "report.json").write_text(json.dumps({"run": 2}))
            raise RuntimeError("interrupted between the two files")
    assert json.loads((out / "report.json").read_text()) == {"run": 1} and (out / "report.html").read_text() == "run 1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res"]  # no partial folder, no lock left behind


def test_a_second_writer_is_refused_while_the_first_runs_and_a_dead_ones_lock_is_taken_over(tmp_path):
    out = tmp_path / "res"
    with result_folder(out), pytest.raises(OutputBusy, match=f"pid {os.getpid()}"):
        with result_folder(out):
            pass
    lock = tmp_path / "res.lock"
    import socket

    lock.write_text(json.dumps({"pid": 2**22 + 12345, "host": socket.gethostname()}))  # no such process
    with result_folder(out) as tmp:
        (tmp / "x").write_text("ok")
    assert (out / "x").read_text() == "ok" and not lock.exists()


def test_an_out_that_cannot_hold_results_fails_up_front(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(NotADirectoryError, match="not a folder"):
        with result_folder(tmp_path / "file"):
            raise AssertionError("the body must not run")


def test_tasks_lists_full_names_and_json(monkeypatch, capsys):
    from dyadbench.tasks.registry import list_tasks

    code, out = run_main(monkeypatch, capsys, "tasks", "--json")
    assert code == 0 and [t["name"] for t in json.loads(out)] == [t.name for t in list_tasks()]
    monkeypatch.setenv("COLUMNS", "60")  # a narrow terminal must not cut the names a user types
    code, out = run_main(monkeypatch, capsys, "tasks")
    assert code == 0 and all(t.name in out for t in list_tasks())
    from dyadbench.baselines import baseline_names

    words = set(out.replace(",", " ").split())  # every metric and baseline name whole, learned and clip_text included
    for t in list_tasks():
        assert set(t.metrics) <= words and set(baseline_names(t)) <= words, t.name
    assert "clip_text" in words and "learned" in words


def test_sample_refuses_zero_dyads_and_weights_verify_an_unknown_name(monkeypatch, capsys, tmp_path):
    code, out = run_main(monkeypatch, capsys, "sample", "seamless", "--out", str(tmp_path / "s"), "--dyads", "0")
    assert code == 2 and "--dyads" in out and not (tmp_path / "s").exists()
    code, out = run_main(monkeypatch, capsys, "weights", "verify", "nosuch")
    assert code == 2 and "unknown name 'nosuch'" in out and "syncnet" in out


def test_weights_verify_fails_on_missing_files_and_garbage_is_never_pinned(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("DYADBENCH_WEIGHTS", str(tmp_path / "w"))
    monkeypatch.setenv("DYADBENCH_CACHE", str(tmp_path / "cache"))
    (tmp_path / "w").mkdir()
    code, out = run_main(monkeypatch, capsys, "weights", "verify")
    assert code == 1 and "missing" in out  # nothing here: not a success
    (tmp_path / "w" / "20180402-114759-vggface2.pt").write_bytes(b"\0" * 4096)
    code, out = run_main(monkeypatch, capsys, "weights", "verify", "facenet512")
    assert code == 1 and "MISMATCH" in out and "None" not in out
    assert not (tmp_path / "cache" / "weights-verified.json").exists() or "facenet512" not in json.loads(
        (tmp_path / "cache" / "weights-verified.json").read_text()).get("pinned", {})
    code, out = run_main(monkeypatch, capsys, "weights", "forget", "facenet512")
    assert code == 0 and "nothing was pinned" in out


@pytest.mark.parametrize("command", [["sample"], ["data", "inspect"], ["evaluate"], ["demo"]])
def test_flags_show_no_value_hint_and_every_option_has_help(monkeypatch, capsys, command):
    code, out = run_main(monkeypatch, capsys, *command, "--help")
    assert code == 0 and "--help" in out
    assert "<bool>" not in out  # a flag takes no value: a hint would invite `--video true`, which is refused
    from typer.main import get_command

    from dyadbench.cli import app

    cmd = get_command(app)
    for name in command:
        cmd = cmd.commands[name]
    assert all(p.help for p in cmd.params if p.param_type_name == "option"), [p.name for p in cmd.params if not p.help]


def _commands(cmd, path=()):
    subs = getattr(cmd, "commands", None)
    if not subs:
        yield path, cmd
        return
    for name, sub in subs.items():
        yield from _commands(sub, (*path, name))


def test_every_usage_line_names_its_arguments_as_the_readme_writes_them():
    import click
    from typer.main import get_command

    from dyadbench.cli import app

    seen = 0
    for path, cmd in _commands(get_command(app)):
        args = [p for p in cmd.params if p.param_type_name == "argument"]
        usage = " ".join(cmd.collect_usage_pieces(click.Context(cmd, info_name=" ".join(path))))
        assert "{" not in usage and "}" not in usage, (path, usage)  # typer's braces read like a set to pick from
        for a in args:
            # a name a person understands (TASK, ROOT, ...), never a single letter or a Python name
            assert a.metavar and re.fullmatch(r"[A-Z][A-Z_]+", a.metavar), (path, a.name, a.metavar)
            assert a.metavar in usage, (path, usage)
        seen += len(args)
    assert seen >= 10  # the walk reached the commands that take arguments


def test_native_log_lines_go_to_the_log_file_and_python_output_stays(tmp_path):
    import subprocess

    code = ("import os, sys; from dyadbench.native_logs import silence; silence(); "
            "os.write(2, b'I0000 native absl line\\n'); print('python warning', file=sys.stderr)")
    env = {**os.environ, "DYADBENCH_CACHE": str(tmp_path)}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert res.returncode == 0 and "python warning" in res.stderr and "native absl line" not in res.stderr
    assert "native absl line" in (tmp_path / "logs" / "native.log").read_text()
    res = subprocess.run([sys.executable, "-c", code.replace("silence(); ", "")], capture_output=True, text=True, env=env)
    assert "native absl line" in res.stderr  # what --verbose leaves alone


def _tree(folder):
    return sorted((str(p.relative_to(folder)), p.read_bytes()) for p in folder.rglob("*") if p.is_file())


@pytest.mark.parametrize("where", ["dataset root", "submission", "unrelated folder", "parent of the dataset"])
def test_evaluate_out_never_removes_what_dyadbench_did_not_write(monkeypatch, capsys, tmp_path, where):
    from dyadbench.datasets.sample.seamless_sample import write_seamless_sample

    data = tmp_path / "data"
    write_seamless_sample(data, dyads=1, seconds=1.0, seed=0, layout="files", video=False, splits=("test",))
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "notes.txt").write_text("mine")
    other = tmp_path / "papers"
    other.mkdir()
    (other / "draft.tex").write_text("mine too")
    out = {"dataset root": data, "submission": sub, "unrelated folder": other, "parent of the dataset": tmp_path}[where]
    before = _tree(tmp_path)
    code, text = run_main(monkeypatch, capsys, "evaluate", "seamless/facial-motion", "--data", str(data),
                          "--submission", str(sub), "--out", str(out))
    assert code == 2 and str(out) in text and "Traceback" not in text
    assert _tree(tmp_path) == before  # nothing removed, nothing written


def test_a_previous_result_folder_is_replaced_whole(tmp_path, monkeypatch):
    out = tmp_path / "res"
    out.mkdir()
    (out / "report.json").write_text(json.dumps({"schema": "dyadbench.report/1"}))  # an older dyadbench's result
    (out / "report.html").write_text("old")
    with result_folder(out) as tmp:
        (tmp / "report.json").write_text("{}")
    assert (out / ".dyadbench-result").is_file() and not (out / "report.html").exists()
    (out / "mine.txt").write_text("a file the user put into a result folder with the marker")
    with result_folder(out) as tmp:  # the marker says dyadbench owns the folder
        (tmp / "report.json").write_text("{}")
    monkeypatch.chdir(out)
    with pytest.raises(ValueError, match="not the current folder"):
        with result_folder(Path(".")):
            pass


def test_one_metric_given_two_conventions_is_refused(monkeypatch, capsys, tmp_path):
    (tmp_path / "sub").mkdir()
    code, out = run_main(monkeypatch, capsys, "evaluate", "seamless/facial-motion", "--data", str(tmp_path), "--submission",
                         str(tmp_path / "sub"), "--out", str(tmp_path / "o"), "--convention", "l2=learning2listen",
                         "--convention", "l2=lm-listener")
    assert code == 2 and "two conventions" in out


def test_a_killed_runs_leftovers_go_and_item_statistics_stay_inside_the_run(monkeypatch, capsys, tmp_path):
    """A run killed mid-way leaves `.out.partial-*` (with its spilled item statistics inside) or
    `.out.previous-*` beside --out: the next run removes them; nothing else beside --out is
    touched, and nothing lands in the system temp folder."""
    import tempfile

    import dyadbench.runner.motion_stream as stream
    from dyadbench.baselines import run_baseline
    from dyadbench.datasets.sample.seamless_sample import write_seamless_sample
    from dyadbench.storage import SpillRows

    data = tmp_path / "data"
    write_seamless_sample(data, dyads=2, seconds=1.0, seed=0, layout="files", video=False, splits=("train", "test"))
    sub = run_baseline("seamless/facial-motion", "mirror", data, tmp_path / "sub")
    runs = tmp_path / "runs"
    (runs / ".out.partial-99999-abc" / ".scratch" / "dyadbench-item-stats-x").mkdir(parents=True)
    (runs / ".out.previous-4242").mkdir()
    (runs / ".out-notes").mkdir()  # the user's: another name
    (runs / ".out-notes" / "a.txt").write_text("mine")
    system_tmp = tmp_path / "system-tmp"
    system_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(system_tmp))
    parents = []

    class Recorded(SpillRows):
        def __init__(self, parent=None):
            parents.append(Path(parent))
            super().__init__(parent)

    monkeypatch.setattr(stream, "SpillRows", Recorded)
    code, text = run_main(monkeypatch, capsys, "evaluate", "seamless/facial-motion", "--data", str(data), "--submission", str(sub),
                          "--out", str(runs / "out"), "--bootstrap", "0")
    assert code == 0, text
    assert sorted(p.name for p in runs.iterdir()) == [".out-notes", "out"]
    assert (runs / ".out-notes" / "a.txt").read_text() == "mine"
    assert parents and all(".out.partial-" in str(p) for p in parents)
    assert not (runs / "out" / ".scratch").exists() and not list(system_tmp.iterdir())


def test_every_command_that_writes_a_folder_refuses_one_it_did_not_write(monkeypatch, capsys, tmp_path):
    """baseline, train, demo and leaderboard --html: a folder (or file) holding the user's things,
    or an input, is refused before any work and left as it was; dyadbench's own output is reused."""
    from dyadbench.datasets.sample.seamless_sample import write_seamless_sample

    data = tmp_path / "data"
    write_seamless_sample(data, dyads=1, seconds=1.0, seed=0, layout="files", video=False, splits=("test",))
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("mine")
    (tmp_path / "page.html").write_text("<html>my own page</html>")
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "report.json").write_text(json.dumps({
        "schema": "dyadbench.report/1", "task": "seamless/facial-motion", "system": "a", "n_items": 2,
        "metrics": {"ffd": {"value": 1.0, "low": 0.5, "high": 1.5, "better": "lower", "n": 2}}}))
    before = _tree(tmp_path)
    attempts = [
        ["baseline", "seamless/facial-motion", "mirror", "--data", str(data), "--out", str(mine)],
        ["baseline", "seamless/facial-motion", "mirror", "--data", str(data), "--out", str(data / "sub")],
        ["train", "seamless/facial-motion", "--data", str(data), "--out", str(mine), "--epochs", "1"],
        ["demo", "--out", str(mine)],
        ["leaderboard", str(tmp_path / "r"), "--html", str(tmp_path / "page.html")],
    ]
    for args in attempts:
        code, text = run_main(monkeypatch, capsys, *args)
        assert code == 2 and "Traceback" not in text, (args, text)
    assert _tree(tmp_path) == before  # nothing removed, nothing written
    sub = tmp_path / "sub"
    for _ in range(2):  # the second run writes into the folder the first one made
        code, text = run_main(monkeypatch, capsys, "baseline", "seamless/facial-motion", "mirror", "--data", str(data), "--out", str(sub))
        assert code == 0, text
    from dyadbench.runner.items import motion_items
    from dyadbench.tasks.registry import get_task

    items = motion_items(get_task("seamless/facial-motion"), data)
    assert sorted(p.stem for p in sub.glob("*.npz")) == sorted(it.id for it in items) and (sub / ".dyadbench-result").is_file()


def test_a_symlink_loop_and_a_full_disk_are_one_line_and_leave_nothing_half_written(monkeypatch, capsys, tmp_path):
    import errno

    import dyadbench.report.files as files
    from dyadbench.baselines import run_baseline
    from dyadbench.datasets.sample.seamless_sample import write_seamless_sample

    data = tmp_path / "data"
    write_seamless_sample(data, dyads=2, seconds=1.0, seed=0, layout="files", video=False, splits=("test",))
    sub = run_baseline("seamless/facial-motion", "mirror", data, tmp_path / "sub")
    looped = sorted(sub.glob("*.npz"))[0]
    looped.unlink()
    looped.symlink_to(looped.name)  # a link to itself
    code, text = run_main(monkeypatch, capsys, "evaluate", "seamless/facial-motion", "--data", str(data), "--submission", str(sub),
                          "--out", str(tmp_path / "out"), "--bootstrap", "0")
    flat = text.replace("\n", "")  # the console wraps long paths
    assert code == 2 and "Traceback" not in text and looped.name in flat and "symbolic links" in flat
    looped.unlink()
    run_baseline("seamless/facial-motion", "mirror", data, tmp_path / "sub")  # whole again

    def full_disk(*_, **__):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files, "write_report", full_disk)
    code, text = run_main(monkeypatch, capsys, "evaluate", "seamless/facial-motion", "--data", str(data), "--submission", str(sub),
                          "--out", str(tmp_path / "out"), "--bootstrap", "0")
    assert code == 2 and "Traceback" not in text and "No space left on device" in text.replace("\n", " ")
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out.*"))  # no result, no partial folder
