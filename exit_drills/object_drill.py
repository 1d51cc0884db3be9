"""One object's drill, whatever runs it (a thread of the coordinator, or a Dask worker process):
plan it, copy it or compare it, read its bytes back, and say how it settled. Nothing here writes
the checkpoint or counts: the caller does, once per object, from the `Settled` it gets back.
"""

from __future__ import annotations

import hashlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Mapping

from adapters.contract import ObjectInfo, ObjectStore
from adapters.errors import NotFound, ObjectNotFound, StorageError
from adapters.encryption.keys import Keyring
from adapters.layers.encrypt import (KID, PLAIN_SHA256, EncryptingStore,
                                     encrypted_metadata)

from .copy import Observed, SourceCorrupt, copy_object
from .parts import NoSessions, Sessions
from .plan import Action, decide
from .retry import Retrier
from .spec import DrillSpec, Mode
from .verify import differences, read_back, source_consistency


@dataclass
class Settled:
    """How one object settled: copied, skipped or compared, with its problems (none: verified)."""

    kind: str
    sha256: str | None
    problems: list[str] = field(default_factory=list)
    #: 'verified' (bytes read back) or 'unverified' (trusted on recorded hashes only).
    status: str = "verified"
    bytes_copied: int = 0
    bytes_read: int = 0
    #: The drill wrote this object to the target (so `--cleanup` must delete it).
    wrote: bool = False
    #: It is ciphertext of client-side encryption, copied and verified as stored; `decrypted`:
    #: its target copy was also decrypted and its plaintext SHA-256 checked (a KEK was at hand).
    encrypted: bool = False
    decrypted: bool = False

    @property
    def outcome(self) -> str:
        return "failed" if self.problems else self.kind

    @property
    def final_status(self) -> str:
        return "failed" if self.problems else self.status


