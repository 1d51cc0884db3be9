"""OpenStack Swift adapter (`type: swift`): OVHcloud and other OpenStack clouds (Keystone v3), or
any Swift behind v1 tempauth.

Client: python-swiftclient (with keystoneauth1 for Keystone v3), not apache-libcloud's Swift
driver. swiftclient is the OpenStack project's own client: it streams uploads from an iterator
(chunked) or a file, takes an ETag for Swift to check, passes query strings such as
`multipart-manifest=put|get`, so Static Large Objects work as Swift documents them, and retries
idempotent calls with bounded backoff. libcloud's driver raises ObjectHashMismatchError on stream
uploads (it hashes the exhausted iterator, after the object was stored anyway) and its multipart
upload fails, so it could honour neither "verified" nor "large objects" here.

Modules: auth (login, one connection per thread), errors (translation, once), segments (SLO
segment streaming), store (the contract), preset (provider files under presets/).
"""

from __future__ import annotations

from pathlib import Path

from ..config import SwiftBackend
from ..errors import InvalidRequest
from .auth import Limits, SwiftAuth
from .preset import load_preset
from .store import SWIFT_CAPABILITIES, SwiftStore

__all__ = ["SwiftStore", "SwiftAuth", "Limits", "SWIFT_CAPABILITIES", "from_config"]


def from_config(name: str, settings: SwiftBackend, base_dir: Path) -> SwiftStore:
    capabilities = SWIFT_CAPABILITIES
    auth_url, region = settings.auth_url, settings.region
    user_domain, project_domain = settings.user_domain, settings.project_domain
    auth_version = settings.auth_version
    if settings.preset:
        preset = load_preset(settings.preset)
        capabilities = preset.capabilities(capabilities)
        auth_url = auth_url or preset.auth_url
        region = region or preset.default_region
        fields = settings.model_fields_set
        auth_version = auth_version if "auth_version" in fields else preset.auth_version
        user_domain = user_domain if "user_domain" in fields else preset.user_domain
        project_domain = project_domain if "project_domain" in fields else preset.project_domain
    if not auth_url:
        raise InvalidRequest(f"swift backend {name!r}: set auth_url or a preset", backend=name)
    secret = settings.application_credential_secret
    auth = SwiftAuth(
        auth_url=auth_url, auth_version=auth_version, username=settings.username,
        password=settings.password.get_secret_value() if settings.password else None,
        project=settings.project, project_id=settings.project_id, user_domain=user_domain,
        project_domain=project_domain, region=region, interface=settings.interface,
        application_credential_id=settings.application_credential_id,
        application_credential_secret=secret.get_secret_value() if secret else None,
        storage_url=settings.storage_url)
    _check_credentials(name, auth)
    return SwiftStore(name, auth, limits=Limits(timeout=settings.timeout, retries=settings.retries),
                      capabilities=capabilities)


def _check_credentials(name: str, auth: SwiftAuth) -> None:
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
