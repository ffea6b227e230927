"""`kind: github`: issue-search counts and repository stats, as point-in-time readings.

Follows GitHub's REST API documentation (docs.github.com/en/rest):
- "Search issues and pull requests": GET /search/issues?q=...; the response's `total_count`
  is the number of matches (rest/search/search#search-issues-and-pull-requests).
- "Get a repository": GET /repos/{owner}/{repo}; `stargazers_count`, `forks_count` and
  `open_issues_count` (which, as documented, counts open pull requests too)
  (rest/repos/repos#get-a-repository).
- Auth `Authorization: Bearer <token>`, `Accept: application/vnd.github+json`,
  `X-GitHub-Api-Version: 2022-11-28` (rest/authentication, rest/about-the-rest-api).
"""

from __future__ import annotations

from okr_pipeline.config.models import GithubMetric, GithubSource, RestMetric, RestSource
from okr_pipeline.sources.rest import RestConnector, limits

STAT_FIELDS = {
    "stars": "$.stargazers_count",
    "forks": "$.forks_count",
    "open_issues": "$.open_issues_count",
}


class GithubConnector(RestConnector):
    def translate(self, source: GithubSource) -> RestSource:
        auth = {"type": "bearer", "token": source.token} if source.token else None
        return RestSource.model_validate(
            {
                "name": source.name,
                "kind": "rest",
                "base_url": source.url,
                "auth": auth,
                "headers": {
                    "Accept": "application/vnd.github+json",
                    "X-GitHub-Api-Version": "2022-11-28",
                },
                **limits(source),
                "metrics": [self._metric(metric) for metric in source.metrics],
            }
        )

    def _metric(self, metric: GithubMetric) -> RestMetric:
        if metric.search is not None:
            # per_page=1: only total_count is read, so fetch as little as the API allows.
            request = {
                "path": "/search/issues",
                "params": {"q": f"repo:{self.source.repo} {metric.search}", "per_page": 1},
            }
            value = "$.total_count"
        else:
            request = {"path": f"/repos/{self.source.repo}"}
            value = STAT_FIELDS[metric.stat]
        return RestMetric.model_validate({"name": metric.name, "request": request, "value": value})
