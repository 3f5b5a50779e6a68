"""What every command of the ``dyadbench`` command line shares: the Typer apps, the one Rich console,
the progress bar, table rendering and the entry point's error handling."""

from __future__ import annotations

import re
from contextlib import contextmanager
from enum import Enum

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
    user then types and is refused. Show no type for flags; a repeatable option shows its item's
    type (``<text>``, not ``<list[str]>``)."""
    if self.is_flag:
        return None
    shown = _display_type(self, ctx)
    text = str(shown) if shown is not None else ""
    match = re.fullmatch(r"<list\[(\w+)\]>", text.strip())
    if match:
        return f"<{match.group(1).lower()}, repeatable>"
    return shown


typer.core.TyperOption.display_type_rich = _no_flag_type
_argument_usage = getattr(typer.core.TyperArgument, "_usage_display_name", None)


def _plain_argument_usage(self):
    """Usage lines read ``dyadbench baseline [OPTIONS] TASK NAME`` as the README writes them:
    typer >= 0.26 wraps required arguments in braces (``{TASK}``), which reads like a set to
    choose from."""
    text = _argument_usage(self)
    return re.sub(r"^\{(.*)\}(\.\.\.)?$", r"\1\2", text)


if _argument_usage is not None:
    typer.core.TyperArgument._usage_display_name = _plain_argument_usage
app = typer.Typer(help="Run the Seamless Interaction and RealTalk benchmarks end to end.", no_args_is_help=True)
data_app = typer.Typer(help="Look at dataset roots.", no_args_is_help=True)
app.add_typer(data_app, name="data")
console = Console()  # the one console every command prints to


STATE = {"debug": False}


def _version(value: bool):
    if value:
        from .. import __version__

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
        from ..native_logs import silence

        silence()


def main() -> None:
    """The ``dyadbench`` entry point: known errors print one red line (file, problem) and exit 2;
    ``--debug`` shows the traceback instead."""
    from ..datasets.errors import DatasetError
    from ..features.weights import WeightsError
    from ..report.output import OutputBusy

    # OSError: what the system says (a full disk, a symlink loop, a read error) is one line too.
    known = (DatasetError, WeightsError, OutputBusy, ValueError, KeyError, OSError)
    from ..native_logs import restore

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
    """Yields ``tick(item="", done=None, total=None)``: advance by one, or set done/total when known."""
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


def df_table(title: str, df) -> Table:
    table = Table(title=title, show_lines=False)
    for col in df.columns:
        table.add_column(str(col), justify="right" if df[col].dtype.kind in "if" else "left")
    for row in df.itertuples(index=False):
        table.add_row(*[f"{v:.4f}" if isinstance(v, float) else str(v) for v in row])
    return table
