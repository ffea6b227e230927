"""How many organisations one code location loads before loading takes longer than 10 s.

    .venv/bin/python benchmarks/code_location.py [--orgs 1 10 25 50 100] [--runs 1]

Each organisation is one `OkrPipelineComponent` in a dg project's `defs/` folder: a copy of
this repository's example project (3 sources, 22 key results) with its own `key_prefix` and
its own warehouse schema on PostgreSQL (`search_path` in the URL; loading does not connect).
The figure is what a code location server does on start and on every reload: a fresh
process that loads `defs/` with `dg.load_from_defs_folder` and resolves the asset graph,
jobs and schedules. The floor is the same process with no organisation (Python, Dagster and
the package imported), so the ratio shows what the organisations themselves cost.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import figure, process_seconds  # noqa: E402

REPOSITORY = Path(__file__).resolve().parents[1]
EXAMPLE = ["okr_project.yaml", "metric_sources", "okrs", "checkins", "example_data"]
LIMIT_SECONDS = 10.0
LOAD = textwrap.dedent(
    """\
    import sys
    from pathlib import Path
    import dagster as dg
    import okr_pipeline
    sys.path.insert(0, {src!r})
    import {module}
    defs = dg.load_from_defs_folder(path_within_project=Path({package!r}))
    graph = defs.resolve_asset_graph()
    repository = defs.get_repository_def()
    assert len(repository.get_all_jobs()) >= {orgs}, repository.get_all_jobs()
    assert len(repository.schedule_defs) == {orgs}
    """
)


def platform(root: Path, orgs: int) -> tuple[Path, str]:
    """A dg project with `orgs` components, one folder and one schema each."""
    module = f"platform_{orgs}"
    package = root / "src" / module
    (package / "defs").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "defs" / "__init__.py").write_text("")
    (root / "pyproject.toml").write_text(
        f'[project]\nname = "{module}"\nversion = "0.1.0"\n\n'
        f'[tool.dg]\ndirectory_type = "project"\n\n[tool.dg.project]\nroot_module = "{module}"\n'
    )
    for number in range(1, orgs + 1):
        org = f"org{number:04d}"
        folder = package / "defs" / org
        for name in EXAMPLE:
            source, target = REPOSITORY / name, folder / "okr_project" / name
            if source.is_dir():
                shutil.copytree(source, target)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(source, target)
        url = f"postgresql+psycopg://okr@db.internal/okr?options=-csearch_path%3D{org}"
        (folder / "defs.yaml").write_text(
            "type: okr_pipeline.OkrPipelineComponent\n"
            "attributes:\n"
            "  project_dir: okr_project\n"
            f'  warehouse_url: "{url}"\n'
            f"  key_prefix: [{org}]\n"
            f"  group_name: {org}\n"
        )
    return package, module


def load_seconds(orgs: int, runs: int) -> float:
    root = Path(tempfile.mkdtemp(prefix=f"okr-bench-location-{orgs}-"))
    try:
        package, module = platform(root, orgs)
        code = LOAD.format(src=str(root / "src"), module=module, package=str(package), orgs=orgs)
        return process_seconds([sys.executable, "-c", code], runs, cwd=root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orgs", type=int, nargs="+", default=[1, 10, 25, 50, 100])
    parser.add_argument("--runs", type=int, default=1)
    options = parser.parse_args()

    floor = load_seconds(0, options.runs)
    for orgs in options.orgs:
        seconds = load_seconds(orgs, options.runs)
        per_org = (seconds - floor) / orgs
        print(f"{orgs} organisation(s): {per_org * 1000:.0f} ms each beyond the floor", flush=True)
        figure(
            f"code location of {orgs} organisation(s), fresh process",
            seconds,
            "the same process loading no organisation",
            floor,
            f"< {LIMIT_SECONDS:.0f} s",
            seconds < LIMIT_SECONDS,
        )


if __name__ == "__main__":
    main()
