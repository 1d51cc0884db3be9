"""One suite over both state stores: tokens, routes and the delete journal, locks, the audit
chain. A second `open_state` on the same configuration plays another process (or replica)."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest

from adapters.contract import ObjectInfo
from service.config import LoadedConfig
from service.routing import Route
from service.state import State, open_state


def test_tokens_are_seen_and_revoked_everywhere(config: LoadedConfig, state: State) -> None:
    other = open_state(config)
    try:
        assert state.tokens.is_empty()
        token, info = state.tokens.create("ops", ["read", "write"], ["imaging-*"])
        seen = other.tokens.verify(token)
        assert seen is not None and seen.id == info.id and seen.allows("write", "imaging-ct")
        assert other.tokens.verify(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
        assert [t.id for t in other.tokens.list()] == [info.id]
        assert other.tokens.revoke(info.id) and not other.tokens.revoke(info.id)
        assert state.tokens.verify(token) is None  # the very next check, in the other "replica"
        short, _ = state.tokens.create("short", ["read"], ["*"], expires_in=timedelta(minutes=1))
        assert other.tokens.verify(short) is not None
    finally:
        other.close()


def test_routes_and_the_delete_journal(config: LoadedConfig, state: State) -> None:
    other = open_state(config)
    try:
        routes, seen = state.routes, other.routes
        assert seen.get("configured") == Route("main", "configured")
        routes.set("made", Route("main", "made"))
        assert seen.get("made") == Route("main", "made")
        routes.set("configured", Route("spare", "configured-exit"))  # a switch
        assert seen.get("configured") == Route("spare", "configured-exit")
        assert seen.owner_of("spare", "configured-exit") == "configured"
        assert set(seen.all()) == {"configured", "made"}
        routes.mark_deleting("made", Route("main", "made"))
        assert seen.pending_deletes() == {"made": Route("main", "made")}
        routes.remove("made")
        assert seen.get("made") is None and seen.pending_deletes() == {}
        routes.remove("configured")  # a configured route is hidden, not forgotten
        assert seen.get("configured") is None and "configured" not in seen.all()
        assert seen.is_configured("configured")
        assert seen.runtime_entries() == {"configured": None}
    finally:
        other.close()


def test_a_bucket_taken_alone_waits_for_writes_in_flight(config: LoadedConfig,
                                                         state: State) -> None:
    other = open_state(config)
    try:
        events: list[str] = []
        writing = threading.Event()

        def write() -> None:
            with state.locks.writing("b"):
                writing.set()
                time.sleep(0.5)
                events.append("write done")

        def switch() -> None:
            writing.wait(5)
            with other.locks.exclusive("b"):
                events.append("switch")

        threads = [threading.Thread(target=write), threading.Thread(target=switch)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        assert events == ["write done", "switch"]
        with state.locks.writing("b"), other.locks.writing("b"):  # writes share the bucket
            pass
    finally:
        other.close()


def test_the_audit_chain_is_one_and_shows_an_edit(config: LoadedConfig, state: State) -> None:
    other = open_state(config)
    try:
        for index in range(5):
            (state if index % 2 else other).audit.write({"action": "GET", "n": index})
        if state.shared:
            result = state.audit.verify()
            assert result.holds and result.lines == 5 and result.head.seq == 5
            state.database.execute("UPDATE audit SET line = replace(line, '\"n\":2', '\"n\":9') "
                                   "WHERE seq = 3")
            broken = state.audit.verify()
        else:
            from service.audit import chain_files, verify

            result = verify(chain_files(config.audit_log), head_of=config.audit_log)
            assert result.holds and result.lines == 5
            text = config.audit_log.read_text().replace('"n":2', '"n":9')
            config.audit_log.write_text(text)
            broken = verify(chain_files(config.audit_log), head_of=config.audit_log)
        assert not broken.holds and any("seq 4" in p or "prev" in p for p in broken.problems)
    finally:
        other.close()


def test_many_writers_one_chain(config: LoadedConfig, state: State) -> None:
    states = [open_state(config) for _ in range(3)]
    try:
        def write(s: State) -> None:
            for index in range(20):
                s.audit.write({"action": "PUT", "i": index})

        threads = [threading.Thread(target=write, args=(s,)) for s in states]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        if state.shared:
            result = state.audit.verify()
        else:
            from service.audit import chain_files, verify

            result = verify(chain_files(config.audit_log), head_of=config.audit_log)
        assert result.holds, result.problems
        assert result.lines == 60
    finally:
        for s in states:
            s.close()


@pytest.mark.parametrize("config", ["postgres"], indirect=True)
def test_an_old_schema_is_refused_until_migrated(config: LoadedConfig) -> None:
    from service.state import open_database
    from service.state.postgres import Database, SchemaOutOfDate, migrate

    db = Database(config.settings.state.url or "", pool_size=2)
    try:
        db.execute("DELETE FROM sortie_schema")
        with pytest.raises(SchemaOutOfDate, match="sortie state migrate"):
            open_database(config)
        db.execute("DROP TABLE tokens, routes, route_deletes, audit, drills")
        assert migrate(db) and not migrate(db)  # the second run has nothing to do
    finally:
        db.close()
    open_database(config).close()


def test_the_drill_history_is_one(config: LoadedConfig, state: State) -> None:
    from datetime import datetime, timezone
    from pathlib import Path

    from exit_drills import history
    from exit_drills.spec import DrillSpec, Endpoint, Mode

    other = open_state(config)
    try:
        spec = DrillSpec(source=Endpoint(backend="main", bucket="scans"),
                         target=Endpoint(backend="spare", bucket="scans-exit"), mode=Mode.full)
        history.record_start(state.history, "d1", spec, Path("/reports/d1"),
                             datetime.now(timezone.utc))
        assert history.get(other.history, "d1")["status"] == "running"
        history.record_finish(state.history, "d1", "passed", datetime.now(timezone.utc),
                              switch_eligible=True)
        latest = history.latest_passed_drill(other.history, "main", "scans", "spare")
        assert latest is not None and latest["id"] == "d1" and latest["switch_eligible"] == 1
        assert [r["id"] for r in history.find(other.history, bucket="scans-exit")] == ["d1"]
        assert not history.import_row(other.history, history.export_rows(state.history)[0])
    finally:
        other.close()


def test_multipart_uploads_are_recorded_for_every_replica(config: LoadedConfig,
                                                          state: State) -> None:
    """An upload opened through one replica is listed by another; how it ended (the completed
    object, or aborted) is the same answer everywhere."""
    other = open_state(config)
    try:
        for key, upload_id in (("b/2", "id-b"), ("a/1", "id-a2"), ("a/1", "id-a1"),
                               ("é", "id-e")):
            state.uploads.opened(upload_id, "configured", key)
        state.uploads.opened("id-elsewhere", "another", "a/1")
        listed = other.uploads.open_uploads("configured", "", "", "", 10)
        assert [(u.key, u.upload_id) for u in listed] == [
            ("a/1", "id-a1"), ("a/1", "id-a2"), ("b/2", "id-b"), ("é", "id-e")]
        page = other.uploads.open_uploads("configured", "a/", "a/1", "id-a1", 1)
        assert [u.upload_id for u in page] == ["id-a2"]
        assert other.uploads.ending("id-a1") is None
        state.uploads.completed("id-a1", ObjectInfo(key="a/1", size=5, etag="e", sha256=None))
        state.uploads.aborted("id-b")
        outcome, info = other.uploads.ending("id-a1")  # type: ignore[misc]
        assert outcome == "completed" and info is not None and (info.size, info.etag) == (5, "e")
        assert other.uploads.ending("id-b") == ("aborted", None)
        assert [u.upload_id for u in other.uploads.open_uploads("configured", "", "", "", 10)] \
            == ["id-a2", "id-e"]
    finally:
        other.close()


def test_bucket_cors_configurations_are_shared(config: LoadedConfig, state: State) -> None:
    other = open_state(config)
    try:
        assert other.cors.get("configured") is None
        state.cors.put("configured", "<CORSConfiguration>first</CORSConfiguration>")
        state.cors.put("configured", "<CORSConfiguration>second</CORSConfiguration>")
        assert other.cors.get("configured") == "<CORSConfiguration>second</CORSConfiguration>"
        other.cors.delete("configured")
        assert state.cors.get("configured") is None
    finally:
        other.close()
