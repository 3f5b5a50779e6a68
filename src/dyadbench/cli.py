"""The ``dyadbench`` command line (Typer + Rich)."""

from __future__ import annotations

import json
import sys
import time
from contextlib import contextmanager
from enum import Enum
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

_display_type = typer.core.TyperOption.display_type_rich


def _no_flag_type(self, ctx):
    """Flags take no value: typer shows them a "<bool>" value hint (with click >= 8.2), which a
    user then types and is refused. Show no type for flags."""
    return None if self.is_flag else _display_type(self, ctx)


typer.core.TyperOption.display_type_rich = _no_flag_type
app = typer.Typer(help="Run the Seamless Interaction and RealTalk benchmarks end to end.", no_args_is_help=True)
data_app = typer.Typer(help="Look at dataset roots.", no_args_is_help=True)
app.add_typer(data_app, name="data")
from .cli_study import study_app
from .cli_weights import weights_app

app.add_typer(weights_app, name="weights")
from .cli_download import download_cmd

app.command("download")(download_cmd)

app.add_typer(study_app, name="study")
console = Console()
QUIET = False


STATE = {"debug": False}


def _version(value: bool):
    if value:
        from . import __version__

        console.print(f"dyadbench {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    debug: bool = typer.Option(False, "--debug", help="Show the full traceback of an error"),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit"),
    verbose: bool = typer.Option(False, "--verbose", help="Show third-party native log lines (MediaPipe, TFLite, absl) "
                                                           "instead of writing them to <cache>/logs/native.log"),
):
    """Run the Seamless Interaction and RealTalk benchmarks end to end."""
    STATE["debug"] = debug
    if not verbose:
        from .native_logs import silence

        silence()


def main() -> None:
    """The ``dyadbench`` entry point: known errors print one red line (file, problem) and exit 2;
    ``--debug`` shows the traceback instead."""
    from .datasets.errors import DatasetError
    from .features.weights import WeightsError
    from .report.output import OutputBusy

    known = (DatasetError, WeightsError, OutputBusy, ValueError, KeyError, FileNotFoundError, PermissionError,
             NotADirectoryError)
    from .native_logs import restore

    try:
        app(prog_name="dyadbench")  # usage errors, --help and exit codes stay Typer's
    except known as exc:
        if STATE["debug"]:
            raise
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        console.print(f"[bold red]error:[/bold red] {message}", highlight=False)
        console.print("[dim](run with --debug for the traceback)[/dim]")
        raise SystemExit(2) from None
    finally:
        restore()


class DatasetName(str, Enum):
    seamless = "seamless"
    realtalk = "realtalk"


@contextmanager
def progress_bar(description: str, total: int | None):
    """Yields ``tick(item="", done=None, total=None)``: advance by one, or set done/total when known.
    Silent where ``QUIET`` is set (the demo's parallel lanes report through their parent)."""
    if QUIET:
        yield lambda item="", done=None, total=None: None
        return
    with Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[item]}"), TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(),
                  console=console, transient=False) as prog:
        task = prog.add_task(description, total=total, item="")

        def tick(item="", done=None, total=None):
            if done is None:
                prog.update(task, advance=1, item=str(item))
            else:
                prog.update(task, completed=done, total=total, item=str(item))

        yield tick


def _table(title: str, df) -> Table:
    table = Table(title=title, show_lines=False)
    for col in df.columns:
        table.add_column(str(col), justify="right" if df[col].dtype.kind in "if" else "left")
    for row in df.itertuples(index=False):
        table.add_row(*[f"{v:.4f}" if isinstance(v, float) else str(v) for v in row])
    return table


