"""okr-pipeline as a Dagster Component, for a code location that already has its own assets.

In a project's `defs/` folder, a `defs.yaml` of `type: okr_pipeline.OkrPipelineComponent`
loads an OKR project's sources, checks, score tables, report, job and schedule, all named
from `key_prefix` so that several components (one per business unit, say) share one code
location. This repository's own `definitions.py` builds through the same component.
"""

from __future__ import annotations

import textwrap
from datetime import date
from pathlib import Path

import dagster as dg
from pydantic import Field

from okr_pipeline.orchestration import build_definitions


class OkrPipelineScaffolder(dg.Scaffolder):
    """`dg scaffold defs okr_pipeline.OkrPipelineComponent <path>`: a working starter."""

    def scaffold(self, request: dg.ScaffoldRequest) -> None:
        folder = request.target_path
        write_starter(folder / "okr_project", date.today())
        (folder / "defs.yaml").write_text(
            textwrap.dedent(
                f"""\
                type: {request.type_name}
                attributes:
                  project_dir: okr_project          # metric_sources/, okrs/, checkins/ (beside this file)
                  key_prefix: [okr]                 # every asset key of this component starts with it
                  group_name: okr
                  # warehouse_url: "{{{{ env.OKR_WAREHOUSE_URL }}}}"   # default: SQLite in okr_project/.okr/
                """  # noqa: E501
            )
        )


def write_starter(root: Path, today: date) -> None:
    """A project that checks and scores as it is: one CSV source, this quarter's cycle and
    an objective with two key results; the CSV holds the last few days of signups."""
    quarter = (today.month - 1) // 3
    start = date(today.year, 3 * quarter + 1, 1)
    end = date(today.year + (quarter == 3), (3 * quarter + 3) % 12 + 1, 1)
    end = date.fromordinal(end.toordinal() - 1)
    days = [date.fromordinal(today.toordinal() - back) for back in range(7, 0, -1)]
    rows = "".join(f"{day},{40 + 3 * number}\n" for number, day in enumerate(days))
    files = {
        "data/signups.csv": f"date,signups\n{rows}",
        "metric_sources/product.yaml": """\
            name: product
            kind: csv
            path: data/signups.csv
            metrics:
              - {name: signups, unit: users, ts: date, value: signups,
                 checks: {min: 0, fresh_within_days: 2}}
            """,
        f"okrs/{start.year}-q{quarter + 1}.yaml": f"""\
            cycle: {{id: {start.year}-Q{quarter + 1}, start: {start}, end: {end}}}
            themes: [growth]
            objectives:
              - id: grow-signups
                title: Grow self-serve signups
                owner: owner@example.com
                team: growth
                theme: growth
                key_results:
                  - {{id: daily-signups, title: 60 signups a day, metric: product.signups,
                     type: increase, target: 60, window: trailing_7d, aggregation: mean}}
                  - {{id: signups-total, title: 4000 signups this quarter,
                     metric: product.signups, type: increase, aggregation: sum, target: 4000}}
            """,
    }
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


@dg.scaffold_with(OkrPipelineScaffolder)
class OkrPipelineComponent(dg.Component, dg.Resolvable, dg.Model):
    """OKR key results that score themselves, every night, from your metric sources.

    An OKR project's metric sources (SQL, CSV, REST, Prometheus, GitHub, Jira, Targetprocess)
    are fetched and validated, its key results and objectives scored into warehouse tables,
    and an HTML report published, for every as-of day, on a nightly schedule. A source that
    lists upstream assets in `deps:` shows their lineage and refreshes the day's scores when
    one of them is materialized.
    """

    project_dir: str = Field(
        default=".",
        description="The OKR project: okr_project.yaml, metric_sources/, okrs/, checkins/. "
        "Relative to this component's folder.",
    )
    warehouse_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the warehouse, e.g. "
        "'{{ env.OKR_WAREHOUSE_URL }}' (default: SQLite in <project>/.okr/warehouse.db).",
    )
    key_prefix: list[str] = Field(
        default_factory=list,
        description="Every asset key of this component starts with it; the job, schedule "
        "and resource names are derived from it.",
    )
    group_name: str | None = Field(
        default=None,
        description="One asset group for every asset (default: sources, warehouse, reports).",
    )

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        return self.definitions(context.path)

    def definitions(self, base_dir: Path) -> dg.Definitions:
        """The Definitions of the project at `project_dir`, relative to `base_dir`."""
        return build_definitions(
            Path(base_dir) / self.project_dir, self.warehouse_url, self.key_prefix, self.group_name
        )
