"""BI commands on the published marts.

    python -m warehouse serve-pg [--host 127.0.0.1] [--port 5433]
    python -m warehouse bi-files [--out bi]

Both find the published copy as the pipeline does (`CSM_METRICS_PUBLISHED_PATH`, else beside
`WAREHOUSE_PATH`). The endpoint's login is `CSM_METRICS_PG_USER` (default `bi`) with the password
in `CSM_METRICS_PG_PASSWORD`; without one it serves loopback clients only.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import duckdb

from warehouse.locations import published_path, warehouse_path
from warehouse.publishing import current_version


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m warehouse", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve-pg", help="serve the published marts over the "
                                                 "PostgreSQL wire protocol (for Looker)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=5433)
    files = commands.add_parser("bi-files", help="write LookML views and Tableau data sources")
    files.add_argument("--out", type=Path, default=Path("bi"))
    files.add_argument("--looker-connection", default="csm_metrics",
                       help="the Looker connection name the model file names")
    args = parser.parse_args(argv)

    published = published_path(warehouse_path())
    if not published:
        parser.error("publishing is off (CSM_METRICS_PUBLISHED_PATH is empty, or the warehouse "
                     "is on MotherDuck, which BI tools reach directly)")
    try:
        version = current_version(Path(published))
    except FileNotFoundError as error:
        print(error, file=sys.stderr)
        return 2
    if args.command == "bi-files":
        from warehouse.bi_files import write_bi_files

        with duckdb.connect(str(version), read_only=True) as conn:
            written = write_bi_files(conn, args.out, Path(published), args.looker_connection)
        for path in written:
            print(path)
        return 0

    from warehouse.pg_endpoint import Endpoint

    user = os.environ.get("CSM_METRICS_PG_USER") or "bi"
    password = os.environ.get("CSM_METRICS_PG_PASSWORD")
    try:
        endpoint = Endpoint(Path(published), args.host, args.port,
                            {user: password} if password else None)
    except (ValueError, OSError) as error:
        print(f"cannot serve: {error}", file=sys.stderr)
        return 2
    host, port = endpoint.server_address[:2]
    print(f"serving {published} over PostgreSQL at {host}:{port} (user {user}, "
          f"{'password required' if password else 'loopback only, no password'}); Ctrl-C stops",
          flush=True)
    try:
        endpoint.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        endpoint.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
