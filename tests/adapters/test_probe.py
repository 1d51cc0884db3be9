"""The generic probe behind `sortie backends check`, on the local adapter (any store works)."""

from __future__ import annotations

from pathlib import Path

from adapters.local.store import LocalStore
from adapters.probe import probe


def test_probe_passes_and_leaves_nothing_behind(tmp_path: Path) -> None:
    store = LocalStore("local", tmp_path)
    report = probe(store)
    assert report.ok and report.diagnosis == "ok"
    assert [s.name for s in report.steps] == ["reach", "bucket", "put", "get", "delete"]
    assert store.list_buckets() == []  # the scratch bucket is removed


def test_probe_in_a_given_bucket_keeps_it_and_its_objects(tmp_path: Path) -> None:
    store = LocalStore("local", tmp_path)
    store.create_bucket("mine")
    store.put("mine", "keep", b"x")
    assert probe(store, "mine").ok
    assert [o.key for o in store.iter_objects("mine")] == ["keep"]


def test_probe_names_the_failing_step(tmp_path: Path) -> None:
    report = probe(LocalStore("local", tmp_path), "missing-bucket")
    assert not report.ok
    assert report.diagnosis.startswith("bucket: not found")
    assert [s.ok for s in report.steps] == [True, False]
