"""PostgreSQL as the BI serving database (docs/bi.md).

Looker speaks PostgreSQL, not DuckDB: its symmetric aggregates, persistent derived tables and
schema browser need a real PostgreSQL. `publishing.py` copies the marts into one through COPY and
swaps them in whole; `roles.py` creates or checks the read-only BI role and Looker's scratch
schema; `cluster.py` runs the project's own local server for the demo and the tests.
"""
