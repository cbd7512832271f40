"""Dagster wiring: assets, checks, partitions and resources, one sub-package per domain."""

import warnings

from dagster import BetaWarning

# Dagster 1.13 calls `backfill_policy` beta. A range of months is one run by design
# (docs/backfilling.md) and Dagster is pinned in the lock, so the warning, printed once per asset
# whenever the code location loads, tells a user nothing they can act on.
warnings.filterwarnings("ignore", category=BetaWarning, message=r"Parameter `backfill_policy`")
