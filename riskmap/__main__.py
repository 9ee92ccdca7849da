"""``python -m riskmap`` runs the command line."""

from riskmap.cli import entry

entry()
