"""``python -m dyadbench`` = the ``dyadbench`` command."""

from .cli import app

app(prog_name="dyadbench")
