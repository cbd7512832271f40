"""A full disk while publishing or building the marts (issue 12 item 8, docs/reliability.md):
the real error reaches the user, nothing half-written is left to keep the disk full, the
published links keep the last good version, and the next publish cleans up after a killed one.

The disk fills for real, as far as the code can tell: tests/full_disk.py caps the file size its
process may write (RLIMIT_FSIZE), so DuckDB's and Hyper's writes fail in the kernel."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from tableauhyperapi import HyperException

from tests.conftest import ROOT, TinyBuild
from warehouse.publishing import current_version, extract_path, publish


@pytest.fixture(scope="module")
def built(tiny_built: TinyBuild) -> Path:
    return tiny_built.folder


@pytest.fixture()
def warehouse(built: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "warehouse.duckdb"
    shutil.copyfile(built / "warehouse.duckdb", copy)
    return copy


def on_full_disk(what: str, warehouse: Path, published: Path, limit: int) -> dict:
    done = subprocess.run([sys.executable, "-m", "tests.full_disk", what, str(warehouse),
                           str(published), str(limit)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def files_under(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*"))


def test_a_full_disk_during_publish_names_the_real_error_and_leaves_nothing(
        warehouse: Path, tmp_path: Path) -> None:
    published = tmp_path / "published" / "csm_metrics.duckdb"
    with duckdb.connect(str(warehouse)) as conn:
        good = publish(conn, published, "good-run")
    before = files_under(published.parent)

    # The tiny published copy is about 2 MB: a 1 MB cap fills the disk half-way through it.
    failed = on_full_disk("publish", warehouse, published, 1_000_000)
    assert failed["error"] and "File too large" in failed["error"], failed
    assert "no transaction is active" not in failed["error"]
    assert files_under(published.parent) == before, "a failed publish left files behind"
    assert current_version(published) == good.version
    assert current_version(extract_path(published)) == good.extract


@pytest.fixture()
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 1 MB file system (tmpfs), where the machine lets the tests mount one (root, as in
    CI); the RLIMIT_FSIZE tests above cover the same paths everywhere else."""
    folder = tmp_path / "tiny_disk"
    folder.mkdir()
    mounted = os.geteuid() == 0 and subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)],
        capture_output=True).returncode == 0
    if not mounted:
        pytest.skip("mounting a tmpfs needs root; the RLIMIT_FSIZE tests cover this path")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_no_space_left_on_device_is_the_error_a_publish_raises(
        warehouse: Path, tiny_disk: Path) -> None:
    published = tiny_disk / "csm_metrics.duckdb"
    with duckdb.connect(str(warehouse)) as conn, \
            pytest.raises(duckdb.Error, match="No space left on device"):
        publish(conn, published, "enospc-run")
    assert files_under(tiny_disk) == ["versions"]
    assert not published.exists()


def test_a_failed_extract_leaves_no_half_built_copy(warehouse: Path, tmp_path: Path) -> None:
    published = tmp_path / "published" / "csm_metrics.duckdb"
    not_a_folder = tmp_path / "hyper-logs"
    not_a_folder.write_text("a file where Hyper's log folder should be")
    with duckdb.connect(str(warehouse)) as conn:
        good = publish(conn, published, "good-run")
        before = files_under(published.parent)
        # The DuckDB copy is built, then the Hyper process cannot start: nothing may remain.
        with pytest.raises(HyperException, match="Not a directory"):
            publish(conn, published, "bad-run", log_dir=not_a_folder)
    assert files_under(published.parent) == before
    assert current_version(published) == good.version


def test_the_next_publish_removes_what_a_killed_one_left(warehouse: Path, tmp_path: Path) -> None:
    published = tmp_path / "published" / "csm_metrics.duckdb"
    versions = published.parent / "versions"
    versions.mkdir(parents=True)
    killed = "csm_metrics-20250101T000000000000Z-killed00"
    leftovers = [versions / f"{killed}.duckdb.building",
                 versions / f"{killed}.duckdb.building.wal",
                 versions / f"{killed}.hyper.building"]
    for leftover in leftovers:
        leftover.write_bytes(b"\0" * 4096)
    (versions / f"{killed}.hyper.building.parquet").mkdir()
    (versions / f"{killed}.hyper.building.parquet" / "quarantine.parquet").write_bytes(b"x")
    os.symlink("versions/nowhere.duckdb", published.parent / ".csm_metrics.duckdb.killed.link")
    with duckdb.connect(str(warehouse)) as conn:
        done = publish(conn, published, "next-run")
    assert files_under(published.parent) == sorted(
        [published.name, extract_path(published).name, "versions",
         done.version.name, done.extract.name])


def test_a_full_disk_while_building_the_marts_names_the_real_error(warehouse: Path) -> None:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        before = conn.execute("select count(*), sum(arr_managed) from marts.csm_period_metrics"
                              ).fetchone()
    failed = on_full_disk("marts", warehouse, warehouse.parent / "unused.duckdb", 16_384)
    assert failed["error"] and "File too large" in failed["error"], failed
    assert "no transaction is active" not in failed["error"]
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        assert conn.execute("select count(*), sum(arr_managed) from marts.csm_period_metrics"
                            ).fetchone() == before
