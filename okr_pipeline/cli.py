"""okr-pipeline: check / run / backfill / status / report / schema (README, Command line).

Every command imports what it needs when it runs: `check` neither Dagster nor Great
Expectations, and `status` not even the config models (see `scoreboard`), so both start
fast enough for a pre-commit hook.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from okr_pipeline import PROJECT_ENV, WAREHOUSE_ENV, default_warehouse_url

if TYPE_CHECKING:
    from okr_pipeline.config import Project


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("okr-pipeline")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


def _parser() -> argparse.ArgumentParser:
    project = argparse.ArgumentParser(add_help=False)
    project.add_argument(
        "--project-dir",
        type=Path,
        metavar="DIR",
        help="the project: okr_project.yaml, metric_sources/, okrs/, checkins/ "
        "(default: $OKR_PROJECT_DIR, else the current directory)",
    )
    warehouse = argparse.ArgumentParser(add_help=False)
    warehouse.add_argument(
        "--warehouse",
        metavar="URL",
        help="SQLAlchemy URL of the warehouse "
        "(default: $OKR_WAREHOUSE_URL, else SQLite in <project>/.okr/warehouse.db)",
    )
    both = [project, warehouse]
    parser = argparse.ArgumentParser(
        prog="okr-pipeline", description="Key results that score themselves."
    )
    parser.add_argument("--version", action="version", version=f"okr-pipeline {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser(
        "check", parents=[project], help="validate every YAML and CSV file and lint the OKRs"
    )
    run = commands.add_parser(
        "run", parents=both, help="fetch, validate, score and publish one as-of date"
    )
    run.add_argument(
        "--date",
        type=_date,
        help="as-of date, YYYY-MM-DD (default: today in the project's timezone)",
    )
    backfill = commands.add_parser(
        "backfill", parents=both, help="run every as-of date of a range, oldest first"
    )
    backfill.add_argument("--start", type=_date, required=True, help="first as-of date, YYYY-MM-DD")
    backfill.add_argument(
        "--end", type=_date, required=True, help="last as-of date, YYYY-MM-DD (included)"
    )
    status = commands.add_parser("status", parents=both, help="the scoreboard from the warehouse")
    status.add_argument(
        "--date", type=_date, help="as-of date, YYYY-MM-DD (default: the latest scored)"
    )
    status.add_argument("--team", help="only the key results of this team")
    status.add_argument("--owner", help="only the key results of this owner")
    status.add_argument(
        "--format",
        choices=["table", "json", "csv"],
        default="table",
        help="table for people (default), json or csv for machines: one row per key result",
    )
    report = commands.add_parser(
        "report", parents=both, help="write the self-contained HTML dashboard"
    )
    report.add_argument(
        "--date", type=_date, help="as-of date, YYYY-MM-DD (default: the latest scored)"
    )
    report.add_argument(
        "--out", type=Path, help="the HTML file to write (default: <project>/.okr/report.html)"
    )
    schema = commands.add_parser(
        "schema", parents=[project], help="write JSON Schemas of the YAML files, for editors"
    )
    schema.add_argument(
        "--out", type=Path, help="the folder to write them to (default: <project>/schemas)"
    )
    return parser


def _project_dir(args) -> Path:
    return (args.project_dir or Path(os.environ.get(PROJECT_ENV) or ".")).resolve()


def _warehouse_url(args, project_dir: Path) -> str:
    return args.warehouse or os.environ.get(WAREHOUSE_ENV) or default_warehouse_url(project_dir)


def _load(project_dir: Path) -> Project:
    """Load the project or print every problem and exit 1: a config mistake is never a traceback."""
    from okr_pipeline.config import ConfigError, load_project

    try:
        return load_project(project_dir)
    except ConfigError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        print(f"{len(error.problems)} error(s); nothing was run.", file=sys.stderr)
        raise SystemExit(1) from None


def cmd_check(args) -> int:
    from okr_pipeline.config import lint

    project = _load(_project_dir(args))
    warnings = lint(project)
    for warning in warnings:
        print(f"warning: {warning}")
    krs = sum(len(o.key_results) for okrs in project.cycles for o in okrs.objectives)
    metrics = sum(len(source.metrics) for source in project.sources.values())
    print(
        f"ok: {len(project.cycles)} cycle(s), {len(project.sources)} source(s), "
        f"{metrics} metric(s), "
        f"{krs} key result(s), {len(project.checkins)} check-in(s); {len(warnings)} warning(s)"
    )
    return 0


def _dagster(project_dir: Path):
    """The Definitions and the Dagster instance whose history the UI shows (see
    `orchestration.instance_for`)."""
    from okr_pipeline.orchestration import build_definitions, instance_for

    return build_definitions(project_dir), instance_for(project_dir)


def _check_range(project: Project, as_of: date) -> None:
    first = min((okrs.cycle.start for okrs in project.cycles), default=as_of)
    if as_of < first:
        print(f"as-of date {as_of} is before the first cycle starts ({first})", file=sys.stderr)
        raise SystemExit(1)


def _summary(url: str, as_of: date, notify_problems: list[str]) -> str:
    from okr_pipeline import warehouse

    engine = warehouse.engine_for(url)
    runs = warehouse.read_table(engine, warehouse.source_runs, as_of)
    krs = warehouse.read_table(engine, warehouse.kr_scores, as_of)
    engine.dispose()
    marked = krs[krs["data_status"] != "ok"]
    failed = runs[runs["status"] == "error"]
    text = f"{len(krs)} key result(s) scored, {len(marked)} marked; sources: "
    text += ", ".join(f"{row.source} {row.status}" for row in runs.itertuples())
    for row in failed.itertuples():
        text += f"\nsource {row.source} failed: {row.message}"
    for row in marked.itertuples():
        text += f"\n{row.kr_id}: {row.data_status}: {row.data_message}"
    for problem in notify_problems:
        text += f"\n{problem}"
    return text


def _prepare(args) -> tuple[Path, Project]:
    """The project, and its warehouse opened for writing (upgraded where it lacks columns)
    before any source is fetched: a wrong URL fails in one line, not after the fetch."""
    from okr_pipeline import warehouse

    project_dir = _project_dir(args)
    project = _load(project_dir)
    url = _warehouse_url(args, project_dir)
    engine, upgraded = warehouse.open_for_writing(url)
    engine.dispose()
    for line in upgraded:
        print(line)
    os.environ[WAREHOUSE_ENV] = url
    return project_dir, project


def _secrets(project: Project) -> set[str]:
    """What a failure line must not show: the project's secrets and the warehouse password."""
    from okr_pipeline.warehouse_errors import password_of

    return {*project.secrets, *({password_of(os.environ[WAREHOUSE_ENV])} - {None})}


