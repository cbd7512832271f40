"""The SQL run after the marts (the drivers' units, the outlook) is checked on every build with
the models' parse cache (transforms/graph.py, `cached_references`), not parsed by sqlglot again:
the same relations as a fresh parse, and a comma join still refused."""

from __future__ import annotations

import pytest

import transforms.graph as graph
from warehouse.drivers import UNITS_SQL
from warehouse.outlook import FOLDER

pytestmark = pytest.mark.fast


def test_a_text_is_parsed_once_and_reads_what_a_fresh_parse_reads(
        monkeypatch: pytest.MonkeyPatch) -> None:
    texts = [UNITS_SQL.read_text(), *(path.read_text() for path in sorted(FOLDER.glob("*.sql")))]
    fresh = [graph.references(sql) for sql in texts]
    assert [graph.cached_references(sql) for sql in texts] == fresh

    def refused(sql: str) -> frozenset[str]:
        raise AssertionError("parsed again")

    monkeypatch.setattr(graph, "references", refused)
    assert [graph.cached_references(sql) for sql in texts] == fresh
    assert graph.unknown_reads(texts[0], set()) == sorted(
        name for name in fresh[0] if not name.startswith("staging."))


def test_a_comma_join_is_still_refused() -> None:
    with pytest.raises(ValueError, match="join explicitly"):
        graph.unknown_reads("select * from marts.renewals, marts.csm_outlook -- x1", set())