@app.command()
def sample(
    dataset: DatasetName = typer.Argument(..., help="seamless or realtalk"),
    out: Path = typer.Option(..., "--out", help="Folder to write the sample into"),
    dyads: int = typer.Option(None, min=1, help="Seamless: interactions per label and split (default 1); RealTalk: videos (default 2)"),
    seconds: float = typer.Option(None, help="Length of each recording (default 4 s Seamless, 32 s RealTalk)"),
    seed: int = typer.Option(0, help="Random seed: the same seed writes the same files"),
    width: int = typer.Option(None, help="Video width (default 320 Seamless, 640 RealTalk)"),
    height: int = typer.Option(None, help="Video height (default 240 Seamless, 360 RealTalk)"),
    layout: str = typer.Option("bundles", help="Seamless: 'bundles' (per-archive folders + WebDataset tars) or 'files' "
                                               "(the release's per-file features layout)"),
    video: bool = typer.Option(True, "--video/--no-video", help="Seamless: write videos (--no-video is fast; motion tasks need none)"),
    split: list[str] = typer.Option(None, help="Seamless: write only this split (repeatable: train, dev, test)"),
    faults: bool = typer.Option(False, "--faults", help="Seamless: also write the release's known faults (duplicated ids, "
                                                         "240 Hz SMPL-H, ...; needs --dyads 6 or more)"),
):
    """Write deterministic sample data in exactly the released layout."""
    from .datasets.sample.realtalk_sample import write_realtalk_sample
    from .datasets.sample.seamless_sample import write_seamless_sample

    t0 = time.perf_counter()
    if dataset is DatasetName.seamless:
        n = dyads or 1
        splits = tuple(split) if split else None
        with progress_bar("Seamless sample", total=n * 4 * (len(splits) if splits else 3)) as tick:
            result = write_seamless_sample(out, dyads=n, seconds=seconds or 4.0, seed=seed, width=width or 320,
                                           height=height or 240, progress=tick, layout=layout, video=video, splits=splits,
                                           faults=faults)
    else:
        n = dyads or 2
        with progress_bar("RealTalk sample", total=n) as tick:
            result = write_realtalk_sample(out, videos=n, seconds=seconds or 32.0, seed=seed, width=width or 640,
                                           height=height or 360, progress=tick)
    console.print(f"[green]wrote[/green] {out} {result} in {time.perf_counter() - t0:.1f} s")


@data_app.command("inspect")
def inspect_cmd(
    root: Path = typer.Argument(..., exists=True, file_okay=False, help="Dataset root"),
    dataset: DatasetName = typer.Option(None, help="Force the layout (default: detect)"),
    deep: bool = typer.Option(False, help="Also load arrays to check NaN/inf (slower)"),
    as_json: Path = typer.Option(None, "--json", help="Also write the inventory as JSON here"),
    show_files: bool = typer.Option(False, "--files", help="List every file"),
):
    """Inventory of a dataset root: counts, hours, invalid files with reasons, breakdowns.
    Exits 1 when it lists problems (so scripts and CI can gate on it), 0 when there are none."""
    from .datasets.inventory import detect_dataset, inspect_realtalk, inspect_seamless

    kind = dataset.value if dataset else detect_dataset(root)
    with progress_bar(f"Inspecting {kind}", total=None) as tick:
        inv = inspect_seamless(root, deep=deep, progress=tick) if kind == "seamless" else inspect_realtalk(root, progress=tick)
    if kind == "seamless" and inv.files.empty:
        from .datasets.errors import Skip

        detected = "?"
        try:
            detected = detect_dataset(root)
        except ValueError:
            pass
        inv.problems.append(Skip(str(root), "no Seamless Interaction dyad found here"
                                 + (f" (this looks like a {detected} root)" if detected not in ("seamless", "?") else "")))
    console.print(_table(f"{kind} — {root}", inv.summary))
    if show_files:
        console.print(_table("files", inv.files))
    for name, df in inv.breakdowns.items():
        console.print(_table(f"by {name}", df))
    if inv.problems:
        table = Table(title=f"{len(inv.problems)} problem(s)")
        table.add_column("file")
        table.add_column("reason")
        for p in inv.problems:
            table.add_row(p.path, p.reason)
        console.print(table)
    if inv.faults:
        _print_faults(inv.faults)
    if not inv.problems and not inv.faults:
        console.print("[green]no problems found[/green]")
    if as_json:
        doc = {"dataset": inv.dataset, "root": inv.root, "summary": inv.summary.to_dict("records"),
               "files": inv.files.to_dict("records"), "problems": [p.__dict__ for p in inv.problems],
               "breakdowns": {k: v.to_dict("records") for k, v in inv.breakdowns.items()},
               "faults": [f.to_dict() for f in inv.faults]}
        as_json.write_text(json.dumps(doc, indent=2, default=str))
    if inv.problems or inv.faults:
        raise typer.Exit(1)


