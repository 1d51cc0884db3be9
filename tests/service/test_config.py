from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from adapters.config import LocalBackend, S3Backend
from service.config import ConfigError, load

ENV = {"SCW_ACCESS_KEY": "AKIDEXAMPLE", "SCW_SECRET_KEY": "s3cr3t"}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sortie.yaml"
    path.write_text(text)
    return path


def test_embedded_default_has_two_local_backends(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    loaded = load(environ={})
    assert set(loaded.settings.backends) == {"primary", "exit"}
    assert all(isinstance(b, LocalBackend) for b in loaded.settings.backends.values())
    assert loaded.base_dir == tmp_path


def test_env_references_are_substituted(tmp_path: Path) -> None:
    path = write(tmp_path, """
backends:
  primary: {type: local, path: ./data/primary}
  scw: {type: s3, preset: scaleway, region: fr-par, access_key: "${SCW_ACCESS_KEY}", secret_key: "${SCW_SECRET_KEY}"}
""")
    loaded = load(path, environ=ENV)
    scw = loaded.settings.backends["scw"]
    assert isinstance(scw, S3Backend)
    assert isinstance(scw.secret_key, SecretStr) and scw.secret_key.get_secret_value() == "s3cr3t"
    assert "s3cr3t" not in repr(loaded)
    assert loaded.base_dir == tmp_path


def test_config_file_from_environment_variable(tmp_path: Path) -> None:
    path = write(tmp_path, "backends:\n  only: {type: local, path: /tmp/x}\n")
    assert set(load(environ={"SORTIE_CONFIG": str(path)}).settings.backends) == {"only"}


@pytest.mark.parametrize("body,expected", [
    ("backends:\n  a: {type: local, path: x, colour: red}\n", ":2: backends.a.colour: unknown key"),
    ("backends:\n  a: {type: local}\n", ":2: backends.a.path: required key is missing"),
    ("backends:\n  a: {type: ftp}\n",
     ":2: backends.a.type: unknown backend type 'ftp' (known: local, s3, azure, swift, libcloud)"),
    ("backends:\n  a: {type: s3, addressing: sideways}\n", ":2: backends.a.addressing:"),
    ("backends:\n  a: {type: s3, secret_key: \"${NOT_SET_ANYWHERE}\"}\n",
     ":2: backends.a.secret_key: environment variable NOT_SET_ANYWHERE is not set"),
    ("backends:\n  a: {type: s3, secret_key: plain-text-secret}\n",
     ":2: backends.a.secret_key: secrets must not be written in the file"),
    ("backends:\n  a: {type: azure, account_key: \"prefix-${SCW_SECRET_KEY}\"}\n",
     ":2: backends.a.account_key: secrets must not be written in the file"),
    ("backends:\n  Bad Name: {type: local, path: x}\n", ":1: backends: backend name 'Bad Name'"),
    ("backends: {}\n", ":1: backends:"),
    ("colour: red\nbackends:\n  a: {type: local, path: x}\n", ":1: colour: unknown key"),
    ("- just\n- a list\n", "top level must be a mapping"),
    ("backends: [unclosed\n", ":2: not valid YAML"),
    ("backends:\n  a: {type: s3, preset: nowhere}\n", ":2: backends.a.preset: unknown"),
])
def test_bad_configuration_names_file_line_key_and_problem(tmp_path: Path, body: str,
                                                            expected: str) -> None:
    path = write(tmp_path, body)
    with pytest.raises(ConfigError) as caught:
        load(path, environ=ENV)
    message = str(caught.value)
    assert message.startswith(str(path) + ":")
    assert str(path) + expected in message or expected in message, message
    assert "plain-text-secret" not in message
    # No parser terms: people read these.
    for internal in ("<unicode string>", "Input tag", "Value error", "(top level)"):
        assert internal not in message, message


def test_field_errors_and_cross_references_come_together(tmp_path: Path) -> None:
    path = write(tmp_path, """
backends:
  a: {type: local, path: x, extra: 1}
  b: {type: azurre}
default_backend: nope
buckets:
  xyz: {backend: ghost}
drills:
  - {name: d, from: "gone:bucket", to: "a:copy", cron: "0 3 * * *"}
""")
    with pytest.raises(ConfigError) as caught:
        load(path, environ={})
    message = str(caught.value)
    for expected in (":3: backends.a.extra: unknown key", ":4: backends.b.type: unknown backend "
                     "type 'azurre'", ":5: default_backend: 'nope' is not a configured backend",
                     ":7: buckets.xyz.backend: 'ghost' is not a configured backend",
                     ":9: drills.0.from: backend 'gone' is not configured"):
        assert f"{path}{expected}" in message, message


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = write(tmp_path, """
backends:
  a: {type: local, path: x, extra: 1}
  b: {type: s3, secret_key: "${MISSING_ONE}"}
""")
    with pytest.raises(ConfigError) as caught:
        load(path, environ={})
    assert len(caught.value.problems) == 2


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the file"):
        load(tmp_path / "nope.yaml", environ={})
