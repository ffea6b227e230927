"""Pure configuration: YAML files to typed models, with every problem named by file, item, field."""

from okr_pipeline.config.lint import lint
from okr_pipeline.config.loader import Checkin, CycleOkrs, Project, load_project
from okr_pipeline.config.problems import ConfigError, ConfigProblem

__all__ = [
    "Checkin",
    "ConfigError",
    "ConfigProblem",
    "CycleOkrs",
    "Project",
    "lint",
    "load_project",
]
