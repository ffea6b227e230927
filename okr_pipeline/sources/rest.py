"""`kind: rest`: a declarative API client, the shape of dlt's `rest_api` and Airbyte's low-code.

A fetch is four swappable parts: a requester (`HttpClient`: base URL, credentials for its
origin, limits, retries), a paginator picked by `paginator.type`, a record selector (a
JSONPath), and the per-day combination of records (`per_day`). A metric without `records`
is a point-in-time reading: one request, one value picked by a JSONPath, stamped with the
as-of date.

The presets (github, jira, targetprocess) subclass `RestConnector` and only translate their
short config into a `RestSource` with `RestMetric`s of the same names; prometheus shares
the `HttpClient` and the JSONPath helpers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import urljoin, urlsplit

import pandas as pd
from jsonpath_ng import JSONPath
from jsonpath_ng.ext import parse as parse_jsonpath
from requests.utils import parse_header_links

from okr_pipeline.config.models import (
    CursorPaginator,
    LinkHeaderPaginator,
    NextUrlPaginator,
    NoPaginator,
    OffsetPaginator,
    PageNumberPaginator,
    RestMetric,
    RestSource,
)
from okr_pipeline.sources.base import (
    NOT_FINITE,
    Connector,
    FetchWindow,
    SourceError,
    window_rows,
)
from okr_pipeline.sources.http import HttpClient
from okr_pipeline.sources.transport import Reply

# ---------------------------------------------------------------- JSON helpers


@lru_cache(maxsize=256)
def compile_jsonpath(expression: str) -> JSONPath:
    return parse_jsonpath(expression)


def find(payload: Any, expression: str) -> list[Any]:
    return [match.value for match in compile_jsonpath(expression).find(payload)]


def shape(payload: Any, client: HttpClient) -> str:
    """What a response holds, for an error message about a path that matched nothing."""
    if isinstance(payload, dict):
        keys = client.shown(", ".join(list(map(str, payload))[:8]), 200) or "none"
        return f"the response is an object with keys: {keys}"
    if isinstance(payload, list):
        return f"the response is a list of {len(payload)}"
    return f"the response is {type(payload).__name__} {client.shown(str(payload), 40)!r}"


def limits(source: Any) -> dict[str, Any]:
    """The limits every API source has, for a preset to hand on to its `RestSource`."""
    fields = ("timeout_seconds", "retries", "deadline_minutes", "max_response_mb")
    return {name: getattr(source, name) for name in fields}


def record_field(record: Any, dotted: str) -> Any:
    """A field of a record by dotted path (`user.id`, `values.0`); raises KeyError if absent."""
    node = record
    for part in dotted.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif (
            isinstance(node, list)
            and part.lstrip("-").isdigit()
            and -len(node) <= int(part) < len(node)
        ):
            node = node[int(part)]
        else:
            raise KeyError(dotted)
    return node


def substitute(value: Any, window: FetchWindow) -> Any:
    """Put the window's ISO dates into `{start}`, `{end}` (exclusive) and `{as_of}`.

    Only these three names are replaced, so braces an API uses itself (Targetprocess's
    `select={id}`) pass through untouched.
    """
    if isinstance(value, str):
        for name, day in (("start", window.start), ("end", window.end), ("as_of", window.as_of)):
            value = value.replace("{" + name + "}", day.isoformat())
        return value
    if isinstance(value, dict):
        return {key: substitute(item, window) for key, item in value.items()}
    if isinstance(value, list):
        return [substitute(item, window) for item in value]
    return value


# ---------------------------------------------------------------- paginators


@dataclass(frozen=True)
class PageRequest:
    url: str
    params: dict[str, Any] = field(default_factory=dict)

    def key(self) -> tuple:
        return self.url, tuple(sorted((k, str(v)) for k, v in self.params.items()))


@dataclass(frozen=True)
class Page:
    request: PageRequest
    payload: Any
    reply: Reply
    records: list[Any]


class Paginator:
    """Decides the first request and, from each page, the next one (None: last page)."""

    def __init__(self, config: Any):
        self.config = config

    def first(self, request: PageRequest) -> PageRequest:
        return request

    def following(self, page: Page) -> PageRequest | None:
        return None


class PageNumber(Paginator):
    """`?page=1, 2, ...` until a page has no records."""

    def first(self, request: PageRequest) -> PageRequest:
        return PageRequest(request.url, {**request.params, self.config.param: self.config.start})

    def following(self, page: Page) -> PageRequest | None:
        if not page.records:
            return None
        number = int(page.request.params[self.config.param]) + 1
        return PageRequest(page.request.url, {**page.request.params, self.config.param: number})


class Offset(Paginator):
    """`?offset=0&limit=100, offset=100, ...` until a page is shorter than the limit."""

    def first(self, request: PageRequest) -> PageRequest:
        limits = {self.config.param: 0, self.config.limit_param: self.config.limit}
        return PageRequest(request.url, {**request.params, **limits})

    def following(self, page: Page) -> PageRequest | None:
        if len(page.records) < self.config.limit:
            return None
        offset = int(page.request.params[self.config.param]) + self.config.limit
        return PageRequest(page.request.url, {**page.request.params, self.config.param: offset})


class Cursor(Paginator):
    """The response names the next cursor (`cursor_path`), sent back as `param`."""

    def following(self, page: Page) -> PageRequest | None:
        cursors = [c for c in find(page.payload, self.config.cursor_path) if c not in (None, "")]
        if not cursors:
            return None
        return PageRequest(page.request.url, {**page.request.params, self.config.param: cursors[0]})


class NextUrl(Paginator):
    """The response holds the next page's URL (`path`), which carries its own query."""

    def following(self, page: Page) -> PageRequest | None:
        links = [link for link in find(page.payload, self.config.path) if link not in (None, "")]
        if not links:
            return None
        return PageRequest(urljoin(page.request.url, str(links[0])))


