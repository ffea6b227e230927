"""`okr-pipeline check` suits a pre-commit hook: the config package stays light to import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HEAVY = ("pandas", "sqlalchemy", "dagster", "great_expectations")


def test_loading_a_project_imports_no_heavy_package(project_dir: Path) -> None:
    script = (
        "import sys, okr_pipeline.config as c\n"
        f"c.lint(c.load_project({str(project_dir)!r}))\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
