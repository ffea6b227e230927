"""Connectors, one per file, and the registry from a source's `kind` to its connector.

Adding a kind: a config model in `okr_pipeline/config/models.py`, a connector file here,
and one line in CONNECTORS.
"""

from __future__ import annotations

from okr_pipeline.sources.base import Connector, FetchWindow, MetricFetch, SourceError, SourceFetch
from okr_pipeline.sources.csv import CsvConnector
from okr_pipeline.sources.github import GithubConnector
from okr_pipeline.sources.jira import JiraConnector
from okr_pipeline.sources.prometheus import PrometheusConnector
from okr_pipeline.sources.rest import RestConnector
from okr_pipeline.sources.sql import SqlConnector
from okr_pipeline.sources.targetprocess import TargetprocessConnector

CONNECTORS: dict[str, type[Connector]] = {
    "sql": SqlConnector,
    "csv": CsvConnector,
    "rest": RestConnector,
    "prometheus": PrometheusConnector,
    "github": GithubConnector,
    "jira": JiraConnector,
    "targetprocess": TargetprocessConnector,
}


def connector_for(source, project) -> Connector:
    """The connector of a source's kind (the config accepts only kinds registered here)."""
    return CONNECTORS[source.kind](source, project)


__all__ = [
    "CONNECTORS",
    "Connector",
    "FetchWindow",
    "MetricFetch",
    "SourceError",
    "SourceFetch",
    "connector_for",
]
