"""``dyadbench weights``: where model weights are, whether they verify (SHA-256), where to get them."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

weights_app = typer.Typer(help="Model weights: where they are, whether they verify.", no_args_is_help=True)
console = Console()


@weights_app.command("list")
def weights_list():
    """Every registered weights file, its SHA-256, official source and local status."""
    import pandas as pd

    from .cli import _table
    from .features.weights import status

    console.print(_table("weights", pd.DataFrame(status())))


@weights_app.command("verify")
def weights_verify(name: str = typer.Argument(None, help="One weights name (default: all present)"),
                   path: Path = typer.Option(None, help="Verify this file instead of the search path")):
    """Check SHA-256 of local weights; exit 1 on a mismatch."""
    from .features.weights import REGISTRY, WeightsError, resolve

    if name and name not in REGISTRY:
        raise ValueError(f"weights: unknown name {name!r}; registered: {', '.join(sorted(REGISTRY))}")
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
