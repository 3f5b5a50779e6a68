"""The ``dyadbench`` command line (Typer + Rich): one module per command group, one console.

``common`` holds the apps, the console, the progress bar and the entry point; importing each
command module registers its commands on ``app``.
"""

from __future__ import annotations

from . import data, demo, download, scoring, study, weights  # noqa: F401 - each registers its commands
from .common import STATE, app, console, main

__all__ = ["STATE", "app", "console", "main"]