@data_app.command("manifest")
def manifest_cmd(
    root: Path = typer.Argument(..., exists=True, file_okay=False, help="Dataset root"),
    task: str = typer.Option(..., "--task", help="Task name, e.g. seamless/facial-motion"),
    out: Path = typer.Option(None, "--out", help="Write the manifest (JSON) here; default: print its hash and counts only"),
    workers: int = typer.Option(None, help="Parallel workers (default: by the number of items)"),
):
    """The exact items a task scores after the dataset-fault policies, each with frames, valid frames
    and a content hash of every array the task reads, and one manifest hash (the hash an
    evaluation's report.json carries). Equal hashes: the same items and numbers, whatever layout."""
    from .datasets.manifest import write_manifest
    from .runner.manifest import task_manifest

    with progress_bar(f"Manifest of {task}", total=None) as tick:
        doc = task_manifest(task, root, workers=workers, progress=lambda done, total: tick(done=done, total=total))
    if out is not None:
        write_manifest(doc, out)
    left = "; ".join(f"{n} {why}" for why, n in doc["excluded_items"].items())
    console.print(f"{task}: {doc['n_items']} items, {doc['frames']:,} frames — manifest [bold]{doc['hash']}[/bold]"
                  + (f"\nleft out: {left}" if left else "") + (f"\nwrote {out}" if out else ""), highlight=False)


def _print_faults(faults) -> None:
    """The release's known faults found, one row each, then each kind's policy once."""
    table = Table(title=f"{len(faults)} dataset fault(s) of the release (facebookresearch/seamless_interaction #10, #17, #18, #34)")
    table.add_column("fault", no_wrap=True)
    table.add_column("file ids", no_wrap=True)
    table.add_column("what")
    for f in faults:
        table.add_row(f.kind, "\n".join(f.file_ids), f.detail)
    console.print(table)
    for kind in sorted({f.kind for f in faults}):
        console.print(f"  [bold]{kind}[/bold]: {faults[[f.kind for f in faults].index(kind)].policy}", highlight=False)


