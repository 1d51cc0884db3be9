"""Sortie's gateway and command line: the top layer (service -> exit_drills -> adapters)."""

__version__ = "0.1.0"
