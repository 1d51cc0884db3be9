"""`sortie keys`: key-encryption keys of client-side encryption (create, rotate)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .common import ConfigOption, fail, load_config

keys_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                       help="Key-encryption keys of client-side encryption.")


@keys_app.command("create")
def keys_create(out: Annotated[Path, typer.Option(
        help="The key file to write (mode 0600; refused if it exists). Back it up: objects "
             "encrypted under it cannot be read without it.")]) -> None:
    """Make a key-encryption key (AES-256) in a new key file."""
    from adapters.encryption.keys import KeyFileError, create_key_file

    try:
        key = create_key_file(out)
    except (KeyFileError, OSError) as exc:
        raise fail(str(exc), 1) from None
    typer.echo(f"key file {out} (keep it secret and backed up; mode 0600)\n"
               f"key id   {key.id}\n"
               f"configure it with:  keys: {{NAME: {{file: {out}}}}}  and  "
               f"buckets: {{BUCKET: {{encryption: {{key: NAME}}}}}}")


@keys_app.command("rotate")
def keys_rotate(bucket: Annotated[str, typer.Argument(help="A logical bucket.")],
                config: ConfigOption = None) -> None:
    """Rewrap the data key of every encrypted object of BUCKET under the bucket's key as
    configured now (its `encryption.key` or its policy's `key`). The old keys must still be
    in `keys:` for this run; no data is rewritten. Run it again to resume."""
    from adapters import build_store
    from adapters.encryption.keys import Keyring
    from adapters.encryption.rotation import rotate
    from adapters.errors import StorageError

    from ..state import current_routes

    loaded = load_config(config)
    settings = loaded.settings
    route = current_routes(loaded).get(bucket)
    if route is None:
        raise fail(f"no bucket {bucket!r} (routes: {', '.join(current_routes(loaded)) or 'none'})")
    name = settings.encryption_key(bucket)
    if name is None:
        raise fail(f"bucket {bucket!r} has no encryption key: set buckets.{bucket}.encryption.key "
                   "(or its policy's key) to the new key first")
    keyring = Keyring.from_files(loaded.key_files)
    new = keyring.named(name)
    store = build_store(route.backend, settings.backends[route.backend], loaded.base_dir)
    try:
        result = rotate(store, route.physical, keyring, new)
    except StorageError as exc:
        raise fail(str(exc), 1) from None
    finally:
        store.close()
    typer.echo(f"bucket {bucket} ({route.backend}:{route.physical}) under key {name} ({new.id}): "
               f"{result.rewrapped} rewrapped, {result.already_current} already under it, "
               f"{result.plaintext} stored in plaintext (left as they are), "
               f"{result.gone} deleted meanwhile, {len(result.failures)} failed")
    for failure in result.failures[:20]:
        typer.echo(f"  failed: {failure}", err=True)
    if result.failures:
        raise typer.Exit(1)
