"""``python -m b2m`` runs the command line."""

from b2m.cli import main

main()
