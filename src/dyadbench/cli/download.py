"""``dyadbench download``: fetch exactly what a task reads from the public release."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from .common import app, console



@app.command("download")
def download_cmd(
    dataset: str = typer.Argument(..., metavar="DATASET", help="seamless (RealTalk is one Hugging Face dataset: huggingface-cli download scottgeng00/realtalk)"),
    task: str = typer.Option(..., "--task", help="Task whose files to fetch, e.g. seamless/facial-motion"),
    split: str = typer.Option(None, "--split", help="Split (default: the task's)"),
    to: Path = typer.Option(..., "--to", help="Dataset root to download into (the release's layout; resumable)"),
    label: list[str] = typer.Option(None, "--label", help="Only this label (repeatable: improvised, naturalistic)"),
    filelist: str = typer.Option(None, "--filelist", help="filelist.csv, a path or URL (default: the official repository's)"),
    base_url: str = typer.Option(None, "--base-url", help="Per-file layout base URL (default: https://dl.fbaipublicfiles.com/seamless_interaction)"),
    hf_endpoint: str = typer.Option(None, "--hf-endpoint", help="Hugging Face endpoint for the video tars (default: huggingface.co)"),
    limit: int = typer.Option(None, "--limit", help="Only the first N file ids (a quick look)"),
    threads: int = typer.Option(8, "--threads", help="Parallel transfers"),
):
    """Fetch only the files TASK reads (features, masks, audio where a metric reads it, metadata;
    tars only for the video task), resumably, sizes and MD5s checked; prints the total size first and
    the data manifest's hash at the end."""
    from ..datasets import download as dl
    from ..runner.manifest import task_manifest
    from ..tasks.registry import get_task

    if dataset != "seamless":
        raise ValueError(f"download: only 'seamless' (got {dataset!r}); RealTalk is one Hugging Face dataset (scottgeng00/realtalk)")
    t = get_task(task)
    if t.dataset != "seamless":
        raise ValueError(f"download: task {task} is not a Seamless Interaction task")
    split = split or t.split
    to.mkdir(parents=True, exist_ok=True)
    fl = dl.read_filelist(filelist or dl.FILELIST_URL, to / "assets" / "filelist.csv")
    if t.protocol == "video":
        tars = dl.plan_tars(fl, split, label)
        console.print(f"{task} ({split}): {len(tars)} WebDataset tar(s) of about 1.1 GiB each from {dl.HF_REPO}")
        dl.fetch_tars(tars, to, hf_endpoint, progress=lambda name, how: console.print(f"  {how} {name}"))
        return
    planned = dl.plan_files(t, fl, split, to, base_url or dl.FILES_BASE, label, limit)
    console.print(f"{task} ({split}): asking the server for the sizes of {len(planned):,} files ...")
    planned = dl.sizes(planned, threads=max(threads, 16))
    total = sum(p.size or 0 for p in planned)
    on_disk = sum(1 for p in planned if dl.is_whole(p))
    console.print(f"{len(planned):,} files, {total / 1e9:.3f} GB ({total:,} bytes); {on_disk:,} already whole on disk")
    counts = dl.fetch_all(planned, threads=threads)
    bad = [p for p in planned if not dl.is_whole(p)]
    if bad:
        raise dl.DownloadError(bad[0].url, f"{len(bad)} file(s) not whole after the download; run again to resume")
    doc = task_manifest(task, to)
    record = {"task": task, "split": split, "files": [{"path": str(p.dest.relative_to(to)), "bytes": p.size, "md5": p.md5} for p in planned],
              "manifest": doc["hash"], "items": doc["n_items"], "excluded_items": doc["excluded_items"]}
    (to / "dyadbench-download.json").write_text(json.dumps(record, indent=1))
    console.print(f"done: {', '.join(f'{n} {how}' for how, n in sorted(counts.items()))}; every file's size"
                  f"{' and MD5' if any(p.md5 for p in planned) else ''} checked; {doc['n_items']} items of {task}, "
                  f"manifest [bold]{doc['hash']}[/bold]", highlight=False)
