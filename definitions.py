"""The Dagster code location (`dagster dev` loads this file through workspace.yaml).

The project directory is $OKR_PROJECT_DIR, else this repository's example organisation;
the warehouse is $OKR_WAREHOUSE_URL, else SQLite under <project>/.okr/.
"""

import os
from pathlib import Path

from okr_pipeline.orchestration import PROJECT_ENV, build_definitions

defs = build_definitions(os.environ.get(PROJECT_ENV) or Path(__file__).parent)