@app.command()
def extract(
    root: Path = typer.Argument(..., exists=True, help="Dataset root (Seamless or RealTalk), or a text file of video paths"),
    extractors: str = typer.Option("face_motion,gesture,face_identity,face_boxes", help="Comma-separated extractor names"),
    cache: Path = typer.Option(None, help="Feature cache folder (default $DYADBENCH_CACHE/features); shared storage on a cluster"),
    device: str = typer.Option("cpu", help="cpu, cuda or auto (neural extractors; cuda/auto on Ray: GPU actors)"),
    engine: str = typer.Option("local", help="local (processes) or ray"),
    workers: int = typer.Option(None, help="Parallel workers (default: local cores at most 8; Ray: the cluster's CPUs)"),
    address: str = typer.Option(None, help="Ray cluster address (with --engine ray), e.g. auto"),
    source: str = typer.Option("auto", help="Seamless: auto, loose (extracted folders) or shards (tars)"),
    batch_size: int = typer.Option(32, help="Frames per decoded batch"),
    limit: int = typer.Option(None, help="Only the first N shards"),
    per_shard: int = typer.Option(50, help="With a file list: videos per shard (the unit of work and of resuming)"),
    stats_out: Path = typer.Option(None, "--stats-out", help="Write the dataset's per-extractor mean/cov (npz) here"),
):
    """Extract features of every video into the cache, shard by shard (decode once per video).
    Shards already finished are skipped, so an interrupted run resumes where it stopped."""
    import pandas as pd

    from .features.shards import (
        extract_shards,
        list_shards,
        shards_from_file_list,
        write_stats,
    )

    names = [n.strip() for n in extractors.split(",") if n.strip()]
    shards = (shards_from_file_list(root, per_shard) if root.is_file() else list_shards(root, source))[:limit]
    t0 = time.perf_counter()
    with progress_bar("Extracting shards", total=len(shards)) as tick:
        result = extract_shards(shards, names, str(cache) if cache else None, engine=engine, workers=workers,
                                address=address, device=device, batch_size=batch_size, progress=tick)
    good = [r for r in result.rows if "error" not in r]
    if good:
        console.print(_table("extracted", pd.DataFrame(good).drop(columns=["hash"])))
    for r in result.rows:
        if "error" in r:
            console.print(f"[red]failed[/red] {r['id']} ({r['shard']}): {r['error']}")
    console.print(f"{len(shards)} shards: {len(result.computed)} extracted, {len(result.skipped)} already done "
                  f"({time.perf_counter() - t0:.1f} s, engine {engine})")
    if stats_out:
        write_stats(stats_out, result.stats)
        console.print(f"[green]wrote[/green] {stats_out} ({', '.join(f'{k}: n={v.n}' for k, v in result.stats.items())})")


@app.command("tasks")
def tasks_cmd(as_json: bool = typer.Option(False, "--json", help="Print the task declarations as JSON")):
    """The registered benchmark tasks (full names: what `baseline` and `evaluate` take)."""
    from .tasks.registry import list_tasks

    if as_json:
        print(json.dumps([t.declaration() for t in list_tasks()], indent=2))
        return
    table = Table(title="tasks")
    table.add_column("task", no_wrap=True)  # the name a user types: never cut
    for col in ("protocol", "split", "metrics", "baselines"):
        table.add_column(col)
    for t in list_tasks():
        table.add_row(t.name, t.protocol, t.split, ", ".join(t.metrics), ", ".join(t.baselines))
    console.print(table)


@app.command("metrics")
def metrics_cmd(markdown: bool = typer.Option(False, "--markdown", help="Print the README's conventions table")):
    """The registered metrics: direction, conventions (default first) and the reference code each reproduces."""
    from .metrics.registry import list_metrics

    rows = []
    for m in list_metrics():
        for name, conv in sorted(m.conventions.items(), key=lambda kv: kv[0] != m.default):
            rows.append({"metric": m.name, "better": m.direction, "convention": name + (" (default)" if name == m.default else ""),
                         "what": conv.description, "reproduces": conv.reference, "function": conv.function})
    if markdown:
        print("| metric | better | convention | what | reproduces |\n|---|---|---|---|---|")
        for r in rows:
            print(f"| `{r['metric']}` | {r['better']} | `{r['convention']}` | {r['what']} | {r['reproduces']} |")
        return
    import pandas as pd

    console.print(_table("metrics", pd.DataFrame(rows).drop(columns=["function"])))


