"""Loading Sortie's one YAML configuration file.

Where it comes from: `--config FILE`, else `$SORTIE_CONFIG`, else the embedded default
(service/default_config.yaml: two local-disk backends under ./data).

Secrets are never written in the file: options such as `secret_key` must be `${ENV_VAR}`
references, replaced at load. Every problem (unknown key, wrong type, missing variable, secret in
clear) is reported as `FILE: dotted.key: problem`, and the load fails as a whole.
"""

from __future__ import annotations

import os
import re
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from adapters.config import SECRET_FIELDS, BackendConfig
from adapters.errors import InvalidName
from adapters.names import check_bucket
from adapters.placement import PlacementPolicy
from exit_drills.spec import DrillSchedule, check_schedules

ENV_VAR = "SORTIE_CONFIG"
DEFAULT_NAME = "<embedded default>"
_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_WHOLE_REF = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*\}$")
_BACKEND_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
# The Azure emulator's switch names no secret; it is the one connection string allowed in clear.
_CLEAR_ALLOWED = {"UseDevelopmentStorage=true"}


class ConfigError(Exception):
    """A configuration that cannot be used; the message names the file, the line, the key and
    the problem, one line per problem."""

    def __init__(self, source: str, problems: list[str],
                 lines: list[int | None] | None = None) -> None:
        self.source = source
        self.problems = problems
        self.lines = lines or [None] * len(problems)
        super().__init__("\n".join(f"{source}:{line}: {p}" if line else f"{source}: {p}"
                                   for p, line in zip(problems, self.lines)))


