"""BI reads a published copy that is swapped in whole: readers never block the pipeline and
never see half a run (warehouse/publishing.py, docs/bi.md)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from dagster import AssetKey

from sandbox.company import vendor_id
from sandbox.servers import Sandbox
from tests.conftest import ROOT, TinyBuild, run_pipeline, tiny_copy, tiny_fakes
from tests.published_reader import TABLES, fingerprint
from warehouse.columns import mart_docs
from warehouse.publishing import VERSIONS as VERSIONS_DIR
from warehouse.publishing import current_version, extract_path, publish

FIRST, LAST = "2025-01-01", "2025-03-01"


def state_of(version: Path) -> dict:
    with duckdb.connect(str(version), read_only=True) as conn:
        return fingerprint(conn)["state"]


@pytest.fixture()
def fakes(tiny_built: TinyBuild, tmp_path: Path):
    """The fakes, over a copy of the session's tiny build: the months pulled, built and
    published by both jobs (copied first: the fakes write their own CA bundle there)."""
    tiny_copy(tiny_built, tmp_path)
    with tiny_fakes(tmp_path) as sandbox:
        yield sandbox


def test_a_reader_held_open_during_a_backfill_sees_old_or_new_never_half(
        fakes: Sandbox, tmp_path: Path) -> None:
    published = tmp_path / "published" / "csm_metrics.duckdb"
    before = state_of(current_version(published))
    # The CRM changes: a bigger deal, so the backfill rewrites every period from January on.
    acme = vendor_id("sf_opportunity", "d1")
    deal = next(o for o in fakes.salesforce.objects["Opportunity"] if o["Id"] == acme)
    deal["Amount"] = 150000.0
    deal["SystemModstamp"] = "2026-01-01T00:00:00.000+0000"

    out, stop = tmp_path / "reader.jsonl", tmp_path / "stop"
    reader = subprocess.Popen(
        [sys.executable, "-m", "tests.published_reader", str(published), str(out), str(stop)],
        cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while not (out.exists() and out.read_text()):
            assert time.monotonic() < deadline and reader.poll() is None, "the reader never began"
            time.sleep(0.05)
        run_pipeline(FIRST, LAST)  # asserts the runs and their checks succeeded
        time.sleep(0.5)  # a few more rounds after the swap
    finally:
        stop.touch()
        reader.wait(timeout=60)
    after = state_of(current_version(published))
    assert before != after, "the backfill should have changed the published marts"

    seen = [json.loads(line) for line in out.read_text().splitlines()][1:]
    errors = [s["error"] for s in seen if "error" in s]
    assert not errors, errors
    assert all(s["complete"] for s in seen), "a reader saw a copy missing rows"
    held = [s["state"] for s in seen if s["mode"] == "held"]
    fresh = [s["state"] for s in seen if s["mode"] == "fresh"]
    assert held and all(s == before for s in held), "a held connection's view changed under it"
    assert all(s in (before, after) for s in fresh), "a reader saw neither the old nor the new"
    assert fresh[0] == before and fresh[-1] == after


def test_each_publish_is_a_new_version_and_old_ones_are_pruned(
        tiny_built: TinyBuild, tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"  # the session's build, copied: publish writes it
    shutil.copyfile(tiny_built.warehouse, warehouse)
    link = tmp_path / "elsewhere" / "bi.duckdb"
    with duckdb.connect(str(warehouse)) as conn:
        first = publish(conn, link, "run-one", keep=2)
        versions = [publish(conn, link, f"run-{n}", keep=2) for n in range(3)]
    assert link.is_symlink() and current_version(link) == versions[-1].version
    assert current_version(extract_path(link)) == versions[-1].extract
    kept = sorted(p.name for p in (link.parent / "versions").iterdir())
    assert kept == sorted([*(v.version.name for v in versions[-2:]),
                           *(v.extract.name for v in versions[-2:])])
    assert not first.version.exists() and not first.extract.exists()
    assert sorted(p.name for p in link.parent.iterdir()) == ["bi.duckdb", "bi.hyper",
                                                              "versions"]
    with duckdb.connect(str(link), read_only=True) as reader:
        assert reader.execute("select run_id from meta.publication").fetchone() == ("run-2",)
        rows = dict(reader.execute("select table_name, row_count from meta.table_rows").fetchall())
        assert rows == versions[-1].rows and all(rows[t] > 0 for t in TABLES if t != "quarantine")
        with pytest.raises(duckdb.Error, match="read-only"):
            reader.execute("delete from marts.csm_period_metrics")


def test_every_published_column_carries_its_description(tiny_built: TinyBuild) -> None:
    """The session's tiny build (both jobs, BI included) and its runs' event log."""
    # The Dagster UI's column schema for each mart: DuckDB's types, columns.toml's meanings.
    for table, doc in mart_docs().items():
        event = tiny_built.instance.get_latest_materialization_event(AssetKey(["marts", table]))
        schema = event.asset_materialization.metadata["dagster/column_schema"].value
        assert schema.columns and all(c.description == doc.columns[c.name] and c.type
                                      for c in schema.columns)
    for path in (tiny_built.warehouse, tiny_built.folder / "published" / "csm_metrics.duckdb"):
        with duckdb.connect(str(path), read_only=True) as conn:
            tables = dict(conn.execute(
                "select table_name, comment from duckdb_tables() where schema_name = 'marts'"
            ).fetchall())
            columns = conn.execute(
                "select table_name, column_name, comment from duckdb_columns() "
                "where schema_name = 'marts'").fetchall()
        docs = mart_docs()
        assert set(tables) == set(docs)
        assert all(tables[t] == docs[t].description for t in docs)
        assert columns and all(comment == docs[t].columns[c] for t, c, comment in columns)


def test_a_foreign_file_beside_the_link_is_never_overwritten_nor_another_deployments_pruned(
        tiny_built: TinyBuild, tmp_path: Path) -> None:
    """A shared folder: a user's own `bi.hyper` and `report.html` beside the link stop the
    publish, named, with nothing written; another deployment's `bi-eu-*` versions (whose names
    start with this one's stem) are never pruned."""
    from warehouse.publishing import ForeignFile

    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copyfile(tiny_built.folder / "warehouse.duckdb", warehouse)
    shared = tmp_path / "shared"
    link = shared / "bi.duckdb"
    (shared / VERSIONS_DIR).mkdir(parents=True)
    theirs = [shared / VERSIONS_DIR / f"bi-eu-2025010{n}T000000000000Z-eu{n}.duckdb"
              for n in range(1, 5)]
    for n, path in enumerate(theirs):
        path.write_bytes(b"another deployment's marts")
        path.with_suffix(".hyper").write_bytes(b"another deployment's extract")
        (path.parent / f"bi-eu-2025020{n}T000000000000Z-eu{n}.duckdb.building").write_bytes(b"x")
    foreign = shared / "bi.hyper"
    foreign.write_bytes(b"a user's own extract")
    with duckdb.connect(str(warehouse)) as conn:
        with pytest.raises(ForeignFile, match=str(foreign)):
            publish(conn, link, "run-one")
        assert foreign.read_bytes() == b"a user's own extract" and not os.path.lexists(link)
        foreign.unlink()
        versions = [publish(conn, link, f"run-{n}", keep=1) for n in range(3)]
    assert current_version(link) == versions[-1].version
    others = sorted(p.name for p in (shared / VERSIONS_DIR).iterdir() if p.name.startswith("bi-eu"))
    assert len(others) == 12  # four versions, four extracts, four in-flight builds: all theirs
    # A regular file where the link goes is refused the same way.
    other = shared / "other.duckdb"
    other.write_bytes(b"a user's own database")
    with duckdb.connect(str(warehouse)) as conn, pytest.raises(ForeignFile, match=str(other)):
        publish(conn, other, "run-x")
    assert other.read_bytes() == b"a user's own database"