@app.command()
def baseline(
    task: str = typer.Argument(..., help="Task name, e.g. seamless/facial-motion"),
    name: str = typer.Argument(..., help="Baseline name (see `dyadbench tasks`)"),
    data: Path = typer.Option(..., exists=True, file_okay=False, help="Dataset root"),
    out: Path = typer.Option(..., help="Folder to write the submission into"),
    seed: int = typer.Option(0, help="Random seed of the baseline (the same seed writes the same submission)"),
    checkpoint: Path = typer.Option(None, help="learned: the run folder of `dyadbench train` (or its best.pt)"),
    clip: Path = typer.Option(None, help="clip_text (retrieval): a CLIP folder in the Hugging Face layout (default $DYADBENCH_WEIGHTS/clip)"),
):
    """Write a baseline's submission, in the same format a model's would be."""
    from .baselines import run_baseline
    from .report.output import claim_folder

    claim_folder(out, "submission", legacy_suffixes=(".npz", ".mp4"), protect=(data, checkpoint, clip))
    console.print(f"[green]wrote[/green] {run_baseline(task, name, data, out, seed, checkpoint, clip)}")


@app.command()
def train(
    task: str = typer.Argument(..., help="Task name, e.g. seamless/facial-motion"),
    data: Path = typer.Option(..., exists=True, file_okay=False, help="Dataset root (its train split; dev if present)"),
    out: Path = typer.Option(..., help="Run folder: checkpoints, run.json, curves.png (an existing run resumes)"),
    seed: int = typer.Option(0, help="Seed of the initial weights and the window order (same seed, same checkpoint on CPU)"),
    epochs: int = typer.Option(40, min=1, help="Most epochs"),
    patience: int = typer.Option(6, min=1, help="Stop after this many epochs without a better validation loss"),
    batch_size: int = typer.Option(32, min=1, help="Windows per step"),
    window: int = typer.Option(64, min=8, help="Frames per training window"),
    lr: float = typer.Option(2e-3, min=0.0, help="Adam learning rate"),
    device: str = typer.Option("cpu", help="cpu, or cuda when present"),
    workers: int = typer.Option(0, min=0, help="DataLoader worker processes (0: read in the training process)"),
    cache: bool = typer.Option(True, "--cache/--no-cache", help="Keep items in memory across epochs (--no-cache at release size)"),
    max_minutes: float = typer.Option(None, min=0.0, help="Stop after this wall time (then not reproducible)"),
    resume: bool = typer.Option(True, "--resume/--no-resume", help="Continue the run in --out if there is one"),
):
    """Train the task's learned baseline; `baseline TASK learned --checkpoint RUN` then writes its submission."""
    from .tasks.registry import get_task
    from .training.trainer import TrainConfig
    from .training.trainer import train as run_training

    from .report.output import claim_folder

    get_task(task)
    claim_folder(out, "training run", legacy_names=("last.pt", "best.pt", "run.json", "curves.png"), protect=(data,))
    if device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise typer.BadParameter("CUDA is not available on this machine; use --device cpu", param_hint="--device")
    cfg = TrainConfig(task=task, seed=seed, epochs=epochs, patience=patience, batch_size=batch_size, lr=lr, window=window,
                      device=device, workers=workers, cache=cache, max_minutes=max_minutes)
    with progress_bar(f"Training {task}", total=epochs) as tick:
        summary = run_training(data, out, cfg, resume=resume,
                               progress=lambda c: tick(f"epoch {c['epoch']}: train {c['train_loss']:.3f}, val {c['val_loss']:.3f}"))
    console.print(f"[green]trained[/green] {out}: best validation loss {summary['best']:.4f} at epoch {summary['best_epoch']}"
                  f" ({summary['stopped']}); curves in {out / 'curves.png'}")


