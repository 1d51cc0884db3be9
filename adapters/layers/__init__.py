"""Wrappers that compose around any ObjectStore (retry, and later metrics, read-only...)."""
