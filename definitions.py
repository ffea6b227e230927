"""The Dagster code location (`dagster dev` loads this file through workspace.yaml).

The project directory is $OKR_PROJECT_DIR, else this repository's example organisation;
the warehouse is $OKR_WAREHOUSE_URL, else SQLite under <project>/.okr/. Built through the
same component another Dagster project adds in its `defs/` folder, without a key prefix.
"""

import os
from pathlib import Path

from okr_pipeline import PROJECT_ENV, OkrPipelineComponent

defs = OkrPipelineComponent(project_dir=os.environ.get(PROJECT_ENV) or ".").definitions(
    Path(__file__).parent
)
