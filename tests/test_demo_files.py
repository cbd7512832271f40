"""What the demo writes after its runs (sandbox/demo.py, write_demo_files): the BI files with a
dbt sources.yml that is valid YAML and describes the published marts as their contracts do,
and the report the run's asset wrote, copied rather than rendered again."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest
import yaml
from dagster import AssetKey

import sandbox.demo as demo
from pipelines.report import report_path
from tests.conftest import TinyBuild
from transforms.contracts import contracts


@pytest.fixture
def demo_folder(tiny_built: TinyBuild, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "demo"
    shutil.copytree(tiny_built.folder, folder, symlinks=True)
    published = folder / "published" / "csm_metrics.duckdb"
    monkeypatch.setattr(demo, "PUBLISHED", published)
    monkeypatch.setattr(demo, "BI_FILES", folder / "bi")
    monkeypatch.setattr(demo, "REPORT", folder / "report.html")
    # The build's run storage (the copy leaves it out): read, never written.
    monkeypatch.setattr(demo, "DAGSTER_HOME", Path(tiny_built.instance.root_directory))
    return folder


def test_the_demo_writes_a_dbt_sources_yml_of_the_published_marts(demo_folder: Path) -> None:
    version, files, _ = demo.write_demo_files()
    sources = demo_folder / "bi" / "dbt" / "sources.yml"
    assert sources in files
    [source] = yaml.safe_load(sources.read_text())["sources"]
    assert (source["name"], source["schema"]) == ("csm_metrics", "marts")
    with duckdb.connect(str(version), read_only=True) as conn:
        published = {}
        for table, column in conn.execute(
                "select table_name, column_name from duckdb_columns() where schema_name = "
                "'marts' order by table_name, column_index").fetchall():
            published.setdefault(table, []).append(column)
    tables = {t["name"]: t for t in source["tables"]}
    assert set(tables) == set(contracts()) == set(published)
    for name, contract in contracts().items():
        table = tables[name]
        assert [c["name"] for c in table["columns"]] == published[name] == list(
            contract.columns), name
        assert table["description"] == contract.description
        assert table["meta"]["grain"] == list(contract.keys)
        types = {c["name"]: c["data_type"] for c in table["columns"]}
        for column, kind in contract.data_types.items():
            assert types[column] == kind.lower(), (name, column)
        for column in table["columns"]:
            assert column["description"] == contract.columns[column["name"]], (name, column)


def test_the_demo_copies_the_report_its_run_wrote(demo_folder: Path, tiny_built: TinyBuild,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    def not_again(*args: object, **kwargs: object) -> None:
        raise AssertionError("the report was rendered again")

    monkeypatch.setattr(demo, "write_report", not_again)
    _, _, shown = demo.write_demo_files()
    written = report_path(demo.PUBLISHED)
    assert (demo_folder / "report.html").read_bytes() == written.read_bytes()
    event = tiny_built.instance.get_latest_materialization_event(AssetKey(["bi", "report"]))
    assert event is not None and event.asset_materialization is not None
    month = event.asset_materialization.metadata["month"].value
    assert shown == (date.fromisoformat(str(month)) if month else None)
