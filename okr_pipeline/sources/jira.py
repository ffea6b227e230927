"""`kind: jira`: the number of issues matching a JQL query, as a point-in-time reading.

Follows the Jira Cloud platform REST API v3 documentation, "Count issues using JQL"
(developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-search,
#api-rest-api-3-search-approximate-count-post): POST /rest/api/3/search/approximate-count
with the body {"jql": "..."} answers {"count": N}, an estimate that may lag recent edits by
a moment. It succeeds the `total` of the deprecated GET /rest/api/3/search, and Atlassian
requires the JQL to be bounded (a project or another restriction). Auth is HTTP basic with
the account's email and an API token
(developer.atlassian.com/cloud/jira/platform/basic-auth-for-rest-apis).
"""

from __future__ import annotations

from okr_pipeline.config.models import JiraMetric, JiraSource, RestMetric, RestSource
from okr_pipeline.sources.rest import RestConnector, limits


class JiraConnector(RestConnector):
    def translate(self, source: JiraSource) -> RestSource:
        return RestSource.model_validate(
            {
                "name": source.name,
                "kind": "rest",
                "base_url": source.url,
                "auth": {"type": "basic", "username": source.username, "password": source.token},
                **limits(source),
                "metrics": [self._metric(metric) for metric in source.metrics],
            }
        )

    def _metric(self, metric: JiraMetric) -> RestMetric:
        return RestMetric.model_validate(
            {
                "name": metric.name,
                "request": {
                    "path": "/rest/api/3/search/approximate-count",
                    "method": "POST",
                    "json": {"jql": metric.jql},
                },
                "value": "$.count",
            }
        )