def cmd_run(args) -> int:
    from okr_pipeline import outcome
    from okr_pipeline.orchestration import materialize_day
    from okr_pipeline.runs import today_in

    project_dir, project = _prepare(args)
    as_of = args.date or today_in(project.settings.timezone)
    _check_range(project, as_of)
    defs, instance = _dagster(project_dir)
    with instance, outcome.PublishedDays() as published:
        result = outcome.interruptible(lambda: materialize_day(defs, as_of, instance), published, 1)
    if not result.success:
        print(outcome.failure(result, _secrets(project)), file=sys.stderr)
        return 1
    _print_scoreboard(os.environ[WAREHOUSE_ENV], as_of)
    print(_summary(os.environ[WAREHOUSE_ENV], as_of, outcome.notify_problems(result)))
    _print_report_page(result)
    return 0


def _print_report_page(result) -> None:
    from okr_pipeline import outcome

    page = outcome.report_page(result)
    if page is not None:
        print(f"report: {page}")


def cmd_backfill(args) -> int:
    """Run the range as runs of up to MAX_DAYS_PER_RUN days, each fetching its sources once."""
    from rich.progress import Progress

    from okr_pipeline import outcome
    from okr_pipeline.orchestration import MAX_DAYS_PER_RUN, materialize_days

    project_dir, project = _prepare(args)
    if args.end < args.start:
        print(f"--end {args.end} is before --start {args.start}", file=sys.stderr)
        return 1
    _check_range(project, args.start)
    days = [args.start + timedelta(n) for n in range((args.end - args.start).days + 1)]
    defs, instance = _dagster(project_dir)
    problems = []
    with instance, Progress(transient=False) as progress:
        task = progress.add_task("backfill", total=len(days))
        with outcome.PublishedDays(progress, task) as published:
            for first in days[::MAX_DAYS_PER_RUN]:
                last = min(first + timedelta(MAX_DAYS_PER_RUN - 1), args.end)
                progress.update(task, description=f"fetching {first} .. {last}")
                result = outcome.interruptible(
                    lambda first=first, last=last: materialize_days(defs, first, last, instance),
                    published,
                    len(days),
                )
                if not result.success:
                    progress.stop()
                    print(
                        f"backfill stopped after {published.count} of {len(days)} day(s), "
                        "the days published are complete; "
                        f"{outcome.failure(result, _secrets(project))}",
                        file=sys.stderr,
                    )
                    return 1
                problems += outcome.notify_problems(result)
    for problem in problems:
        print(problem)
    print(f"backfilled {len(days)} day(s): {args.start} .. {args.end}")
    _print_report_page(result)
    return 0


