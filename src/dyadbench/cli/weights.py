"""``dyadbench weights``: where model weights are, whether they verify (SHA-256), where to get them."""

from __future__ import annotations

from pathlib import Path

import typer

from .common import app, console, df_table

weights_app = typer.Typer(help="Model weights: where they are, whether they verify.", no_args_is_help=True)
app.add_typer(weights_app, name="weights")


@weights_app.command("list")
def weights_list():
    """Every registered weights file, its SHA-256, official source and local status."""
    import pandas as pd

    from ..features.weights import status

    console.print(df_table("weights", pd.DataFrame(status())))


@weights_app.command("verify")
def weights_verify(name: str = typer.Argument(None, metavar="NAME", help="One weights name (default: every registered one)"),
                   path: Path = typer.Option(None, help="Verify this file instead of the search path")):
    """Check local weights: SHA-256, and that each loads into its network with finite outputs; exit 1
    when any is missing or does not verify."""
    from ..features.models import PROBES, load_network
    from ..features.weights import REGISTRY, WeightsError, resolve

    if name and name not in REGISTRY:
        raise ValueError(f"weights: unknown name {name!r}; registered: {', '.join(sorted(REGISTRY))}")
    failed = False
    for spec in [REGISTRY[name]] if name else REGISTRY.values():
        try:
            found = resolve(spec.name, path)
            if spec.name in PROBES:
                load_network(spec.name, path)  # the file must work as its network (and only then is it pinned)
            console.print(f"[green]ok[/green] {spec.name}: {found}")
        except WeightsError as exc:
            missing = "not found" in str(exc) or "not installed" in str(exc)
            failed = True
            console.print(f"[{'yellow' if missing else 'red'}]{'missing' if missing else 'MISMATCH'}[/] {exc}")
    raise typer.Exit(1 if failed else 0)


@weights_app.command("forget")
def weights_forget(name: str = typer.Argument(..., metavar="NAME", help="Weights name whose pinned SHA-256 to drop")):
    """Unpin weights that have no published SHA-256 (the next file that loads into the network is pinned)."""
    from ..features.weights import forget

    old = forget(name)
    console.print(f"{name}: {'unpinned ' + old if old else 'nothing was pinned'}")


@weights_app.command("where")
def weights_where():
    """The folders searched for weights files, in order."""
    import os

    from ..features.weights import weights_dir

    for label, folder in (("$DYADBENCH_WEIGHTS", os.environ.get("DYADBENCH_WEIGHTS")), ("cache", str(weights_dir()))):
        console.print(f"{label}: {folder or '(unset)'}")
