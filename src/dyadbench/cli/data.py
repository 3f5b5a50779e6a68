"""``dyadbench sample``, ``data inspect``, ``data manifest`` and ``extract``: sample data, dataset roots, features."""

from __future__ import annotations

import json
import time
from pathlib import Path

import typer
from rich.table import Table

from .common import DatasetName, app, console, data_app, df_table, progress_bar

@app.command()
def sample(
    dataset: DatasetName = typer.Argument(..., metavar="DATASET", help="seamless or realtalk"),
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
    from ..datasets.sample.realtalk_sample import write_realtalk_sample
    from ..datasets.sample.seamless_sample import write_seamless_sample

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
    root: Path = typer.Argument(..., metavar="ROOT", exists=True, file_okay=False, help="Dataset root"),
    dataset: DatasetName = typer.Option(None, help="Force the layout (default: detect)"),
    deep: bool = typer.Option(False, help="Also load arrays to check NaN/inf (slower)"),
    as_json: Path = typer.Option(None, "--json", help="Also write the inventory as JSON here"),
    show_files: bool = typer.Option(False, "--files", help="List every file"),
):
    """Inventory of a dataset root: counts, hours, invalid files with reasons, breakdowns.
    Exits 1 when it lists problems (so scripts and CI can gate on it), 0 when there are none."""
    from ..datasets.inventory import detect_dataset, inspect_realtalk, inspect_seamless

    kind = dataset.value if dataset else detect_dataset(root)
    with progress_bar(f"Inspecting {kind}", total=None) as tick:
        inv = inspect_seamless(root, deep=deep, progress=tick) if kind == "seamless" else inspect_realtalk(root, progress=tick)
    if kind == "seamless" and inv.files.empty:
        from ..datasets.errors import Skip

        detected = "?"
        try:
            detected = detect_dataset(root)
        except ValueError:
            pass
        inv.problems.append(Skip(str(root), "no Seamless Interaction dyad found here"
                                 + (f" (this looks like a {detected} root)" if detected not in ("seamless", "?") else "")))
    console.print(df_table(f"{kind} — {root}", inv.summary))
    if show_files:
        console.print(df_table("files", inv.files))
    for name, df in inv.breakdowns.items():
        console.print(df_table(f"by {name}", df))
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
    root: Path = typer.Argument(..., metavar="ROOT", exists=True, file_okay=False, help="Dataset root"),
    task: str = typer.Option(..., "--task", help="Task name, e.g. seamless/facial-motion"),
    out: Path = typer.Option(None, "--out", help="Write the manifest (JSON) here; default: print its hash and counts only"),
    workers: int = typer.Option(None, help="Parallel workers (default: by the number of items)"),
):
    """The exact items a task scores after the dataset-fault policies, each with frames, valid frames
    and a content hash of every array the task reads, and one manifest hash (the hash an
    evaluation's report.json carries). Equal hashes: the same items and numbers, whatever layout."""
    from ..datasets.manifest import write_manifest
    from ..runner.manifest import task_manifest

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
    root: Path = typer.Argument(..., metavar="ROOT", exists=True, help="Dataset root (Seamless or RealTalk), or a text file of video paths"),
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

    from ..features.shards import (
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
        console.print(df_table("extracted", pd.DataFrame(good).drop(columns=["hash"])))
    for r in result.rows:
        if "error" in r:
            console.print(f"[red]failed[/red] {r['id']} ({r['shard']}): {r['error']}")
    console.print(f"{len(shards)} shards: {len(result.computed)} extracted, {len(result.skipped)} already done "
                  f"({time.perf_counter() - t0:.1f} s, engine {engine})")
    if stats_out:
        write_stats(stats_out, result.stats)
        console.print(f"[green]wrote[/green] {stats_out} ({', '.join(f'{k}: n={v.n}' for k, v in result.stats.items())})")