class BucketEncryption(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: The key-encryption key (a name in `keys:`) that wraps each object's data key.
    key: str


class BucketRoute(BaseModel):
    """Where one logical bucket lives: a backend and the bucket's name there."""

    model_config = ConfigDict(extra="forbid")

    backend: str
    #: Physical bucket name on the backend (default: the logical name).
    name: str | None = None
    #: The placement policy its data obeys (`policies:`; default: `default_policy`).
    policy: str | None = None
    #: Client-side encryption of its objects (default: its policy's `key`, if any).
    encryption: BucketEncryption | None = None


class KeyFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: A key file made by `sortie keys create --out FILE` (mode 0600); relative to the
    #: configuration file's folder.
    file: Path


class Limits(BaseModel):
    """What one client may hold of the gateway, so that no tenant can stall the others."""

    model_config = ConfigDict(extra="forbid")

    #: A request body that sends nothing for this long fails (408) and stores nothing.
    body_idle_timeout_s: float = Field(default=30.0, gt=0, le=3600)
    #: Requests in flight at once per token, and per client address; more get 429. Behind a
    #: proxy every request shares the proxy's address: raise the second limit there.
    max_in_flight_per_token: int = Field(default=32, ge=1, le=10_000)
    max_in_flight_per_client: int = Field(default=128, ge=1, le=10_000)


class StateSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: PostgreSQL URL of the state shared by several gateway replicas (service/state/), e.g.
    #: `postgresql://sortie:${SORTIE_DB_PASSWORD}@db:5432/sortie`. None: files under state_dir.
    url: str | None = None
    #: Connections per process; each write in flight holds one (its bucket's lock).
    pool_size: int = Field(default=50, ge=2, le=1000)


class S3ApiSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: Port of the S3-compatible front (service/s3api/); None: not served (`serve --s3-port`).
    port: int | None = Field(default=None, ge=1, le=65535)
    #: Address it listens on (the REST API's `--host` by default).
    host: str | None = None
    #: The region clients sign for (SigV4's credential scope).
    region: str = "us-east-1"
    #: Host name under which buckets are also addressed virtual-hosted style
    #: (`BUCKET.s3.example.org` with `s3.example.org` here); None: path style only.
    virtual_host_base: str | None = None
    #: Key file that seals the S3 secret keys of tokens (0600; made on first use). Several
    #: replicas need the same file. Default: STATE_DIR/s3-secrets.key.
    secrets_key: Path | None = None


class EvidenceSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: Ed25519 private key (PEM, mode 0600) that signs each drill's attestation; made by
    #: `sortie evidence keygen`. Relative to the configuration file's folder. None: unsigned.
    signing_key: Path | None = None


class SortieConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    backends: dict[str, BackendConfig] = Field(min_length=1)
    #: Where Sortie keeps its own state: tokens, audit log, drill history and reports.
    #: Relative paths resolve against the configuration file's folder.
    state_dir: Path = Path("data/state")
    #: Tokens, routes, locks and the audit chain in PostgreSQL instead (several replicas).
    state: StateSettings = Field(default_factory=StateSettings)
    #: The S3-compatible front: existing S3 clients through the same buckets and tokens.
    s3_api: S3ApiSettings = Field(default_factory=S3ApiSettings)
    #: Logical bucket -> where it lives; buckets created through the API are added at run time.
    buckets: dict[str, BucketRoute] = Field(default_factory=dict)
    #: Backend of buckets created through the API without naming one (default: the first backend).
    default_backend: str | None = None
    #: Append-only JSON-lines audit log (default: STATE_DIR/audit.log); relative to the file's folder.
    audit_log: Path | None = None
    #: Exit drills run by `sortie scheduler` on their cron schedules (exit_drills/spec.py).
    drills: list[DrillSchedule] = Field(default_factory=list)
    limits: Limits = Field(default_factory=Limits)
    evidence: EvidenceSettings = Field(default_factory=EvidenceSettings)
    #: Placement policies by name (adapters/placement.py), judged from the provider facts.
    policies: dict[str, PlacementPolicy] = Field(default_factory=dict)
    #: The policy of buckets that name none (None: no policy, data may land anywhere).
    default_policy: str | None = None
    #: Key-encryption keys of client-side encryption, by name (adapters/layers/encrypt.py).
    keys: dict[str, KeyFile] = Field(default_factory=dict)

    def encryption_key(self, logical: str | None) -> str | None:
        """The key that encrypts bucket `logical`'s objects: its own, else its policy's."""
        route = self.buckets.get(logical) if logical else None
        if route is not None and route.encryption is not None:
            return route.encryption.key
        name = (route.policy if route is not None else None) or self.default_policy
        return self.policies[name].key if name in self.policies else None

    @model_validator(mode="after")
    def _known_keys(self) -> "SortieConfig":
        known = ", ".join(sorted(self.keys)) or "none configured"
        for logical, route in self.buckets.items():
            if route.encryption is not None and route.encryption.key not in self.keys:
                raise ValueError(f"buckets.{logical}.encryption.key {route.encryption.key!r} is "
                                 f"not in keys ({known})")
        for name, policy in self.policies.items():
            if policy.key is not None and policy.key not in self.keys:
                raise ValueError(f"policies.{name}.key {policy.key!r} is not in keys ({known})")
        return self

    @model_validator(mode="after")
    def _known_policies(self) -> "SortieConfig":
        known = ", ".join(sorted(self.policies)) or "none configured"
        if self.default_policy is not None and self.default_policy not in self.policies:
            raise ValueError(f"default_policy {self.default_policy!r} is not in policies "
                             f"({known})")
        for logical, route in self.buckets.items():
            if route.policy is not None and route.policy not in self.policies:
                raise ValueError(f"buckets.{logical}.policy {route.policy!r} is not in policies "
                                 f"({known})")
        return self

    @model_validator(mode="after")
    def _placed_by_policy(self) -> "SortieConfig":
        """Configured routes and scheduled drills obey their bucket's policy (refused at load)."""
        from .placement import drill_refusal, landing_refusal

        problems = []
        if self.policies:
            for logical, route in self.buckets.items():
                if route.backend in self.backends:
                    refusal = landing_refusal(self, logical, route.backend)
                    if refusal:
                        problems.append(f"buckets.{logical}: {refusal}")
            for index, drill in enumerate(self.drills):
                refusal = drill_refusal(self, drill.spec(), routes=None)
                if refusal:
                    problems.append(f"drills.{index} ({drill.name}): {refusal}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @model_validator(mode="after")
    def _drill_backends(self) -> "SortieConfig":
        problems = check_schedules(self.drills, set(self.backends))
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @model_validator(mode="after")
    def _known_backends(self) -> "SortieConfig":
        if self.default_backend is not None and self.default_backend not in self.backends:
            raise ValueError(f"default_backend {self.default_backend!r} is not a configured backend")
        for logical, route in self.buckets.items():
            if route.backend not in self.backends:
                raise ValueError(f"buckets.{logical}.backend {route.backend!r} is not a configured "
                                 "backend")
        return self

    @field_validator("buckets")
    @classmethod
    def _bucket_names(cls, value: dict[str, BucketRoute]) -> dict[str, BucketRoute]:
        for logical, route in value.items():
            for name in (logical, route.name):
                if name is not None:
                    try:
                        check_bucket(name)
                    except InvalidName as exc:
                        raise ValueError(exc.message) from None
        return value

    @property
    def first_backend(self) -> str:
        return self.default_backend or next(iter(self.backends))

    @field_validator("backends")
    @classmethod
    def _names(cls, value: dict[str, BackendConfig]) -> dict[str, BackendConfig]:
        for name in value:
            if not _BACKEND_NAME.fullmatch(name):
                raise ValueError(f"backend name {name!r}: use 1-32 lowercase letters, digits, '-' or "
                                 "'_', starting with a letter")
        return value


class LoadedConfig(BaseModel):
    """The validated configuration with where it came from (relative paths resolve against it)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    source: str
    base_dir: Path
    settings: SortieConfig
    #: backend -> secret field -> the environment variable it was read from (secrets travel to
    #: drill workers as these references, never as values).
    secret_refs: dict[str, dict[str, str]] = {}

    @property
    def state_dir(self) -> Path:
        path = self.settings.state_dir
        return path if path.is_absolute() else self.base_dir / path

    @property
    def signing_key(self) -> Path | None:
        path = self.settings.evidence.signing_key
        if path is None:
            return None
        return path if path.is_absolute() else self.base_dir / path

    @property
    def s3_secrets_key(self) -> Path:
        path = self.settings.s3_api.secrets_key
        if path is None:
            return self.state_dir / "s3-secrets.key"
        return path if path.is_absolute() else self.base_dir / path

    @property
    def key_files(self) -> dict[str, Path]:
        return {name: key.file if key.file.is_absolute() else self.base_dir / key.file
                for name, key in self.settings.keys.items()}

    @property
    def audit_log(self) -> Path:
        path = self.settings.audit_log
        if path is None:
            return self.state_dir / "audit.log"
        return path if path.is_absolute() else self.base_dir / path


def load(path: str | os.PathLike[str] | None = None,
         environ: dict[str, str] | None = None) -> LoadedConfig:
    env = dict(os.environ if environ is None else environ)
    chosen = path if path is not None else env.get(ENV_VAR) or None
    if chosen is None:
        text = resources.files("service").joinpath("default_config.yaml").read_text("utf-8")
        source, base_dir = DEFAULT_NAME, Path.cwd()
    else:
        file = Path(chosen)
        source, base_dir = str(file), file.resolve().parent
        try:
            text = file.read_text("utf-8")
        except OSError as exc:
            raise ConfigError(source, [f"cannot read the file: {exc.strerror}"]) from None
    return parse(text, source=source, base_dir=base_dir, environ=env)


def parse(text: str, *, source: str, base_dir: Path, environ: dict[str, str]) -> LoadedConfig:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(source, [f"not valid YAML: {_yaml_problem(exc)}"],
                          [_yaml_line(exc)]) from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(source, ["the top level must be a mapping (backends: ...)"])
    problems: list[str] = []
    resolved = _substitute(raw, (), environ, problems)
    refs = _secret_refs(raw)
    settings = None
    try:
        settings = SortieConfig.model_validate(resolved)
    except ValidationError as exc:
        for error in exc.errors():
            problems += _describe(error)
        # The model checks references between keys only once every field is valid: say them
        # now too, so that one run shows every problem.
        problems += cross_references(resolved)
    if settings is not None:
        problems += _preset_problems(settings)
        problems += _key_problems(settings, base_dir)
    if problems:
        problems = _one_per_key(problems)
        lines = _key_lines(text)
        raise ConfigError(source, problems, [_line_of(p, lines) for p in problems])
    assert settings is not None
    return LoadedConfig(source=source, base_dir=base_dir, settings=settings, secret_refs=refs)


def _one_per_key(problems: list[str]) -> list[str]:
    """Every problem once, and one per key (a key's first problem is the one to fix)."""
    seen: set[str] = set()
    kept: list[str] = []
    for problem in problems:
        key = problem.split(":", 1)[0]
        if key in seen or problem in kept:
            continue
        seen.add(key)
        kept.append(problem)
    return kept


def cross_references(raw: Any) -> list[str]:
    """References between keys, read from the raw configuration (whatever else is wrong)."""
    if not isinstance(raw, dict):
        return []
    backends = raw.get("backends") if isinstance(raw.get("backends"), dict) else {}
    policies = raw.get("policies") if isinstance(raw.get("policies"), dict) else {}
    known = ", ".join(sorted(map(str, backends))) or "none configured"
    problems = []
    default = raw.get("default_backend")
    if default is not None and default not in backends:
        problems.append(f"default_backend: {default!r} is not a configured backend ({known})")
    policy = raw.get("default_policy")
    if policy is not None and policy not in policies:
        problems.append(f"default_policy: {policy!r} is not in policies")
    buckets = raw.get("buckets") if isinstance(raw.get("buckets"), dict) else {}
    for logical, route in buckets.items():
        if not isinstance(route, dict):
            continue
        if route.get("backend") is not None and route["backend"] not in backends:
            problems.append(f"buckets.{logical}.backend: {route['backend']!r} is not a "
                            f"configured backend ({known})")
        if route.get("policy") is not None and route["policy"] not in policies:
            problems.append(f"buckets.{logical}.policy: {route['policy']!r} is not in policies")
    drills = raw.get("drills") if isinstance(raw.get("drills"), list) else []
    for index, drill in enumerate(drills):
        for label in ("from", "to"):
            text = drill.get(label) if isinstance(drill, dict) else None
            if isinstance(text, str) and ":" in text and text.split(":", 1)[0] not in backends:
                problems.append(f"drills.{index}.{label}: backend {text.split(':', 1)[0]!r} is "
                                f"not configured ({known})")
    return problems


def _preset_problems(settings: "SortieConfig") -> list[str]:
    """A preset that does not exist or does not load, caught here rather than at first use."""
    from adapters import registry
    from adapters.errors import PresetError

    problems = []
    for name, backend in settings.backends.items():
        try:
            registry.facts(backend)
        except PresetError as exc:
            problems.append(f"backends.{name}.preset: {exc.message}")
    return problems


def _key_problems(settings: "SortieConfig", base_dir: Path) -> list[str]:
    """A key file that is missing, readable by others or not a key, caught at load: an
    encrypted bucket must never find out at its first write."""
    from adapters.encryption.keys import KeyFileError, load_key_file

    problems = []
    for name, key in settings.keys.items():
        try:
            load_key_file(key.file if key.file.is_absolute() else base_dir / key.file)
        except KeyFileError as exc:
            problems.append(f"keys.{name}.file: {exc}")
    return problems


def _yaml_problem(exc: yaml.YAMLError) -> str:
    problem = getattr(exc, "problem", None)
    context = getattr(exc, "context", None)
    return " ".join(filter(None, [str(context) if context else None,
                                  str(problem) if problem else str(exc)]))


def _yaml_line(exc: yaml.YAMLError) -> int | None:
    mark = getattr(exc, "problem_mark", None)
    return mark.line + 1 if mark is not None else None


def _key_lines(text: str) -> dict[tuple[str, ...], int]:
    """The line of every key of the file, by its dotted path (list items by index)."""
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return {}
    lines: dict[tuple[str, ...], int] = {}

    def walk(node: Any, path: tuple[str, ...]) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                here = path + (str(key.value),)
                lines[here] = key.start_mark.line + 1
                walk(value, here)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                here = path + (str(index),)
                lines[here] = item.start_mark.line + 1
                walk(item, here)

    walk(root, ())
    return lines


def _line_of(problem: str, lines: dict[tuple[str, ...], int]) -> int | None:
    where = problem.split(":", 1)[0].split(" ", 1)[0]
    path = tuple(where.split("."))
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return None


def _secret_refs(raw: dict[str, Any]) -> dict[str, dict[str, str]]:
    refs: dict[str, dict[str, str]] = {}
    backends = raw.get("backends")
    for name, fields in (backends.items() if isinstance(backends, dict) else ()):
        for field, value in (fields.items() if isinstance(fields, dict) else ()):
            if field in SECRET_FIELDS and isinstance(value, str) and _WHOLE_REF.fullmatch(value):
                refs.setdefault(str(name), {})[field] = value[2:-1]
    return refs


#: A URL with a password that is not a ${VAR} reference (user:password@).
_INLINE_PASSWORD = re.compile(r"^[a-z]+://[^:/@]+:(?!\$\{)[^@]+@")


def _substitute(node: Any, path: tuple[str, ...], env: dict[str, str], problems: list[str]) -> Any:
    if isinstance(node, dict):
        return {k: _substitute(v, path + (str(k),), env, problems) for k, v in node.items()}
    if isinstance(node, list):
        return [_substitute(v, path + (str(i),), env, problems) for i, v in enumerate(node)]
    where = ".".join(path)
    if path == ("state", "url") and isinstance(node, str) and _INLINE_PASSWORD.match(node):
        problems.append(f"{where}: the database password must not be written in the file; "
                        "reference an environment variable instead, e.g. "
                        "postgresql://sortie:${SORTIE_DB_PASSWORD}@host/sortie")
        return node
    if path and path[-1] in SECRET_FIELDS and path[0] == "backends" and node is not None:
        if not (isinstance(node, str) and (_WHOLE_REF.fullmatch(node) or node in _CLEAR_ALLOWED)):
            problems.append(f"{where}: secrets must not be written in the file; "
                            f"reference an environment variable instead, e.g. ${{{path[-1].upper()}}}")
            return node
    if not isinstance(node, str):
        return node

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in env:
            problems.append(f"{where}: environment variable {name} is not set")
            return ""
        return env[name]

    return _REF.sub(replace, node)


def _describe(error: Any) -> list[str]:
    """A pydantic error as people say it: the dotted key, then the problem, no parser terms."""
    loc = [str(part) for part in error["loc"]]
    # pydantic puts the discriminator's value in the location of a tagged union: drop it.
    if len(loc) >= 3 and loc[0] == "backends" and loc[2] in ("local", "s3", "azure", "swift", "libcloud"):
        loc.pop(2)
    where = ".".join(loc)
    kind = error.get("type")
    message = str(error["msg"]).removeprefix("Value error, ")
    if kind == "extra_forbidden":
        return [f"{where}: unknown key"]
    if kind == "missing":
        return [f"{where}: required key is missing"]
    if kind == "union_tag_invalid":
        context = error.get("ctx", {})
        return [f"{where}.type: unknown backend type {context.get('tag')!r} (known: "
                f"{str(context.get('expected_tags', '')).replace(chr(39), '')})"]
    if kind == "union_tag_not_found":
        return [f"{where}.type: required key is missing (local, s3, azure, swift or libcloud)"]
    if not where:  # the whole configuration's own checks: each of its problems on its own line
        return [part.strip() for part in message.split("; ") if part.strip()]
    return [f"{where}: {message}"]
