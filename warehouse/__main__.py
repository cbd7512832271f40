"""BI commands on the published marts.

    python -m warehouse pg-start [--data-dir data/pg] [--port 5433]
    python -m warehouse pg-stop [--data-dir data/pg]
    python -m warehouse bi-files [--out bi] [--pg-host 127.0.0.1] [--pg-port 5433]
                                 [--pg-database csm_metrics] [--pg-user bi]

`bi-files` writes the LookML views, the Tableau data sources and a dbt `sources.yml` for the
published marts (`<out>/dbt/sources.yml`, warehouse/dbt_sources.py).

They find the published copy as the pipeline does (`CSM_METRICS_PUBLISHED_PATH`, else beside
`WAREHOUSE_PATH`). `pg-start` starts the project's own PostgreSQL (warehouse/postgres/cluster.py;
initdb on first use), publishes that copy into its database `csm_metrics`, and prints the
read-only BI role's URL as its last line; the server keeps running until `pg-stop`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import duckdb

from warehouse.locations import PROJECT_ROOT
from warehouse.publishing import current_version


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m warehouse", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("pg-start", help="start the local PostgreSQL and publish the "
                                                 "marts into it (for Looker and psql)")
    start.add_argument("--data-dir", type=Path, default=PROJECT_ROOT / "data" / "pg")
    start.add_argument("--port", type=int, default=5433)
    stop = commands.add_parser("pg-stop", help="stop the local PostgreSQL")
    stop.add_argument("--data-dir", type=Path, default=PROJECT_ROOT / "data" / "pg")
    files = commands.add_parser("bi-files", help="write LookML views, Tableau data sources "
                                                    "and a dbt sources.yml")
    files.add_argument("--out", type=Path, default=Path("bi"))
    files.add_argument("--looker-connection", default="csm_metrics",
                       help="the Looker connection name the model file names")
    files.add_argument("--pg-host", default="127.0.0.1",
                       help="PostgreSQL host the Tableau live data sources connect to")
    files.add_argument("--pg-port", type=int, default=5433)
    files.add_argument("--pg-database", default="csm_metrics")
    files.add_argument("--pg-user", default="bi", help="the read-only BI role (no password "
                                                      "is written; Tableau asks for it)")
    args = parser.parse_args(argv)
    if args.command == "pg-stop":
        return pg_stop(args.data_dir)

    from pipelines.deployment import Deployment  # the variables, read in one place

    deployment = Deployment.from_env()
    published = deployment.published
    if not published:
        parser.error("publishing is off (CSM_METRICS_PUBLISHED_PATH is empty, or the warehouse "
                     "is on MotherDuck, which BI tools reach directly)")
    try:
        version = current_version(Path(published))
    except FileNotFoundError as error:
        print(error, file=sys.stderr)
        return 2
    if args.command == "bi-files":
        from warehouse.bi_files import PostgresTarget, write_bi_files
        from warehouse.dbt_sources import write_dbt_sources

        target = PostgresTarget(args.pg_host, args.pg_port, args.pg_database, args.pg_user,
                                deployment.postgres_sslmode())
        with duckdb.connect(str(version), read_only=True) as conn:
            written = write_bi_files(conn, args.out, Path(published), args.looker_connection,
                                     target)
            written.append(write_dbt_sources(conn, args.out))
        for path in written:
            print(path)
        return 0

    return pg_start(args.data_dir, args.port, version)


def pg_start(folder: Path, port: int, version: Path) -> int:
    """Start (initdb on first use) the local cluster, set up its roles and database as a DBA
    would, publish the published copy's marts, and print the BI role's URL last."""
    from warehouse.postgres.cluster import BI, DATABASE, PUBLISHER, ClusterError, LocalCluster
    from warehouse.postgres.publishing import PostgresPublishError, publish_marts

    cluster = LocalCluster(folder, port)
    try:
        cluster.start()
        cluster.provision()
        with duckdb.connect(str(version), read_only=True) as conn:
            row = conn.execute("select run_id from meta.publication").fetchone()
            result = publish_marts(conn, cluster.url(PUBLISHER), row[0] if row else version.stem,
                                   bi_role=BI, log=print)
    except (ClusterError, PostgresPublishError) as error:
        print(f"cannot publish to the local PostgreSQL: {error}", file=sys.stderr)
        return 2
    print(f"PostgreSQL {cluster.data} on 127.0.0.1:{port} (log {cluster.logfile}; stop it with "
          f"make pg-stop); passwords in {cluster.secrets_file}")
    print(f"published {version.name}: " + ", ".join(f"marts.{t} {n:,} rows"
                                                  for t, n in result.rows.items()))
    print(f"psql '{cluster.url(BI, DATABASE)}' -c '\\d marts.csm_period_metrics'")
    print(cluster.url(BI, DATABASE), flush=True)
    return 0


def pg_stop(folder: Path) -> int:
    from warehouse.postgres.cluster import ClusterError, LocalCluster

    try:
        stopped = LocalCluster(folder).stop()
    except ClusterError as error:
        print(error, file=sys.stderr)
        return 2
    print(f"PostgreSQL in {folder} {'stopped' if stopped else 'was not running'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