class LinkHeader(Paginator):
    """RFC 8288 `Link: <...>; rel="next"`, as GitHub and many others page."""

    def following(self, page: Page) -> PageRequest | None:
        links = parse_header_links(page.reply.headers.get("Link", ""))
        following = [link["url"] for link in links if link.get("rel") == "next" and link["url"]]
        return PageRequest(urljoin(page.request.url, following[0])) if following else None


PAGINATORS: dict[type, type[Paginator]] = {
    NoPaginator: Paginator,
    PageNumberPaginator: PageNumber,
    OffsetPaginator: Offset,
    CursorPaginator: Cursor,
    NextUrlPaginator: NextUrl,
    LinkHeaderPaginator: LinkHeader,
}


# ---------------------------------------------------------------- the connector


class RestConnector(Connector):
    """`kind: rest`, and the base of every preset, which overrides `translate` alone."""

    def __init__(self, source: Any, project: Any):
        super().__init__(source, project)
        self.rest = self.translate(source)
        self.rest_metrics = {metric.name: metric for metric in self.rest.metrics}

    def translate(self, source: Any) -> RestSource:
        """The source as a `RestSource` whose metrics keep the names of the source's metrics."""
        return source

    def is_point_in_time(self, metric: Any) -> bool:
        return self.rest_metrics[metric.name].point_in_time

    def fetch_metric(self, metric: Any, window: FetchWindow) -> pd.DataFrame:
        rest_metric = self.rest_metrics[metric.name]
        with self._client() as client:
            if rest_metric.point_in_time:
                return self._reading(client, rest_metric, window)
            records = [
                record
                for page in self._pages(client, rest_metric, window)
                for record in page.records
            ]
            return self._per_day(records, rest_metric, window)

    def _client(self) -> HttpClient:
        return HttpClient.for_source(
            self.rest,
            self.rest.base_url,
            auth=self.rest.auth,
            headers=self.rest.headers,
            remaining_seconds=self.remaining_seconds,
            secrets=self.project.secrets,
        )

    def _first_request(
        self, client: HttpClient, metric: RestMetric, window: FetchWindow
    ) -> PageRequest:
        return PageRequest(
            client.url_for(substitute(metric.request.path, window)),
            substitute(dict(metric.request.params), window),
        )

    def _send(
        self, client: HttpClient, metric: RestMetric, request: PageRequest, window: FetchWindow
    ):
        return client.request_json(
            request.url,
            request.params,
            method=metric.request.method,
            json_body=substitute(metric.request.json_body, window),
        )

    def _reading(self, client: HttpClient, metric: RestMetric, window: FetchWindow) -> pd.DataFrame:
        """A point-in-time reading: one request (never paged), one value."""
        payload, _ = self._send(client, metric, self._first_request(client, metric, window), window)
        values = find(payload, metric.value)
        if not values:
            raise SourceError(
                f"value path {metric.value!r} matches nothing; {shape(payload, client)}"
            )
        if len(values) > 1:
            raise SourceError(f"value path {metric.value!r} matches {len(values)} values, not one")
        return pd.DataFrame({"ts": [pd.Timestamp(window.as_of)], "value": values})

    def _pages(self, client: HttpClient, metric: RestMetric, window: FetchWindow):
        paginator = PAGINATORS[type(self.rest.paginator)](self.rest.paginator)
        request: PageRequest | None = paginator.first(self._first_request(client, metric, window))
        seen: set[tuple] = set()
        while request is not None:
            if len(seen) >= self.rest.max_pages:
                raise SourceError(
                    f"more than max_pages ({self.rest.max_pages}) pages: the "
                    f"{self.rest.paginator.type} paginator does not stop; raise max_pages "
                    "or narrow the request"
                )
            seen.add(request.key())
            payload, reply = self._send(client, metric, request, window)
            page = Page(request, payload, reply, self._records(payload, metric.records, client))
            yield page
            request = paginator.following(page)
            if request is not None and request.key() in seen:
                path = urlsplit(request.url).path
                raise SourceError(
                    f"paginator {self.rest.paginator.type} loops: page {len(seen) + 1} asks "
                    f"again for a page already fetched ({path})"
                )

    @staticmethod
    def _records(payload: Any, expression: str, client: HttpClient) -> list[Any]:
        """The records of one page; `$.data` and `$.data[*]` both select the list's items."""
        matches = find(payload, expression)
        if len(matches) == 1 and isinstance(matches[0], list):
            return matches[0]
        if matches:
            return matches
        container = expression[:-3] if expression.endswith("[*]") else None
        if container and any(isinstance(found, list) for found in find(payload, container)):
            return []  # an empty list: no records on this page
        raise SourceError(f"records path {expression!r} matches nothing; {shape(payload, client)}")

    def _per_day(self, records: list[Any], metric: RestMetric, window: FetchWindow) -> pd.DataFrame:
        """One value per day of the window: records of a day combined by `per_day`.

        A day with a record that is no finite number keeps NOT_FINITE whatever `per_day`
        does with it (a `min` must not hide it), so the `finite` check rejects the data.
        """
        stamps, values = [], []
        for number, record in enumerate(records, start=1):
            try:
                stamps.append(record_field(record, metric.ts))
            except KeyError:
                raise SourceError(f"record {number} has no field {metric.ts!r}") from None
            if metric.value is None:
                values.append(1.0)
                continue
            try:
                values.append(record_field(record, metric.value))
            except KeyError:
                raise SourceError(f"record {number} has no field {metric.value!r}") from None
        frame = window_rows(
            stamps,
            values,
            self.project.settings.timezone,
            window,
            where=lambda row: f"record {row + 1}",
            names=(metric.ts, metric.value or "value"),
        )
        days = frame.sort_values("stamp", kind="stable").groupby("ts")["value"]
        # min_count=1: a day whose values are all null stays null, for the `not_null` check
        combined = days.sum(min_count=1) if metric.per_day == "sum" else days.agg(metric.per_day)
        not_finite = frame["value"].eq(NOT_FINITE).groupby(frame["ts"]).any()
        combined = combined.mask(not_finite.reindex(combined.index, fill_value=False), NOT_FINITE)
        return combined.reset_index()[["ts", "value"]]
