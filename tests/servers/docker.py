"""Whether a Docker engine answers here, decided quickly (testcontainers tests skip without one)."""

from __future__ import annotations

import functools
import os


@functools.lru_cache(maxsize=1)
def docker_unavailable_reason() -> str | None:
    """None when a Docker engine answered a ping within a few seconds, else why not.

    Checked with a short timeout, once per session: without an engine the docker SDK fails at
    once on a missing socket, and an unreachable DOCKER_HOST must not stall the test run.
    """
    host = os.environ.get("DOCKER_HOST", "")
    if not host and not os.path.exists("/var/run/docker.sock"):
        return "no Docker engine (no DOCKER_HOST, no /var/run/docker.sock)"
    try:
        import docker

        client = docker.from_env(timeout=5)
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:  # noqa: BLE001 - any failure means "no usable engine"
        return f"no usable Docker engine: {type(exc).__name__}: {exc}"
    return None
