"""``python -m dyadbench`` = the ``dyadbench`` command."""

from .cli import main

main()