def _evaluate_to(task, data, submission, out, system, bootstrap, slice_bootstrap, seed, engine, workers, device,
                 address=None, cache=None, conventions=None, threads: int = 1, face_stride: int | None = None,
                 compare_to: dict | None = None) -> dict:
    from threadpoolctl import threadpool_limits

    from .runner import evaluate as run_evaluation
    from .report.files import write_report
    from .report.html import render

    # Many small matrix products: BLAS threads fight each other more than they help (3x slower on 2 cores).
    from .report.output import result_folder, scratch_folder

    from .storage import cache_dir

    protect = (data, submission, cache if cache is not None else cache_dir())
    with result_folder(out, protect) as tmp:  # locked; report.json and report.html land together or not at all
        with threadpool_limits(limits=threads), progress_bar(f"Evaluating {system or submission.name} on {task}", total=None) as tick:
            report = run_evaluation(task, data, submission, system=system, n_boot=bootstrap, slice_boot=slice_bootstrap,
                                    seed=seed, engine=engine, workers=workers, device=device, address=address,
                                    cache_root=None if cache is None else str(cache), conventions=conventions,
                                    threads=threads, progress=lambda done, total, what: tick(what, done, total),
                                    face_stride=face_stride, scratch=scratch_folder(tmp))
        report["command"] = " ".join(["dyadbench", *sys.argv[1:]])
        runs = [report]
        if compare_to is not None:
            from .report.paired import compared_to

            report["compared_to"] = compared_to(report, compare_to)
            runs.append(compare_to)
        write_report(report, tmp)
        (tmp / "report.html").write_text(render(runs, title=f"{task}: {report['system']}",
                                                compare_to=compare_to["system"] if compare_to else "random"))
    return report


@app.command()
def evaluate(
    task: str = typer.Argument(..., help="Task name (see `dyadbench tasks`)"),
    data: Path = typer.Option(..., exists=True, file_okay=False, help="Dataset root"),
    submission: Path = typer.Option(..., exists=True, help="Submission folder (or scores.npz)"),
    out: Path = typer.Option(..., help="Output folder for report.json and report.html"),
    system: str = typer.Option(None, help="System name shown in reports (default: submission folder name)"),
    bootstrap: int = typer.Option(200, min=0, help="Bootstrap resamples for intervals (0: none; fewer than 20: no bootstrap interval)"),
    slice_bootstrap: int = typer.Option(50, min=0, help="Bootstrap resamples for per-group slices (0: none; fewer than 20: none)"),
    seed: int = typer.Option(0, help="Seed of the bootstrap resampling (the same seed gives the same intervals)"),
    engine: str = typer.Option("local", help="local (processes) or ray: runs the motion tasks' item scoring and the video task's feature extraction"),
    workers: int = typer.Option(None, min=1, help="Parallel workers, each with --threads BLAS threads (default: the cores, at most 8; Ray: the cluster's CPUs)"),
    address: str = typer.Option(None, help="Ray cluster address (with --engine ray), e.g. auto"),
    device: str = typer.Option("cpu", help="cpu, cuda or auto"),
    cache: Path = typer.Option(None, help="Feature cache folder (default $DYADBENCH_CACHE/features); on a multi-node "
                                          "Ray cluster give a folder every node and the driver share"),
    convention: list[str] = typer.Option(None, help="METRIC=CONVENTION, repeatable (e.g. l2=learning2listen); "
                                                     "see `dyadbench metrics`"),
    threads: int = typer.Option(1, min=1, help="BLAS threads per worker and of the main process (1 is fastest for the motion tasks)"),
    face_stride: int = typer.Option(None, min=1, help="Retrieval: embed every n-th frame of a clip for perceptual L2 (default 8)"),
    compare_to: Path = typer.Option(None, "--compare-to", exists=True,
                                    help="report.json (or its folder) of another system on the same task and items: "
                                         "each metric's paired difference to it, with its interval"),
):
    """Score a submission with every metric of the task; write report.json and report.html."""
    from .tasks.registry import get_task

    get_task(task)  # an unknown task is the first thing to say
    conventions = {}
    for item in convention or []:
        name, sep, conv = item.partition("=")
        if not sep or not name or not conv:
            raise typer.BadParameter(f"expected METRIC=CONVENTION, got {item!r}", param_hint="--convention")
        if name in conventions and conventions[name] != conv:
            raise typer.BadParameter(f"{name} is given two conventions ({conventions[name]} and {conv}); give one",
                                     param_hint="--convention")
        conventions[name] = conv
    other = None
    if compare_to is not None:
        from .report.paired import load_comparable

        other = load_comparable(compare_to, task)
    report = _evaluate_to(task, data, submission, out, system, bootstrap, slice_bootstrap, seed, engine, workers, device,
                          address, cache, conventions, threads, face_stride, other)
    _print_metrics(report)
    if other is not None:
        _print_paired(report)
    console.print(f"report: {out / 'report.html'}")