class ObjectDrill:
    def __init__(self, spec: DrillSpec, source: ObjectStore, target: ObjectStore,
                 retrier: Retrier, count_live: Callable[[int], None] = lambda n: None,
                 sessions: Sessions | None = None, keyring: Keyring | None = None) -> None:
        self.spec = spec
        #: The configuration's KEKs: encrypted copies are decrypted to check their plaintext.
        self.keyring = keyring
        self.source = source
        self.target = target
        self.retrier = retrier
        self.count_live = count_live
        #: Where large objects' upload sessions are written down, for part-level resume.
        self.sessions = sessions or NoSessions()

    def settle(self, info: ObjectInfo,
               on_written: Callable[[], None] = lambda: None) -> Settled:
        """Never raises: a failure is a `Settled` with its problems."""
        try:
            return self._handle(info, on_written)
        except _ObjectFailed as exc:
            return Settled("failed", info.sha256, [str(exc)])
        except Exception as exc:  # noqa: BLE001 - one object's bug must not stop the drill
            return Settled("failed", info.sha256,
                           [f"failed unexpectedly: {type(exc).__name__}: {exc}"])

    def _handle(self, info: ObjectInfo, on_written: Callable[[], None]) -> Settled:
        source_info = self._source_attributes(info)
        action = self._plan(source_info)
        if action is Action.skip:
            return self._read_back_skipped(source_info, on_written)
        if action is Action.copy:
            return self._copy_and_read_back(info, on_written)
        return self._compare(source_info)

    def _source_attributes(self, info: ObjectInfo) -> ObjectInfo:
        """The listing's attributes, or a HEAD where the mode needs what listings leave out."""
        if self.spec.mode is Mode.full or info.complete:
            return info
        with _step("reading the source object's attributes",
                   vanished="source object vanished during the drill"):
            return self.retrier.call(lambda: self.source.head(self.spec.source.bucket, info.key),
                                     self.spec.source.backend)

    def _plan(self, info: ObjectInfo) -> Action:
        # Only incremental mode asks the target anything to plan; the others decide alone, and
        # must not count as a successful call to the target.
        with _step("planning"):
            if self.spec.mode is not Mode.incremental:
                return decide(self.spec, info, self.target)
            return self.retrier.call(lambda: decide(self.spec, info, self.target),
                                     self.spec.target.backend)

    def _read_back_skipped(self, source_info: ObjectInfo,
                           on_written: Callable[[], None]) -> Settled:
        """An object incremental mode need not copy: its recorded hashes match, but only its
        bytes prove the copy. Read them back; a copy damaged since is copied again."""
        if not self.spec.read_back_skipped:
            return Settled("skipped", source_info.sha256, status="unverified")
        compared = self._compare(source_info)
        if not compared.problems:
            compared.kind = "skipped"
            return compared
        copied = self._copy_and_read_back(source_info, on_written)
        copied.bytes_read += compared.bytes_read
        return copied

    def _copy_and_read_back(self, info: ObjectInfo, on_written: Callable[[], None]) -> Settled:
        spec, call = self.spec, self.retrier.call
        target_key = spec.target_key(info.key)
        wrote = False

        def written() -> None:
            nonlocal wrote
            wrote = True
            on_written()

        with _step("copying", vanished="source object vanished during the drill"):
            copied = call(lambda: copy_object(
                self.source, spec.source.bucket, info.key, self.target, spec.target.bucket,
                target_key, self.count_live, on_written=written, sessions=self.sessions),
                spec.source.backend, spec.target.backend)
        problems = source_consistency(copied)
        try:
            with _step("reading back the target copy",
                       vanished="target copy vanished before it could be read back"):
                actual = call(lambda: read_back(self.target, spec.target.bucket, target_key,
                                                self.count_live), spec.target.backend)
        except _ObjectFailed as exc:
            return Settled("copied", copied.sha256, [*problems, str(exc)],
                           bytes_copied=copied.size, wrote=wrote)
        settled = Settled("copied", copied.sha256, problems + differences(copied, actual),
                          bytes_copied=copied.size, bytes_read=actual.size, wrote=wrote)
        return self._check_plaintext(settled, target_key, copied.metadata)

    def _compare(self, source_info: ObjectInfo) -> Settled:
        """verify-only (and what incremental does not copy): the target copy against the
        source."""
        spec = self.spec
        target_key = spec.target_key(source_info.key)
        read = 0
        with _step("reading the source object",
                   vanished="source object vanished during the drill"):
            expected = self._expected_from_source(source_info)
            if not source_info.sha256:
                read += expected.size
        with _step("reading the target copy",
                   vanished=f"missing in target {spec.target.backend}:{spec.target.bucket} as "
                            f"{target_key!r}", plain_vanished=True):
            actual = self.retrier.call(
                lambda: read_back(self.target, spec.target.bucket, target_key, self.count_live),
                spec.target.backend)
        settled = Settled("compared", expected.sha256, differences(expected, actual),
                          bytes_read=read + actual.size)
        return self._check_plaintext(settled, target_key, expected.metadata)

    def _check_plaintext(self, settled: Settled, target_key: str,
                         metadata: Mapping[str, str]) -> Settled:
        """For ciphertext of client-side encryption whose KEK is configured: decrypt the target
        copy (a second read) and compare its plaintext's SHA-256 with the one recorded."""
        settled.encrypted = encrypted_metadata(metadata)
        if not settled.encrypted or settled.problems or self.keyring is None:
            return settled
        if self.keyring.by_id(metadata.get(KID, "")) is None:
            return settled  # not one of this configuration's keys: ciphertext only
        spec = self.spec
        opened = EncryptingStore(self.target, self.keyring, None)
        try:
            with _step("decrypting the target copy"):
                digest = self.retrier.call(
                    lambda: _plaintext_sha256(opened, spec.target.bucket, target_key),
                    spec.target.backend)
        except _ObjectFailed as exc:
            settled.problems.append(str(exc))
            return settled
        recorded = metadata.get(PLAIN_SHA256)
        if digest != recorded:
            settled.problems.append(f"the decrypted target copy hashes to {digest}, the "
                                    f"plaintext SHA-256 recorded at ingest is {recorded}")
        settled.decrypted = True
        return settled

    def _expected_from_source(self, info: ObjectInfo) -> Observed:
        """The source's recorded hash when it has one (no egress), else its bytes."""
        if info.sha256:
            return Observed(size=info.size, sha256=info.sha256, content_type=info.content_type,
                            metadata=dict(info.metadata), recorded_sha256=info.sha256)
        return self.retrier.call(
            lambda: read_back(self.source, self.spec.source.bucket, info.key, self.count_live),
            self.spec.source.backend)


def _plaintext_sha256(store: ObjectStore, bucket: str, key: str) -> str:
    digest = hashlib.sha256()
    with store.get(bucket, key) as body:
        for chunk in body:
            digest.update(chunk)
    return digest.hexdigest()


def keyring_of(key_files: Mapping[str, Path] | None) -> Keyring | None:
    return Keyring.from_files(key_files) if key_files else None


class _ObjectFailed(Exception):
    """One object failed at a named step; the message says which and why."""


@contextmanager
def _step(name: str, *, vanished: str | None = None,
          plain_vanished: bool = False) -> Iterator[None]:
    """Run one step of an object's drill, turning its storage errors into a failure that names
    the step. `vanished` is what a missing object means at this step."""
    try:
        yield
    except SourceCorrupt as exc:
        raise _ObjectFailed(str(exc)) from None
    except ObjectNotFound as exc:
        if vanished is None:
            raise _ObjectFailed(f"{name} failed: {type(exc).__name__}: {exc}") from None
        raise _ObjectFailed(vanished if plain_vanished else f"{vanished}: {exc}") from None
    except NotFound as exc:
        if plain_vanished and vanished is not None:
            raise _ObjectFailed(vanished) from None
        raise _ObjectFailed(f"{name} failed: {type(exc).__name__}: {exc}") from None
    except StorageError as exc:
        raise _ObjectFailed(f"{name} failed: {type(exc).__name__}: {exc}") from None