def _print_scoreboard(url: str, as_of: date | None, team=None, owner=None, fmt="table") -> int:
    from okr_pipeline import scoreboard

    shown = scoreboard.read_scores(url, as_of).only(team, owner)
    if fmt == "json":
        print(scoreboard.to_json(shown))
    elif fmt == "csv":
        print(scoreboard.to_csv(shown), end="")
    else:
        scoreboard.render(shown, filtered=bool(team or owner))
    return 0


def cmd_status(args) -> int:
    url = _warehouse_url(args, _project_dir(args))
    return _print_scoreboard(url, args.date, args.team, args.owner, args.format)


def cmd_report(args) -> int:
    from okr_pipeline import warehouse
    from okr_pipeline.report import ReportError, write_report

    project_dir = _project_dir(args)
    project = _load(project_dir)
    engine = warehouse.open_for_reading(_warehouse_url(args, project_dir))
    out = args.out or project_dir / ".okr" / "report.html"
    try:
        print(write_report(engine, project, args.date, out))
    except ReportError as error:
        print(error, file=sys.stderr)
        return 1
    return 0


def cmd_schema(args) -> int:
    from okr_pipeline.config.models import OkrFile, ProjectSettings, SourceFile

    out = args.out or _project_dir(args) / "schemas"
    out.mkdir(parents=True, exist_ok=True)
    source = SourceFile.model_json_schema()
    schemas = {
        "metric_source.schema.json": {**source["properties"]["source"], "$defs": source["$defs"]},
        "okrs.schema.json": OkrFile.model_json_schema(),
        "okr_project.schema.json": ProjectSettings.model_json_schema(),
    }
    for name, schema in schemas.items():
        (out / name).write_text(json.dumps(schema, indent=2) + "\n")
        print(out / name)
    return 0


COMMANDS = {
    "check": cmd_check,
    "run": cmd_run,
    "backfill": cmd_backfill,
    "status": cmd_status,
    "report": cmd_report,
    "schema": cmd_schema,
}


def main(argv: list[str] | None = None) -> int:
    """Every failure the user can act on is one line on stderr and exit 1; Ctrl-C or SIGTERM
    stops the command within seconds (see `outcome`), saying how far it got."""
    from okr_pipeline import outcome
    from okr_pipeline.warehouse_errors import WarehouseError

    # What a run's log warnings say, its summary says once; errors still reach stderr.
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    args = _parser().parse_args(argv)
    outcome.stop_on_signals()
    try:
        return COMMANDS[args.command](args)
    except WarehouseError as error:
        print(error, file=sys.stderr)
        return 1
    except outcome.Interrupted as stop:
        outcome.exit_interrupted(stop)


if __name__ == "__main__":
    raise SystemExit(main())
