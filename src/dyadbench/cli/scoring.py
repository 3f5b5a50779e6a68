"""``dyadbench tasks``, ``metrics``, ``baseline``, ``train``, ``evaluate`` and ``leaderboard``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from .common import app, console, df_table, progress_bar

@app.command("tasks")
def tasks_cmd(as_json: bool = typer.Option(False, "--json", help="Print the task declarations as JSON")):
    """The registered benchmark tasks (full names: what `baseline` and `evaluate` take)."""
    from ..tasks.registry import list_tasks

    if as_json:
        print(json.dumps([t.declaration() for t in list_tasks()], indent=2))
        return
    from ..baselines import baseline_names

    for t in list_tasks():  # one block per task: names wrap between words, never cut mid-name
        console.print(f"[bold]{t.name}[/bold]  ({t.protocol}, split {t.split})", highlight=False)
        console.print(f"  metrics:   {', '.join(t.metrics)}", highlight=False)
        console.print(f"  baselines: {', '.join(baseline_names(t))}  (learned needs --checkpoint"
                      + (", clip_text CLIP weights)" if t.protocol == "retrieval" else ")"), highlight=False)
        console.print(f"  {t.description}", highlight=False, style="dim")


@app.command("metrics")
def metrics_cmd(markdown: bool = typer.Option(False, "--markdown", help="Print the README's conventions table")):
    """The registered metrics: direction, conventions (default first) and the reference code each reproduces."""
    from ..metrics.registry import list_metrics

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

    console.print(df_table("metrics", pd.DataFrame(rows).drop(columns=["function"])))


@app.command()
def baseline(
    task: str = typer.Argument(..., metavar="TASK", help="Task name, e.g. seamless/facial-motion"),
    name: str = typer.Argument(..., metavar="NAME", help="Baseline name (see `dyadbench tasks`)"),
    data: Path = typer.Option(..., exists=True, file_okay=False, help="Dataset root"),
    out: Path = typer.Option(..., help="Folder to write the submission into"),
    seed: int = typer.Option(0, help="Random seed of the baseline (the same seed writes the same submission)"),
    checkpoint: Path = typer.Option(None, help="learned: the run folder of `dyadbench train` (or its best.pt)"),
    clip: Path = typer.Option(None, help="clip_text (retrieval): a CLIP folder in the Hugging Face layout (default $DYADBENCH_WEIGHTS/clip)"),
):
    """Write a baseline's submission, in the same format a model's would be."""
    from ..baselines import run_baseline
    from ..report.output import claim_folder

    claim_folder(out, "submission", legacy_suffixes=(".npz", ".mp4"), protect=(data, checkpoint, clip))
    console.print(f"[green]wrote[/green] {run_baseline(task, name, data, out, seed, checkpoint, clip)}")


@app.command()
def train(
    task: str = typer.Argument(..., metavar="TASK", help="Task name, e.g. seamless/facial-motion"),
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
    from ..tasks.registry import get_task
    from ..training.trainer import TrainConfig
    from ..training.trainer import train as run_training

    from ..report.output import claim_folder

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


@app.command()
def evaluate(
    task: str = typer.Argument(..., metavar="TASK", help="Task name (see `dyadbench tasks`)"),
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
    from ..tasks.registry import get_task

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
        from ..report.paired import load_comparable

        other = load_comparable(compare_to, task)
    from ..runner.to_folder import evaluate_to_folder

    with progress_bar(f"Evaluating {system or submission.name} on {task}", total=None) as tick:
        report = evaluate_to_folder(task, data, submission, out, system=system, n_boot=bootstrap, slice_boot=slice_bootstrap,
                                    seed=seed, engine=engine, workers=workers, device=device, address=address, cache=cache,
                                    conventions=conventions, threads=threads, face_stride=face_stride, compare_to=other,
                                    command=" ".join(["dyadbench", *sys.argv[1:]]),
                                    progress=lambda done, total, what: tick(what, done, total))
    print_metrics(report)
    if other is not None:
        print_paired(report)
    console.print(f"report: {out / 'report.html'}")


def print_metrics(report: dict) -> None:
    from ..report.console import metrics_table

    console.print(metrics_table(report))


def print_paired(report: dict) -> None:
    from ..report.console import paired_table

    console.print(paired_table(report))


@app.command("leaderboard")
def leaderboard_cmd(
    paths: list[Path] = typer.Argument(..., metavar="WHAT", help="report.json files or folders holding them"),
    html_out: Path = typer.Option(None, "--html", help="Also write one HTML page with every report"),
    csv_out: Path = typer.Option(None, "--csv", help="Also write the table as CSV"),
    compare_to: str = typer.Option("random", "--compare-to", help="System whose paired differences to every other "
                                                                   "system are shown (same task and items)"),
):
    """Merge reports into one table (and optionally one HTML page)."""
    from ..report.leaderboard import leaderboard, per_task
    from ..report.leaderboard_html import render_leaderboard

    from ..report.leaderboard import comparable_groups
    from ..report.paired import compared_to

    table, reports, notes = leaderboard(paths)
    wide = per_task(table, intervals=True)  # ranked by the headline metric, each value with its 95 % interval
    for group, runs in comparable_groups(reports).items():
        console.print(df_table(group, wide[group]))
        reference = next((r for r in runs if r["system"] == compare_to), None)
        for r in (r for r in runs if reference is not None and r is not reference):
            print_paired({**r, "compared_to": compared_to(r, reference)})
    for note in notes[:5]:
        console.print(f"[yellow]note[/yellow] {note}", highlight=False)
    if len(notes) > 5:
        console.print(f"[yellow]note[/yellow] … and {len(notes) - 5} more (files counted once or not dyadbench reports)")
    if csv_out:
        table.to_csv(csv_out, index=False)
    if html_out:
        from ..report.output import write_report_file

        write_report_file(html_out, render_leaderboard(reports))  # one compact table per comparable group
        console.print(f"html: {html_out}")
