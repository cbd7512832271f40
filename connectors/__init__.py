"""Vendor API clients. Each knows one API and nothing of Dagster or DuckDB: it yields pages."""
