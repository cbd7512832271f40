"""The small generated company behind the fakes that connector-level tests share: one module
of fixtures, imported by the test modules that pull from it (a module-scoped company, a fresh
sandbox per test so each test's requests and changes are its own)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from sandbox.company import Company, generate_company
from sandbox.servers import Sandbox


@pytest.fixture(scope="module")
def company() -> Company:
    return generate_company(seed=5, csm_count=6, account_count=300, start=date(2025, 1, 1),
                            end=date(2025, 5, 1), entries_per_day=1)


@pytest.fixture()
def sandbox(company: Company, tmp_path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    with Sandbox(company, salesforce_batch_size=200).start(str(tmp_path)) as sandbox:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", sandbox.ca_bundle)
        yield sandbox
