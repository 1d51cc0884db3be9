"""The gateway's service layer: logical buckets routed to backend stores, and the exit switch.

Nothing here knows HTTP. Every method blocks (adapters are synchronous), so the routes call them in
worker threads. Applications name logical buckets only; `resolve` turns one into the store and the
physical bucket that hold it today.
"""

from __future__ import annotations

import importlib
import json
import logging
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, TypeVar

from adapters.contract import ByteRange, LateMetadata, ListPage, ObjectInfo, ObjectStore
from adapters.encryption.keys import Keyring
from adapters.layers.stack import encrypted
from adapters.errors import (AlreadyExists, BucketNotFound, Conflict, InvalidRequest,
                             ObjectNotFound, PlacementRefused, StorageError)
from adapters.names import check_bucket
from adapters.streams import ObjectReader
from exit_drills.private import private_dir

from . import cursors
from .bucket_locks import BucketLocks
from .conditions import Conditions, check_write
from .config import LoadedConfig
from .placement import landing_refusal
from .routing import Route, RouteTable
from .tokens import SqliteRows
from .bucket_cors import BucketCors
from .upload_records import UploadRecords

if TYPE_CHECKING:
    from .state import State

log = logging.getLogger("sortie.gateway")
T = TypeVar("T")


@dataclass(frozen=True)
class Resolved:
    logical: str
    route: Route
    store: ObjectStore


@dataclass(frozen=True)
class SwitchResult:
    bucket: str
    previous: Route
    current: Route
    drill: dict[str, Any]


