"""The ``dyadbench`` command line (Typer + Rich)."""

from __future__ import annotations

import json
import time
from contextlib import contextmanager
from enum import Enum
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

app = typer.Typer(help="Run the Seamless Interaction and RealTalk benchmarks end to end.", no_args_is_help=True)
data_app = typer.Typer(help="Look at dataset roots.", no_args_is_help=True)
app.add_typer(data_app, name="data")
weights_app = typer.Typer(help="Model weights: where they are, whether they verify.", no_args_is_help=True)
app.add_typer(weights_app, name="weights")
console = Console()


class DatasetName(str, Enum):
    seamless = "seamless"
    realtalk = "realtalk"


@contextmanager
def progress_bar(description: str, total: int | None):
    with Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[item]}"), TimeElapsedColumn(), console=console, transient=False) as prog:
        task = prog.add_task(description, total=total, item="")
        yield lambda item="": prog.update(task, advance=1, item=str(item))


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
    dyads: int = typer.Option(None, help="Seamless: interactions per label and split (default 1); RealTalk: videos (default 2)"),
    seconds: float = typer.Option(None, help="Length of each recording (default 4 s Seamless, 32 s RealTalk)"),
    seed: int = typer.Option(0, help="Random seed: the same seed writes the same files"),
    width: int = typer.Option(None, help="Video width (default 320 Seamless, 640 RealTalk)"),
    height: int = typer.Option(None, help="Video height (default 240 Seamless, 360 RealTalk)"),
):
    """Write deterministic sample data in exactly the released layout."""
    from .datasets.sample.realtalk_sample import write_realtalk_sample
    from .datasets.sample.seamless_sample import write_seamless_sample

    t0 = time.perf_counter()
    if dataset is DatasetName.seamless:
        n = dyads or 1
        with progress_bar("Seamless sample", total=n * 12) as tick:
            result = write_seamless_sample(out, dyads=n, seconds=seconds or 4.0, seed=seed, width=width or 320,
                                           height=height or 240, progress=tick)
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
    """Inventory of a dataset root: counts, hours, invalid files with reasons, breakdowns."""
    from .datasets.inventory import detect_dataset, inspect_realtalk, inspect_seamless

    kind = dataset.value if dataset else detect_dataset(root)
    with progress_bar(f"Inspecting {kind}", total=None) as tick:
        inv = inspect_seamless(root, deep=deep, progress=tick) if kind == "seamless" else inspect_realtalk(root, progress=tick)
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
    else:
        console.print("[green]no problems found[/green]")
    if as_json:
        doc = {"dataset": inv.dataset, "root": inv.root, "summary": inv.summary.to_dict("records"),
               "files": inv.files.to_dict("records"), "problems": [p.__dict__ for p in inv.problems],
               "breakdowns": {k: v.to_dict("records") for k, v in inv.breakdowns.items()}}
        as_json.write_text(json.dumps(doc, indent=2, default=str))


@weights_app.command("list")
def weights_list():
    """Every registered weights file, its SHA-256, official source and local status."""
    import pandas as pd

    from .features.weights import status

    console.print(_table("weights", pd.DataFrame(status())))


@weights_app.command("verify")
def weights_verify(name: str = typer.Argument(None, help="One weights name (default: all present)"),
                   path: Path = typer.Option(None, help="Verify this file instead of the search path")):
    """Check SHA-256 of local weights; exit 1 on a mismatch."""
    from .features.weights import REGISTRY, WeightsError, resolve

    failed = False
    for spec in [REGISTRY[name]] if name else REGISTRY.values():
        try:
            console.print(f"[green]ok[/green] {spec.name}: {resolve(spec.name, path)}")
        except WeightsError as exc:
            missing = "not found" in str(exc) or "not installed" in str(exc)
            failed |= not missing or bool(name)
            console.print(f"[{'yellow' if missing else 'red'}]{'missing' if missing else 'MISMATCH'}[/] {exc}")
    raise typer.Exit(1 if failed else 0)


@weights_app.command("where")
def weights_where():
    """The folders searched for weights files, in order."""
    import os

    from .features.weights import weights_dir

    for label, folder in (("$DYADBENCH_WEIGHTS", os.environ.get("DYADBENCH_WEIGHTS")), ("cache", str(weights_dir()))):
        console.print(f"{label}: {folder or '(unset)'}")


@app.command()
def extract(
    root: Path = typer.Argument(..., exists=True, file_okay=False, help="Dataset root (Seamless or RealTalk)"),
    extractors: str = typer.Option("face_motion,gesture,face_identity,face_boxes", help="Comma-separated extractor names"),
    cache: Path = typer.Option(None, help="Feature cache folder (default $DYADBENCH_CACHE/features)"),
    device: str = typer.Option("cpu", help="cpu, cuda or auto (neural extractors)"),
    engine: str = typer.Option("local", help="local (processes) or ray"),
    workers: int = typer.Option(None, help="Parallel workers (default: cores, at most 8)"),
    address: str = typer.Option(None, help="Ray cluster address (with --engine ray), e.g. auto"),
    batch_size: int = typer.Option(32, help="Frames per decoded batch"),
    limit: int = typer.Option(None, help="Only the first N videos"),
):
    """Extract features of every video into the cache (decode once per video; cached ones skipped)."""
    import pandas as pd

    from .engine import run_jobs
    from .features.jobs import extract_one, video_refs

    names = [n.strip() for n in extractors.split(",") if n.strip()]
    refs = video_refs(root)[:limit]
    jobs = [(ref, names, str(cache) if cache else None, device, batch_size) for ref in refs]
    rows = [None] * len(jobs)
    with progress_bar("Extracting", total=len(jobs)) as tick:
        for i, row in run_jobs(extract_one, jobs, engine=engine, workers=workers, address=address):
            rows[i] = row
            tick(row["id"])
    console.print(_table("extracted", pd.DataFrame(rows).drop(columns=["hash"])))


@app.command()
def demo(
    out: Path = typer.Option(Path("demo-out"), "--out", help="Folder for sample data and results"),
    seed: int = typer.Option(0, help="Random seed"),
):
    """The main job on bundled sample data: generate both datasets and inventory them."""
    out.mkdir(parents=True, exist_ok=True)
    sample(DatasetName.seamless, out / "seamless", None, None, seed, None, None)
    sample(DatasetName.realtalk, out / "realtalk", None, None, seed, 320, 180)
    for name in ("seamless", "realtalk"):
        inspect_cmd(out / name, None, False, out / f"{name}-inventory.json", False)
    console.print(f"[bold green]demo finished[/bold green]: inventories in {out}/*-inventory.json")


if __name__ == "__main__":
    app()
