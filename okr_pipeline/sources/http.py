"""The one HTTP client of every API source: auth, limits, retries and secret-free errors.

`rest` and its presets (prometheus, github, jira, targetprocess) send every request through
`HttpClient.request_json`, so a limit, a retry policy or a redaction rule is written once:

- Each request, its redirects included, has a total deadline: `timeout_seconds`, or less
  when the source's own deadline (`deadline_minutes`) is nearer; retries stop there too.
- Each body is read up to `max_response_mb`, counted unpacked.
- Credentials (auth and the configured `headers:`) go only to the base URL's origin
  (scheme, host and port). A next page or a redirect on another origin is requested
  without any of them. Redirects are followed here, at most MAX_REDIRECTS.
- Messages name the method, host and path, never the query string (a query-auth token
  lives there) nor a header; text the API sent is redacted and made inert.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit

from okr_pipeline.config.models import BasicAuth, BearerAuth, HeaderAuth, QueryAuth
from okr_pipeline.secrets import basic_credentials, redact
from okr_pipeline.sources.base import (
    RejectedData,
    SourceError,
    TransientSourceError,
    with_retries,
)
from okr_pipeline.sources.transport import (
    OutOfTime,
    Reply,
    TransportError,
    bounded_session,
    exchange,
)
from okr_pipeline.text import inert

log = logging.getLogger(__name__)
# Longer waits than this are not worth holding a run for: the source is recorded as failed.
MAX_RETRY_AFTER_SECONDS = 60.0
MAX_REDIRECTS = 5
REDIRECT_STATUSES = {301, 302, 303, 307, 308}
DEFAULT_PORTS = {"http": 80, "https": 443}
DETAIL_LIMIT = 200  # characters of an API's own error message kept in ours
USER_AGENT = "okr-pipeline"


class _RedactingFilter(logging.Filter):
    """Scrubs secrets from urllib3's debug lines, which print each request's full query string."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: frozenset[str] = frozenset()

    def add(self, secrets: frozenset[str]) -> None:
        self.secrets = self.secrets | secrets  # a new frozenset: safe for concurrent sources

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = self.secrets
        if secrets:
            message = record.getMessage()
            cleaned = redact(message, secrets)
            if cleaned != message:
                record.msg, record.args = cleaned, None
        return True


_URLLIB3_FILTER = _RedactingFilter()
logging.getLogger("urllib3.connectionpool").addFilter(_URLLIB3_FILTER)


def auth_secrets(auth: Any) -> frozenset[str]:
    """The values of an auth config that must never be shown, in the forms they are sent."""
    if isinstance(auth, BearerAuth):
        values = {auth.token}
    elif isinstance(auth, BasicAuth):
        values = {auth.password, basic_credentials(auth.username, auth.password)}
    elif isinstance(auth, HeaderAuth | QueryAuth):
        values = {auth.value}
    else:
        values = set()
    return frozenset(value for value in values if value)


def auth_headers(auth: Any) -> dict[str, str]:
    if isinstance(auth, BearerAuth):
        return {"Authorization": f"Bearer {auth.token}"}
    if isinstance(auth, BasicAuth):
        return {"Authorization": f"Basic {basic_credentials(auth.username, auth.password)}"}
    if isinstance(auth, HeaderAuth):
        return {auth.name: auth.value}
    return {}


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of a URL, the port filled in for http and https."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:  # not a number: no origin matches it
        port = -1
    return scheme, (parts.hostname or "").lower(), port or DEFAULT_PORTS.get(scheme)


def where(method: str, url: str) -> str:
    """A request as messages show it: method, host and path; no credentials, no query."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"{method} {host}{parts.path or '/'}"


def _retry_after(reply: Reply) -> float | None:
    """Seconds to wait, from Retry-After (seconds or an HTTP date) or GitHub's rate-limit reset."""
    header = reply.headers.get("Retry-After")
    if header:
        if header.strip().isdigit():
            return float(header)
        try:
            return max(0.0, parsedate_to_datetime(header).timestamp() - time.time())
        except (TypeError, ValueError):
            return None
    reset = reply.headers.get("X-RateLimit-Reset")
    if reset and reset.isdigit():
        return max(0.0, float(reset) - time.time())
    return None