def _print_metrics(report: dict) -> None:
    from .report.console import metrics_table

    console.print(metrics_table(report))


def _print_paired(report: dict) -> None:
    from .report.console import paired_table

    console.print(paired_table(report))


@app.command("leaderboard")
def leaderboard_cmd(
    paths: list[Path] = typer.Argument(..., help="report.json files or folders holding them"),
    html_out: Path = typer.Option(None, "--html", help="Also write one HTML page with every report"),
    csv_out: Path = typer.Option(None, "--csv", help="Also write the table as CSV"),
    compare_to: str = typer.Option("random", "--compare-to", help="System whose paired differences to every other "
                                                                   "system are shown (same task and items)"),
):
    """Merge reports into one table (and optionally one HTML page)."""
    from .report.html import render
    from .report.leaderboard import leaderboard, per_task

    from .report.leaderboard import comparable_groups
    from .report.paired import compared_to

    table, reports, notes = leaderboard(paths)
    wide = per_task(table, intervals=True)  # ranked by the headline metric, each value with its 95 % interval
    for group, runs in comparable_groups(reports).items():
        console.print(_table(group, wide[group]))
        reference = next((r for r in runs if r["system"] == compare_to), None)
        for r in (r for r in runs if reference is not None and r is not reference):
            _print_paired({**r, "compared_to": compared_to(r, reference)})
    for note in notes[:5]:
        console.print(f"[yellow]note[/yellow] {note}", highlight=False)
    if len(notes) > 5:
        console.print(f"[yellow]note[/yellow] … and {len(notes) - 5} more (files counted once or not dyadbench reports)")
    if csv_out:
        table.to_csv(csv_out, index=False)
    if html_out:
        from .report.output import write_report_file

        write_report_file(html_out, render(reports, title="dyadbench leaderboard", compare_to=compare_to))
        console.print(f"html: {html_out}")


@app.command()
def demo(
    out: Path = typer.Option(Path("demo-out"), "--out", help="Folder for sample data, submissions and reports"),
    seed: int = typer.Option(0, help="Random seed"),
    bootstrap: int = typer.Option(50, min=0, help="Bootstrap resamples of the whole set"),
    slice_bootstrap: int = typer.Option(20, min=0, help="Bootstrap resamples of each slice group (at least 20 for an interval)"),
):
    """The main job on generated sample data: both datasets -> every baseline (trained ones too) -> every task -> one report."""
    from .demo import run_demo
    from .report.html import render
    from .report.output import claim_folder

    claim_folder(out, "demo", legacy_names=("data", "runs", "submissions", "report.json", "report.html"))
    t0 = time.perf_counter()
    console.print("demo: two lanes in parallel (seamless motion | realtalk, then video); steps as they finish:")
    reports, timings = run_demo(out, seed, bootstrap, slice_bootstrap,
                                on_step=lambda lane, what, s: console.print(f"  [{time.perf_counter() - t0:5.0f} s] {lane}: {what} ({s:.1f} s)"))
    for report in reports:
        _print_metrics(report)
    (out / "report.json").write_text(json.dumps({"schema": "dyadbench.demo/1", "reports": reports}, indent=2))
    (out / "report.html").write_text(render(reports, title="dyadbench demo: every baseline on every task (sample data)"))
    console.print("time per step (summed over its calls): " + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items()))
    console.print(f"[bold green]demo finished[/bold green] in {time.perf_counter() - t0:.0f} s: report at {out / 'report.html'}")


if __name__ == "__main__":
    main()
