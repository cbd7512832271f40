"""What the session builds once (tests/session_helpers.py): one build however many processes ask
at once, a failed build tried again, private copies that keep their links, and the clean-up."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.session_helpers import (
    SHARED_ENV,
    built_once,
    close_session_folder,
    private_copy,
)

# Each process asks for the same build; the build notes who made it and takes a moment, so the
# processes overlap while it runs.
ASK = """
import os, sys, time
from pathlib import Path
from tests.session_helpers import built_once

def build(folder: Path) -> None:
    (Path(sys.argv[1]) / f"built-by-{os.getpid()}").touch()
    time.sleep(1.0)
    (folder / "result.txt").write_text("made once")

print(built_once("company", build))
"""


def test_a_build_asked_for_by_several_processes_at_once_is_made_once(tmp_path: Path) -> None:
    session, notes = tmp_path / "session", tmp_path / "notes"
    session.mkdir()
    notes.mkdir()
    env = {**os.environ, SHARED_ENV: str(session), "PYTHONPATH": str(ROOT)}
    askers = [subprocess.Popen([sys.executable, "-c", ASK, str(notes)], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, text=True) for _ in range(3)]
    answers = {asker.communicate(timeout=120)[0].strip() for asker in askers}
    assert all(asker.returncode == 0 for asker in askers)
    assert answers == {str(session / "company")}
    assert len(list(notes.iterdir())) == 1
    assert (session / "company" / "result.txt").read_text() == "made once"


def test_a_build_that_failed_is_made_again_from_nothing(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SHARED_ENV, str(tmp_path))

    def broken(folder: Path) -> None:
        (folder / "half.txt").write_text("half")
        raise RuntimeError("the build failed")

    with pytest.raises(RuntimeError):
        built_once("company", broken)
    folder = built_once("company", lambda f: (f / "whole.txt").write_text("whole"))
    assert sorted(p.name for p in folder.iterdir()) == [".built", "whole.txt"]
    # Built now: asking again builds nothing.
    assert built_once("company", broken) == folder


def test_a_private_copy_keeps_its_links_and_leaves_the_event_log(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    (shared / "published" / "versions").mkdir(parents=True)
    (shared / "published" / "versions" / "v1.duckdb").write_text("marts")
    (shared / "published" / "bi.duckdb").symlink_to("versions/v1.duckdb")
    (shared / "dagster_home").mkdir()
    (shared / ".built").touch()
    copy = private_copy(shared, tmp_path / "mine")
    link = copy / "published" / "bi.duckdb"
    assert link.is_symlink() and link.read_text() == "marts"
    assert link.resolve() == (copy / "published" / "versions" / "v1.duckdb").resolve()
    assert not (copy / "dagster_home").exists() and not (copy / ".built").exists()


def test_the_controller_stops_what_was_started_and_removes_the_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    session = tmp_path / "session"
    session.mkdir()
    monkeypatch.setenv(SHARED_ENV, str(session))
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    stopped: list[Path] = []
    close_session_folder([stopped.append])
    assert stopped == [session] and not session.exists()
    assert SHARED_ENV not in os.environ