class Gateway:
    def __init__(self, config: LoadedConfig, stores: Mapping[str, ObjectStore],
                 state: "State | None" = None) -> None:
        self.config = config
        self.stores = dict(stores)
        self.state_dir = config.state_dir
        private_dir(self.state_dir)
        # Routes and locks from the shared state where replicas share one (service/state/).
        self.routes = state.routes if state else RouteTable(self.state_dir,
                                                            config.settings.buckets)
        self.default_backend = config.settings.first_backend
        self.keyring = Keyring.from_files(config.key_files)
        self._bucket_stores: dict[tuple[str, str], ObjectStore] = {}
        self.locks = state.locks if state else BucketLocks()
        #: Where drills are recorded: the state folder, or the shared database.
        self.history_at = state.history if state else self.state_dir
        #: Multipart uploads, open and ended (service/uploads.py keeps them).
        rows = None if state else SqliteRows(self.state_dir)
        self.upload_records = state.uploads if state else UploadRecords(rows)
        #: Buckets' CORS configurations (the S3 front's); dropped with their bucket.
        self.cors = state.cors if state else BucketCors(rows)
        self.recover_deletes()

    # ---- routing -----------------------------------------------------------------------------
    def resolve(self, logical: str) -> Resolved:
        check_bucket(logical)
        route = self.routes.get(logical)
        if route is None:
            raise BucketNotFound("no such bucket", bucket=logical)
        return Resolved(logical, route, self._bucket_store(logical, route.backend))

    def _bucket_store(self, logical: str, backend: str) -> ObjectStore:
        """The backend's store inside the encryption layer, under the bucket's key (or none: its
        writes are plaintext, and encrypted objects still decrypt, or fail, never pass as is)."""
        store = self._bucket_stores.get((logical, backend))
        if store is None:
            name = self.config.settings.encryption_key(logical)
            key = self.keyring.named(name) if name else None
            store = encrypted(self.stores[backend], self.keyring, key)
            self._bucket_stores[(logical, backend)] = store
        return store

    def store(self, backend: str) -> ObjectStore:
        try:
            return self.stores[backend]
        except KeyError:
            raise InvalidRequest(f"unknown backend {backend!r}; configured: "
                                 f"{', '.join(sorted(self.stores))}") from None

    # ---- buckets -----------------------------------------------------------------------------
    def list_buckets(self) -> dict[str, Route]:
        return self.routes.all()

    def create_bucket(self, logical: str, backend: str | None = None) -> Route:
        check_bucket(logical)
        route = self.routes.get(logical)
        if route is not None:
            # Declared in the configuration but perhaps not created yet on its backend.
            if backend is not None and backend != route.backend:
                raise Conflict(f"bucket {logical!r} is routed to backend {route.backend!r}",
                               bucket=logical)
            store = self.stores[route.backend]
            if store.bucket_exists(route.physical):
                raise AlreadyExists("bucket already exists", bucket=logical)
            store.create_bucket(route.physical)
            return route
        chosen = backend or self.default_backend
        store = self.store(chosen)
        self._obey_policy(logical, chosen)
        owner = self.routes.owner_of(chosen, logical)
        if owner is not None:
            raise Conflict(f"backend {chosen!r} already holds bucket {logical!r} for another "
                           "logical bucket", bucket=logical)
        # A bucket that exists on the backend but is not routed (e.g. a drill's target) is refused
        # with AlreadyExists rather than adopted: its data was not written through the gateway.
        store.create_bucket(logical)
        route = Route(chosen, logical)
        try:
            self.routes.set(logical, route)
        except BaseException:
            store.delete_bucket(logical)
            raise
        return route

    def delete_bucket(self, logical: str) -> None:
        with self.locks.exclusive(logical):
            target = self.resolve(logical)
            # Journalled: a gateway killed between the backend's delete and the route's removal
            # finishes (or rolls back) the delete on restart rather than listing a lost bucket.
            self.routes.mark_deleting(logical, target.route)
            try:
                target.store.delete_bucket(target.route.physical)
            except BucketNotFound:
                pass  # already gone on the backend: forget the route all the same
            except BaseException:
                self.routes.clear_deleting(logical)
                raise
            self.routes.remove(logical)
            self.cors.delete(logical)

    def recover_deletes(self) -> None:
        """Finish or roll back each bucket delete a previous process left half done."""
        for logical, route in self.routes.pending_deletes().items():
            store = self.stores.get(route.backend)
            if self.routes.get(logical) != route or store is None:
                self.routes.clear_deleting(logical)  # the route moved on since: nothing to redo
                continue
            try:
                if store.bucket_exists(route.physical):
                    store.delete_bucket(route.physical)
            except Conflict:
                log.warning("bucket %r: an interrupted delete is rolled back (it holds objects)",
                            logical)
                self.routes.clear_deleting(logical)
                continue
            except Exception as exc:  # backend down: the mark stays, the next start tries again
                log.warning("bucket %r: an interrupted delete could not be finished: %s",
                            logical, exc)
                continue
            log.warning("bucket %r: an interrupted delete is finished", logical)
            self.routes.remove(logical)

    # ---- objects -----------------------------------------------------------------------------
    def put_object(self, logical: str, key: str, chunks: Iterable[bytes], *, size: int | None,
                   content_type: str | None, metadata: Mapping[str, str],
                   expected_sha256: str | None,
                   conditions: Conditions = Conditions(),
                   late_metadata: LateMetadata | None = None) -> ObjectInfo:
        def store(target: Resolved) -> ObjectInfo:
            return target.store.put(target.route.physical, key, chunks, size=size,
                                    content_type=content_type, metadata=metadata,
                                    expected_sha256=expected_sha256,
                                    late_metadata=late_metadata)

        return self.write(logical, key, conditions, store)

    def write(self, logical: str, key: str, conditions: Conditions,
              store: Callable[[Resolved], T]) -> T:
        """One object written (a put, an upload's completion): the bucket taken for writing
        (never across a switch or its delete), its route resolved, then, for a conditional
        write, the conditions checked and the write done under the key's lock."""
        with self.locks.writing(logical):
            target = self.resolve(logical)
            if not conditions.for_write:
                return store(target)
            with self.locks.key(logical, key):
                check_write(conditions, self._current(target, key))
                return store(target)

    @staticmethod
    def _current(target: Resolved, key: str) -> ObjectInfo | None:
        try:
            return target.store.head(target.route.physical, key)
        except ObjectNotFound:
            return None

    def get_object(self, logical: str, key: str, byte_range: ByteRange | None) -> ObjectReader:
        target = self.resolve(logical)
        return target.store.get(target.route.physical, key, byte_range)

    def head_object(self, logical: str, key: str) -> ObjectInfo:
        target = self.resolve(logical)
        return target.store.head(target.route.physical, key)

    def delete_object(self, logical: str, key: str) -> None:
        target = self.resolve(logical)
        target.store.delete(target.route.physical, key)

    def list_objects(self, logical: str, prefix: str, delimiter: str | None, cursor: str | None,
                     limit: int) -> ListPage:
        target = self.resolve(logical)
        owner = cursors.Owner(target.route.backend, logical, prefix, delimiter)
        page = target.store.list(target.route.physical, prefix, delimiter=delimiter,
                                 cursor=cursors.unwrap(cursor, owner), limit=limit)
        return replace(page, next_cursor=cursors.wrap(page.next_cursor, owner))

    # ---- the exit: switch a bucket to another backend ----------------------------------------
    def switch_route(self, logical: str, backend: str, *, check_writes: bool = True) -> SwitchResult:
        # Alone with the bucket: a write that resolved the old route finishes before the check
        # for writes since the drill, and writes after the switch resolve the new route.
        with self.locks.exclusive(logical):
            return self._switch(logical, backend, check_writes)

    def _switch(self, logical: str, backend: str, check_writes: bool) -> SwitchResult:
        source = self.resolve(logical)
        target_store = self.store(backend)
        if backend == source.route.backend:
            raise Conflict(f"bucket {logical!r} is already routed to backend {backend!r}",
                           bucket=logical)
        self._obey_policy(logical, backend)
        drill = _latest_passed_drill(self, source.route, logical, backend)
        _refuse_unread(drill, logical)
        target_bucket = str(drill.get("target_bucket") or "")
        if not target_bucket or not target_store.bucket_exists(target_bucket):
            raise Conflict(f"the passed exit drill {drill.get('id')} of bucket {logical!r} copied "
                           f"to bucket {target_bucket!r} on backend {backend!r}, which does not "
                           "exist any more", bucket=logical)
        if check_writes:
            self._refuse_writes_since(source, drill)
        new = Route(backend, target_bucket)
        owner = self.routes.owner_of(backend, target_bucket)
        if owner is not None and owner != logical:
            raise Conflict(f"bucket {target_bucket!r} on backend {backend!r} already serves "
                           f"logical bucket {owner!r}", bucket=logical)
        self.routes.set(logical, new)
        log.info("bucket %s switched from %s to %s (drill %s)", logical, source.route.backend,
                 backend, drill.get("id"))
        return SwitchResult(logical, source.route, new, drill)

    def _refuse_writes_since(self, source: Resolved, drill: Mapping[str, Any]) -> None:
        """An object written after the drill started may not have been copied: switching would
        lose it. Compared at whole seconds (the drill history and S3 keep no finer time), so a
        write in the drill's first second is trusted to have been seen by its inventory."""
        started = _as_datetime(drill.get("started") or drill.get("finished"))
        if started is None:
            raise Conflict(f"the exit drill {drill.get('id')} has no readable start time; "
                           "cannot tell whether objects were written since", bucket=source.logical)
        started = started.replace(microsecond=0)
        for info in source.store.iter_objects(source.route.physical):
            modified = info.last_modified
            if modified is not None and _aware(modified).replace(microsecond=0) > started:
                raise Conflict(f"object {info.key!r} was written at {modified.isoformat()}, after "
                               f"the exit drill {drill.get('id')} started at "
                               f"{started.isoformat()}; run a new drill first",
                               bucket=source.logical)

    def _obey_policy(self, logical: str, backend: str) -> None:
        refusal = landing_refusal(self.config.settings, logical, backend)
        if refusal:
            raise PlacementRefused(f"bucket {logical!r}: {refusal}", bucket=logical,
                                   backend=backend)

    # ---- operations --------------------------------------------------------------------------
    def check_backend(self, backend: str) -> None:
        """A cheap call that fails when the backend is unreachable."""
        self.stores[backend].list_buckets()

    def close(self) -> None:
        for store in self.stores.values():
            try:
                store.close()
            except StorageError:
                pass


