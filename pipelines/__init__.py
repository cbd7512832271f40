"""Dagster wiring: assets, checks, partitions and resources, one sub-package per domain."""
