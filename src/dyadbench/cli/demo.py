"""``dyadbench demo``: the main job on generated sample data."""

from __future__ import annotations

import json
import time
from pathlib import Path

import typer

from .common import app, console

@app.command()
def demo(
    out: Path = typer.Option(Path("demo-out"), "--out", help="Folder for sample data, submissions and reports"),
    seed: int = typer.Option(0, help="Random seed"),
    bootstrap: int = typer.Option(50, min=0, help="Bootstrap resamples of the whole set"),
    slice_bootstrap: int = typer.Option(20, min=0, help="Bootstrap resamples of each slice group (at least 20 for an interval)"),
):
    """The main job on generated sample data: both datasets -> every baseline (trained ones too) -> every task -> one report."""
    from ..demo import run_demo
    from ..report.html import render
    from ..report.output import claim_folder

    claim_folder(out, "demo", legacy_names=("data", "runs", "submissions", "report.json", "report.html"))
    t0 = time.perf_counter()
    console.print("demo: two lanes in parallel (seamless motion | realtalk, then video); steps as they finish:")
    reports, timings = run_demo(out, seed, bootstrap, slice_bootstrap,
                                on_step=lambda lane, what, s: console.print(f"  [{time.perf_counter() - t0:5.0f} s] {lane}: {what} ({s:.1f} s)"))
    from ..report.console import summary_table
    from ..report.leaderboard import comparable_groups

    for group, runs in comparable_groups(reports).items():  # one table per task; every metric is in report.html
        console.print(summary_table(group, runs))
    (out / "report.json").write_text(json.dumps({"schema": "dyadbench.demo/1", "reports": reports}, indent=2))
    (out / "report.html").write_text(render(reports, title="dyadbench demo: every baseline on every task (sample data)"))
    console.print("time per step (summed over its calls): " + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items()))
    console.print(f"[bold green]demo finished[/bold green] in {time.perf_counter() - t0:.0f} s: every metric of every run in "
                  f"{out / 'report.html'} (one run's report.json and report.html under {out / 'runs'}/<task>/<system>)")