def _latest_passed_drill(gateway: Gateway, route: Route, logical: str, backend: str) -> dict[str, Any]:
    # Imported on use: the drills package is optional for serving objects.
    refusal = f"no passed exit drill of bucket {logical} to backend {backend}"
    try:
        history = importlib.import_module("exit_drills.history")
        latest = getattr(history, "latest_passed_drill")
    except (ImportError, AttributeError):
        raise Conflict(f"{refusal} (drills not available)", bucket=logical) from None
    drill = latest(gateway.history_at, route.backend, route.physical, backend)
    if not drill:
        raise Conflict(refusal, bucket=logical)
    return dict(drill)


def _refuse_unread(drill: Mapping[str, Any], logical: str) -> None:
    """Only bytes read back prove a copy: a drill that trusted recorded hashes for some objects
    (incremental with `read_back_skipped` off) cannot carry the switch."""
    if drill.get("switch_eligible"):
        return
    keys: list[str] = []
    try:
        report = json.loads((Path(str(drill["report_dir"])) / "report.json").read_text("utf-8"))
        keys = list(report.get("not_read_back_keys") or [])
    except (OSError, ValueError, KeyError):
        pass  # the refusal stands; it only cannot name the objects
    named = f": {', '.join(repr(k) for k in keys[:10])}" + (" ..." if len(keys) > 10 else "") \
        if keys else ""
    raise Conflict(f"the latest passed exit drill {drill.get('id')} of bucket {logical!r} did "
                   f"not read back every object, so it proves nothing about their bytes; "
                   f"objects not read back{named}. Run a full or incremental drill that reads "
                   "everything back first", bucket=logical)


def _as_datetime(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return _aware(value)
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, timezone.utc)
    if isinstance(value, str):
        try:
            return _aware(datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            return None
    return None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
