"""The OpenStack Swift family's record: settings, build, presets and facts."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Mapping

from ..config import SwiftBackend
from ..contract import ObjectStore
from ..errors import InvalidRequest
from ..family import Family
from .preset import CATALOGUE, resolve

if TYPE_CHECKING:
    from .auth import SwiftAuth


def build(name: str, settings: SwiftBackend, base_dir: Path,
          overrides: Mapping[str, object]) -> ObjectStore:
    """The bare store (no layers: adapters.registry.build_store applies them)."""
    from .auth import Limits, SwiftAuth
    from .store import SwiftStore

    settings, capabilities = resolve(settings)
    if overrides:
        capabilities = capabilities.with_overrides(**overrides)
    if not settings.auth_url:
        raise InvalidRequest(f"swift backend {name!r}: set auth_url or a preset", backend=name)
    secret = settings.application_credential_secret
    auth = SwiftAuth(
        auth_url=settings.auth_url, auth_version=settings.auth_version,
        username=settings.username,
        password=settings.password.get_secret_value() if settings.password else None,
        project=settings.project, project_id=settings.project_id,
        user_domain=settings.user_domain, project_domain=settings.project_domain,
        region=settings.region, interface=settings.interface,
        application_credential_id=settings.application_credential_id,
        application_credential_secret=secret.get_secret_value() if secret else None,
        storage_url=settings.storage_url)
    _check_credentials(name, auth)
    return SwiftStore(name, auth, limits=Limits(timeout=settings.timeout, retries=settings.retries),
                      capabilities=capabilities)


def _check_credentials(name: str, auth: "SwiftAuth") -> None:
    """Refuse incomplete settings up front, with what is missing, instead of a 401 later."""
    if auth.is_v1:
        missing = [f for f in ("username", "password") if not getattr(auth, f)]
    elif auth.application_credential_id or auth.application_credential_secret:
        missing = [f for f in ("application_credential_id", "application_credential_secret")
                   if not getattr(auth, f)]
    else:
        missing = [f for f in ("username", "password") if not getattr(auth, f)]
        if not (auth.project or auth.project_id):
            missing.append("project (or project_id)")
    if missing:
        raise InvalidRequest(f"swift backend {name!r}: missing {', '.join(missing)}", backend=name)


FAMILY = Family(type="swift", title="OpenStack Swift", settings=SwiftBackend, build=build,
                presets=CATALOGUE, modules=("adapters.swift.auth", "adapters.swift.store"))
