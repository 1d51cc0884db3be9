"""`python -m service` is the `sortie` command."""

from .cli import app

app(prog_name="sortie")
