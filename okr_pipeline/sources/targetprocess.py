"""`kind: targetprocess`: the number of entities matching a filter, as a point-in-time reading.

Follows the Targetprocess developer documentation (dev.targetprocess.com/docs):
- REST API v2 "Custom Calculations": a final selector over the root collection,
  GET /api/v2/{entity}?where=(...)&result=Count, answers the bare number, e.g. `81`
  (docs/api-v2-custom-calculations); `where` takes the API v2 filter as written, e.g.
  `(EntityState.IsFinal != true)`.
- "Authentication": a personal access token goes in the query as `access_token=...`
  (docs/authentication). The token is thus in every URL, which is why messages never show
  a query string.
"""

from __future__ import annotations

from okr_pipeline.config.models import (
    RestMetric,
    RestSource,
    TargetprocessMetric,
    TargetprocessSource,
)
from okr_pipeline.sources.rest import RestConnector, limits


class TargetprocessConnector(RestConnector):
    def translate(self, source: TargetprocessSource) -> RestSource:
        return RestSource.model_validate(
            {
                "name": source.name,
                "kind": "rest",
                "base_url": source.url,
                "auth": {"type": "query", "name": "access_token", "value": source.token},
                **limits(source),
                "metrics": [self._metric(metric) for metric in source.metrics],
            }
        )

    def _metric(self, metric: TargetprocessMetric) -> RestMetric:
        params = {"result": "Count"}
        if metric.where:
            params["where"] = metric.where
        return RestMetric.model_validate(
            {
                "name": metric.name,
                "request": {"path": f"/api/v2/{metric.entity}", "params": params},
                "value": "$",
            }
        )
