"""`python -m service` is the `sortie` command."""

from .cli import app

# Guarded: drill workers start as fresh interpreters (spawn) that import this module again.
if __name__ == "__main__":
    app(prog_name="sortie")