def _error_detail(body: bytes) -> str:
    """The API's own short explanation of an error, from the JSON error shapes we know."""
    try:
        payload = json.loads(body)
    except ValueError:
        return ""
    if not isinstance(payload, dict):
        return ""
    for key in ("error", "message", "Message", "errorMessage"):
        if isinstance(payload.get(key), str):
            return payload[key]
    messages = payload.get("errorMessages")  # Jira
    if isinstance(messages, list) and messages:
        return "; ".join(str(message) for message in messages)
    return ""


def _integer(digits: str) -> int | float:
    """A JSON integer. One longer than Python parses (4,300 digits) is far above any float:
    infinity, for the `finite` check to reject, not a payload that "is not JSON"."""
    try:
        return int(digits)
    except ValueError:
        return float(digits)


def _no_deadline() -> float:
    return math.inf


class HttpClient:
    """A session for one source: base URL, credentials for its origin, limits and retries.

    Use it as a context manager, one per metric fetch, so pages of one metric share a
    keep-alive connection and nothing outlives the fetch. A SourceError raised inside it
    leaves redacted with the client's secrets, which include the base64 a Basic header
    carries (no project-wide secret set holds that form).
    """

    def __init__(
        self,
        base_url: str,
        *,
        auth: Any = None,
        headers: dict[str, str] | None = None,
        timeout_seconds: float = 30,
        retries: int = 2,
        max_response_mb: float = 100,
        remaining_seconds: Callable[[], float] = _no_deadline,
        secrets: frozenset[str] = frozenset(),
    ):
        self.base_url = base_url
        self.origin = origin(base_url)
        self.timeout_seconds = timeout_seconds
        self.retries = retries
        self.max_response_mb = max_response_mb
        self.remaining_seconds = remaining_seconds
        self.secrets = frozenset(secrets) | auth_secrets(auth)
        self.origin_headers = {**(headers or {}), **auth_headers(auth)}
        self.origin_params = {auth.name: auth.value} if isinstance(auth, QueryAuth) else {}
        self.session = bounded_session()
        self.session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
        _URLLIB3_FILTER.add(self.secrets)

    @classmethod
    def for_source(
        cls,
        source: Any,
        base_url: str,
        *,
        remaining_seconds: Callable[[], float],
        secrets: frozenset[str],
        auth: Any = None,
        headers: dict[str, str] | None = None,
    ) -> HttpClient:
        """The client of an API source, bounded by its limits and its deadline."""
        return cls(
            base_url,
            auth=auth,
            headers=headers,
            timeout_seconds=source.timeout_seconds,
            retries=source.retries,
            max_response_mb=source.max_response_mb,
            remaining_seconds=remaining_seconds,
            secrets=secrets,
        )

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, exc_type: object, error: BaseException | None, tb: object) -> None:
        self.session.close()
        if isinstance(error, SourceError | RejectedData):
            error.args = (redact(str(error), self.secrets),)

    def url_for(self, path: str) -> str:
        """An absolute URL from a path under the base URL (or an absolute next-page URL)."""
        if urlsplit(path).scheme in ("http", "https"):
            return path
        if not path:
            return self.base_url
        return urljoin(self.base_url.rstrip("/") + "/", path.lstrip("/"))

    def shown(self, text: str, limit: int) -> str:
        """Text from the API as a message may quote it: redacted first, then cut and inert,
        so no cut leaves part of a secret behind."""
        return inert(redact(text, self.secrets), limit)

    def request_json(
        self,
        url: str,
        params: dict[str, Any] | None = None,
        *,
        method: str = "GET",
        json_body: Any = None,
    ) -> tuple[Any, Reply]:
        """Send one request, retrying transient failures; return the parsed JSON and reply."""
        deadline = time.monotonic() + self._time_left(where(method, url))
        attempts = 0

        def attempt() -> tuple[Any, Reply]:
            nonlocal attempts
            attempts += 1
            return self._send(method, url, params or {}, json_body)

        try:
            return with_retries(attempt, self.retries, deadline)
        except TransientSourceError as error:
            suffix = f" (gave up after {attempts} attempts)" if attempts > 1 else ""
            raise SourceError(f"{error}{suffix}") from None

    def _send(
        self, method: str, url: str, params: dict[str, Any], json_body: Any
    ) -> tuple[Any, Reply]:
        request = where(method, url)
        log.debug("%s", request)
        reply = self._follow(request, method, url, params, json_body)
        self._check_status(request, reply)
        if not reply.complete:
            raise SourceError(
                f"{request}: response is larger than {self.max_response_mb:g} MB (max_response_mb)"
            )
        try:
            return json.loads(reply.body, parse_int=_integer), reply
        except ValueError:
            kind = self.shown(reply.headers.get("Content-Type", "no content type"), 60)
            start = self.shown(reply.body.decode("utf-8", "replace").strip(), 60)
            raise SourceError(f"{request}: response is not JSON ({kind}): {start!r}") from None

    def _check_status(self, request: str, reply: Reply) -> None:
        """Raise for an error status: transient (retried) for 5xx and rate limits."""
        status = f"HTTP {reply.status} {reply.reason}".rstrip()
        detail = self.shown(_error_detail(reply.body), DETAIL_LIMIT) if reply.status >= 400 else ""
        detail = f": {detail}" if detail else ""
        rate_limited = reply.status == 429 or (  # GitHub's primary and secondary limits
            reply.status == 403
            and (
                reply.headers.get("X-RateLimit-Remaining") == "0" or "Retry-After" in reply.headers
            )
        )
        if rate_limited:
            wait = _retry_after(reply)
            if wait is not None and wait > MAX_RETRY_AFTER_SECONDS:
                raise SourceError(f"{request}: rate limited ({status}) for {wait:.0f} s more")
            raise TransientSourceError(f"{request}: rate limited ({status}){detail}", wait)
        if reply.status >= 500:
            raise TransientSourceError(f"{request}: {status}{detail}")
        if reply.status >= 400:
            raise SourceError(f"{request}: {status}{detail}")
        if reply.status in REDIRECT_STATUSES:
            raise SourceError(f"{request}: {status} without a Location to follow")

    def _follow(
        self, request: str, method: str, url: str, params: dict[str, Any], json_body: Any
    ) -> Reply:
        """The request and its redirects, all within one deadline, each hop sent with the
        credentials of its own origin only."""
        seconds = min(self.timeout_seconds, self._time_left(request))
        until = time.monotonic() + seconds
        for _ in range(MAX_REDIRECTS + 1):
            headers, hop_params = self._credentials_for(url, params)
            try:
                reply = exchange(
                    self.session,
                    method,
                    url,
                    seconds=until - time.monotonic(),
                    max_bytes=math.floor(self.max_response_mb * 1_000_000),
                    headers=headers,
                    params=hop_params,
                    json_body=json_body,
                )
            except OutOfTime as cut:
                self._out_of_time(request, seconds, cut)
            except TransportError as failure:
                error = TransientSourceError if failure.transient else SourceError
                raise error(f"{request}: {self.shown(str(failure), DETAIL_LIMIT)}") from None
            location = reply.headers.get("Location")
            if reply.status not in REDIRECT_STATUSES or not location:
                return reply
            url, params = urljoin(reply.url, location), {}
            if reply.status == 303 or (reply.status in (301, 302) and method == "POST"):
                method, json_body = "GET", None  # as browsers and requests do
        raise SourceError(f"{request}: more than {MAX_REDIRECTS} redirects")

    def _credentials_for(
        self, url: str, params: dict[str, Any]
    ) -> tuple[dict[str, str], dict[str, Any]]:
        """The headers and query a request to `url` carries: credentials for our origin only."""
        if origin(url) != self.origin:
            return {}, params
        already = {name for name, _ in parse_qsl(urlsplit(url).query)}
        auth = {name: value for name, value in self.origin_params.items() if name not in already}
        return self.origin_headers, {**params, **auth}

    def _time_left(self, request: str) -> float:
        """Seconds before the source's deadline; once it passed, a SourceError saying so."""
        try:
            return self.remaining_seconds()
        except SourceError as passed:
            raise SourceError(f"{request}: {passed}") from None

    def _out_of_time(self, request: str, seconds: float, cut: OutOfTime) -> None:
        """Raise what cut the request: the source's deadline (final) or timeout_seconds."""
        if seconds < self.timeout_seconds:
            self._time_left(request)  # the source's deadline set the bound: it has passed
        done = "no complete response" if cut.connected else "no connection"
        raise TransientSourceError(f"{request}: {done} within {seconds:g} s") from None
