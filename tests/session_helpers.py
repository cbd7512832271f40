"""What the test session builds once, however many xdist workers it has.

The controller (or the only process, without xdist) makes one folder for the whole session in
`pytest_configure` and names it in an environment variable its workers inherit. A fixture builds
into it under a file lock: the first worker to need a thing builds it, the others wait for the
lock and reuse it. The controller cleans up in `pytest_unconfigure`, after every worker is done,
so a server started by one worker serves the others until the end (tests/pg_server.py).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from filelock import FileLock

SHARED_ENV = "CSM_METRICS_TESTS_SHARED"
DONE = ".built"


def open_session_folder() -> None:
    """In the controller: one folder for this session's shared builds, unless inherited."""
    if not os.environ.get(SHARED_ENV):
        os.environ[SHARED_ENV] = tempfile.mkdtemp(prefix="csm-metrics-tests-")


def session_folder() -> Path:
    folder = os.environ.get(SHARED_ENV)
    if not folder:  # imported outside a pytest session that ran pytest_configure
        open_session_folder()
        folder = os.environ[SHARED_ENV]
    return Path(folder)


def is_controller() -> bool:
    """True in xdist's controller and in a session without xdist."""
    return "PYTEST_XDIST_WORKER" not in os.environ


def built_once(name: str, build: Callable[[Path], None]) -> Path:
    """`session_folder()/name`, built by `build(folder)` by the first process that asks. A build
    that failed half-way is thrown away and tried again by the next process that asks."""
    root = session_folder()
    folder = root / name
    with FileLock(str(root / f"{name}.lock")):
        if not (folder / DONE).exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            build(folder)
            (folder / DONE).touch()
    return folder


def private_copy(shared: Path, into: Path) -> Path:
    """A copy of a shared build for one process: its tests may open it as they like (a DuckDB
    file opened for writing by one process cannot be opened by another). Links stay links."""
    shutil.copytree(shared, into, symlinks=True, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns(DONE, "dagster_home"))
    return into


def shared_build(name: str, build: Callable[[Path], None],
                 tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A module's build, made once per session (`built_once`), as this process's own copy:
    under xdist a module's tests may run on several workers, which then share one build."""
    return private_copy(built_once(name, build), tmp_path_factory.mktemp(name))


def close_session_folder(stop: list[Callable[[Path], None]]) -> None:
    """In the controller, at the very end: stop what was started, remove the folder."""
    folder = os.environ.get(SHARED_ENV)
    if not folder or not is_controller():
        return
    try:
        for step in stop:
            step(Path(folder))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        os.environ.pop(SHARED_ENV, None)
