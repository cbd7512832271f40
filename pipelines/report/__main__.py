"""`python -m pipelines.report build|render`: the report by hand, and its render check.

    build  [--database PUBLISHED] [--out HTML] [--month YYYY-MM-DD]   (defaults: the demo's)
    render [HTML] [PNG]   the whole page screenshotted in headless chromium; fails on a blank
                          or cut page (docs/report.md, The render check)
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

from pipelines.report import write_report
from pipelines.report.render import check_render
from pipelines.resources import SettingsResource

DEMO = Path(__file__).resolve().parents[2] / "data" / "demo"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.report")
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="write the report from a marts database")
    build.add_argument("--database", type=Path,
                       default=DEMO / "published" / "csm_metrics.duckdb")
    build.add_argument("--out", type=Path, default=DEMO / "report.html")
    build.add_argument("--settings", type=Path, default=None)
    build.add_argument("--month", type=date.fromisoformat, default=None)
    render = commands.add_parser("render", help="screenshot a report in headless chromium")
    render.add_argument("page", type=Path, nargs="?", default=DEMO / "report.html")
    render.add_argument("png", type=Path, nargs="?", default=DEMO / "report.png")
    args = parser.parse_args(argv)
    if args.command == "build":
        settings = SettingsResource(path=str(args.settings) if args.settings else None).get()
        month = write_report(args.database, settings, args.out, args.month)
        print(f"report for {month or 'no complete month'}: {args.out}")
        return 0
    if not args.page.exists():
        print(f"{args.page} does not exist: run make demo first", file=sys.stderr)
        return 1
    started = time.monotonic()
    problem, summary = check_render(args.page, args.png)
    seconds = time.monotonic() - started
    if problem:
        print(f"{args.png}: {problem}", file=sys.stderr)
        return 1
    print(f"rendered {args.page} -> {args.png} ({summary}, {seconds:.1f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
