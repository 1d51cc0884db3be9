"""Backend settings as typed models: one model per `type:`, unknown keys refused.

Secrets are `SecretStr` so they never print; the loader (service/config.py) has already replaced
`${ENV_VAR}` references and refused secrets written in clear in the file.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal, Mapping, Union

from pydantic import BaseModel, ConfigDict, Field, SecretStr, TypeAdapter

from .presets import ComplianceFacts

#: Option names whose values must come from the environment, never from the file itself.
SECRET_FIELDS = frozenset({"access_key", "secret_key", "account_key", "connection_string",
                           "sas_token", "password", "application_credential_secret", "key",
                           "secret"})


class _Backend(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Facts the operator knows of this backend, each with its source (a contract, a
    #: certificate), over the preset's key by key: an HDS option in the contract, the law a disk
    #: in one's own data centre answers to. Unknown facts stay unknown.
    facts: ComplianceFacts | None = None


class LocalBackend(_Backend):
    type: Literal["local"]
    #: Relative paths are resolved against the configuration file's folder.
    path: Path


class S3Backend(_Backend):
    type: Literal["s3"]
    #: A provider preset (adapters/s3/presets/NAME.yaml); every other key overrides it.
    preset: str | None = None
    endpoint: str | None = None
    region: str | None = None
    addressing: Literal["virtual", "path"] | None = None
    signature: Literal["s3v4", "s3"] | None = None
    access_key: SecretStr | None = None
    secret_key: SecretStr | None = None
    #: Provider quirk overrides (max_parts, min_part_size, ...), key by key over the preset's.
    quirks: dict[str, Any] = Field(default_factory=dict)
    #: Seconds to connect, and of silence while reading an answer, before a call fails.
    connect_timeout: float = Field(default=5.0, gt=0)
    read_timeout: float = Field(default=60.0, gt=0)
    #: Whole-object GETs and single PUTs through obstore (adapters/fast_io.py); off: boto3 only.
    fast_io: bool = True


class AzureBackend(_Backend):
    type: Literal["azure"]
    account_url: str | None = None
    account_key: SecretStr | None = None
    connection_string: SecretStr | None = None
    sas_token: SecretStr | None = None
    #: Use Entra ID through azure-identity's DefaultAzureCredential.
    entra_id: bool = False
    preset: str | None = None
    #: Blocks of one large object on the wire at once (memory: about this many blocks + 1).
    max_concurrency: int = Field(default=4, ge=1, le=64)
    #: Extra tries of a failed request by the SDK itself. 0 by default: the registry's retry
    #: layer retries every store call, and two retrying layers multiply their attempts.
    retries: int = Field(default=0, ge=0, le=10)
    connect_timeout: float = Field(default=10.0, gt=0)
    read_timeout: float = Field(default=120.0, gt=0)
    #: Whole-object GETs and single PUTs through obstore (adapters/fast_io.py), with a shared
    #: key; off (or with a SAS token or Entra ID): azure-storage-blob only.
    fast_io: bool = True


class SwiftBackend(_Backend):
    type: Literal["swift"]
    #: Keystone v3 (e.g. https://auth.cloud.ovh.net/v3) or v1 tempauth (.../auth/v1.0); a preset
    #: (adapters/swift/presets/NAME.yaml) may supply it and the region.
    auth_url: str | None = None
    auth_version: Literal["1", "1.0", "3"] = "3"
    username: str | None = None
    password: SecretStr | None = None
    project: str | None = None
    project_id: str | None = None
    region: str | None = None
    user_domain: str = "Default"
    project_domain: str = "Default"
    #: Keystone application credentials, instead of username/password/project.
    application_credential_id: str | None = None
    application_credential_secret: SecretStr | None = None
    #: Keystone catalog interface (public, internal, admin).
    interface: str = "public"
    #: Use this storage URL instead of the catalog's (https://.../v1/AUTH_<project>).
    storage_url: str | None = None
    #: Seconds per connect/read.
    timeout: float = Field(default=60.0, gt=0)
    #: Extra tries of idempotent calls by swiftclient itself (it still logs in again once on a
    #: 401). 0 by default: the registry's retry layer retries every store call.
    retries: int = Field(default=0, ge=0, le=10)
    preset: str | None = None


class LibcloudBackend(_Backend):
    type: Literal["libcloud"]
    #: An apache-libcloud storage Provider name, e.g. LOCAL, AZURE_BLOBS, GOOGLE_STORAGE.
    provider: str
    key: SecretStr | None = None
    secret: SecretStr | None = None
    #: Further keyword arguments of the driver (host, port, secure, region...).
    options: dict[str, Any] = Field(default_factory=dict)
    #: Where puts are spooled (hashed and checked) before the driver uploads them; default: the
    #: system temp dir. Needs room for the largest objects being written at once.
    spool_dir: Path | None = None


BackendConfig = Annotated[
    Union[LocalBackend, S3Backend, AzureBackend, SwiftBackend, LibcloudBackend],
    Field(discriminator="type"),
]


_REFERENCE = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")
_BACKEND = TypeAdapter(BackendConfig)


def secret_values(settings: BaseModel) -> dict[str, str]:
    """field -> value of the secrets `settings` holds (for handing them to child processes
    through their environment, never through a task payload)."""
    return {name: value.get_secret_value() for name in SECRET_FIELDS
            if isinstance(value := getattr(settings, name, None), SecretStr)}


def shippable(settings: BaseModel, refs: Mapping[str, str]) -> dict[str, Any]:
    """The settings as plain data another process can rebuild them from, every secret replaced
    by a `${VAR}` reference (`refs`: field -> environment variable), never by its value."""
    data = settings.model_dump(mode="json", exclude_unset=True)
    for name in secret_values(settings):
        if name not in refs:
            raise ValueError(f"secret {name!r} has no environment variable to travel by: give it "
                             f"as ${{VAR}} in the configuration")
        data[name] = "${" + refs[name] + "}"
    return data


def from_shipped(data: Mapping[str, Any], environ: Mapping[str, str]) -> BackendConfig:
    """Settings rebuilt from `shippable` data, each secret read from this process's environment."""
    resolved = dict(data)
    for name in SECRET_FIELDS:
        value = resolved.get(name)
        match = _REFERENCE.fullmatch(value) if isinstance(value, str) else None
        if match:
            if match.group(1) not in environ:
                raise ValueError(f"secret {name!r}: environment variable {match.group(1)} is not "
                                 "set in this process")
            resolved[name] = environ[match.group(1)]
    return _BACKEND.validate_python(resolved)
