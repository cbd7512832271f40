"""Tallies of the fault suite, printed at the end of the test run (see conftest.py)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class FaultTally:
    faults: int = 0
    runs: int = 0
    rows_compared: int = 0
    lost: int = 0
    duplicated: int = 0

    def add(self, other: dict[str, int]) -> None:
        for name, value in other.items():
            setattr(self, name, getattr(self, name) + value)


TALLY = FaultTally()
