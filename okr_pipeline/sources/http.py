"""The one HTTP client of every API source: auth, timeouts, retries and secret-free errors.

`rest` and its presets (prometheus, github, jira, targetprocess) send every request through
`HttpClient.request_json`, so a timeout, a retry policy or a redaction rule is written once.
Failures become `SourceError`s whose messages name the method, host and path, never the query
string (a query-auth token lives there) and never a header.
"""

from __future__ import annotations

import logging
import re
import time
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit

import requests

from okr_pipeline.config.models import BasicAuth, BearerAuth, HeaderAuth, QueryAuth
from okr_pipeline.secrets import redact
from okr_pipeline.sources.base import SourceError, TransientSourceError, with_retries

log = logging.getLogger(__name__)
# Longer waits than this are not worth holding a run for: the source is recorded as failed.
MAX_RETRY_AFTER_SECONDS = 60.0
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
    """The values of an auth config that must never be shown."""
    if isinstance(auth, BearerAuth):
        values = {auth.token}
    elif isinstance(auth, BasicAuth):
        values = {auth.password}
    elif isinstance(auth, HeaderAuth | QueryAuth):
        values = {auth.value}
    else:
        values = set()
    return frozenset(value for value in values if value)


def where(method: str, url: str) -> str:
    """A request as messages show it: method, host and path; no credentials, no query."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"{method} {host}{parts.path or '/'}"


def _retry_after(response: requests.Response) -> float | None:
    """Seconds to wait, from Retry-After (seconds or an HTTP date) or GitHub's rate-limit reset."""
    header = response.headers.get("Retry-After")
    if header:
        if header.strip().isdigit():
            return float(header)
        try:
            return max(0.0, parsedate_to_datetime(header).timestamp() - time.time())
        except (TypeError, ValueError):
            return None
    reset = response.headers.get("X-RateLimit-Reset")
    if reset and reset.isdigit():
        return max(0.0, float(reset) - time.time())
    return None


def _error_detail(response: requests.Response) -> str:
    """The API's own short explanation of an error, from the JSON error shapes we know."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    for key in ("error", "message", "Message", "errorMessage"):
        if isinstance(body.get(key), str):
            return body[key]
    messages = body.get("errorMessages")  # Jira
    if isinstance(messages, list) and messages:
        return "; ".join(str(message) for message in messages)
    return ""


def _connection_reason(error: requests.exceptions.ConnectionError) -> str:
    """`connection refused`, not urllib3's repr of the pool, which repeats the full URL."""
    match = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)", str(error))
    if match:
        return match[1].strip().lower()
    if "RemoteDisconnected" in str(error) or "Connection aborted" in str(error):
        return "connection closed by the server"
    return type(error).__name__


class HttpClient:
    """A session for one source: base URL, auth, default headers, timeout and retries.

    Use it as a context manager, one per metric fetch, so pages of one metric share a
    keep-alive connection and nothing outlives the fetch.
    """

    def __init__(
        self,
        base_url: str,
        *,
        auth: Any = None,
        headers: dict[str, str] | None = None,
        timeout_seconds: float = 30,
        retries: int = 2,
        secrets: frozenset[str] = frozenset(),
    ):
        self.base_url = base_url
        self.timeout_seconds = timeout_seconds
        self.retries = retries
        self.secrets = frozenset(secrets) | auth_secrets(auth)
        self.auth_params: dict[str, str] = {}
        self.session = requests.Session()
        self.session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
        self.session.headers.update(headers or {})
        if isinstance(auth, BearerAuth):
            self.session.headers["Authorization"] = f"Bearer {auth.token}"
        elif isinstance(auth, BasicAuth):
            self.session.auth = (auth.username, auth.password)
        elif isinstance(auth, HeaderAuth):
            self.session.headers[auth.name] = auth.value
        elif isinstance(auth, QueryAuth):
            self.auth_params[auth.name] = auth.value
        _URLLIB3_FILTER.add(self.secrets)

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.session.close()

    def url_for(self, path: str) -> str:
        """An absolute URL from a path under the base URL (or an absolute next-page URL)."""
        if urlsplit(path).scheme in ("http", "https"):
            return path
        if not path:
            return self.base_url
        return urljoin(self.base_url.rstrip("/") + "/", path.lstrip("/"))

    def request_json(
        self,
        url: str,
        params: dict[str, Any] | None = None,
        *,
        method: str = "GET",
        json_body: Any = None,
    ) -> tuple[Any, requests.Response]:
        """Send one request, retrying transient failures; return the parsed JSON and response."""
        try:
            return with_retries(
                lambda: self._send(method, url, params or {}, json_body), self.retries
            )
        except TransientSourceError as error:
            attempts = self.retries + 1
            suffix = f" (gave up after {attempts} attempts)" if attempts > 1 else ""
            raise SourceError(f"{error}{suffix}") from None

    def _send(
        self, method: str, url: str, params: dict[str, Any], json_body: Any
    ) -> tuple[Any, requests.Response]:
        request = where(method, url)
        already = {name for name, _ in parse_qsl(urlsplit(url).query)}
        params = {**params, **{k: v for k, v in self.auth_params.items() if k not in already}}
        seconds = f"{self.timeout_seconds:g} s"
        log.debug("%s", request)
        try:
            response = self.session.request(
                method, url, params=params, json=json_body, timeout=self.timeout_seconds
            )
        except requests.exceptions.ConnectTimeout:
            raise TransientSourceError(f"{request}: no connection within {seconds}") from None
        except requests.exceptions.ReadTimeout:
            raise TransientSourceError(f"{request}: no response within {seconds}") from None
        except requests.exceptions.ConnectionError as error:
            reason = self._clean(_connection_reason(error))
            raise TransientSourceError(f"{request}: cannot connect ({reason})") from None
        except requests.exceptions.RequestException as error:
            raise SourceError(f"{request}: {type(error).__name__}") from None
        status = f"HTTP {response.status_code} {response.reason or ''}".rstrip()
        detail = self._clean(_error_detail(response)) if response.status_code >= 400 else ""
        detail = f": {detail[:200]}" if detail else ""
        rate_limited = response.status_code == 429 or (  # GitHub's primary and secondary limits
            response.status_code == 403
            and (
                response.headers.get("X-RateLimit-Remaining") == "0"
                or "Retry-After" in response.headers
            )
        )
        if rate_limited:
            wait = _retry_after(response)
            if wait is not None and wait > MAX_RETRY_AFTER_SECONDS:
                raise SourceError(f"{request}: rate limited ({status}) for {wait:.0f} s more")
            raise TransientSourceError(f"{request}: rate limited ({status}){detail}", wait)
        if response.status_code >= 500:
            raise TransientSourceError(f"{request}: {status}{detail}")
        if response.status_code >= 400:
            raise SourceError(f"{request}: {status}{detail}")
        try:
            return response.json(), response
        except ValueError:
            kind = response.headers.get("Content-Type", "no content type")
            start = self._clean(response.text[:60].strip())
            raise SourceError(f"{request}: response is not JSON ({kind}): {start!r}") from None

    def _clean(self, text: str) -> str:
        return redact(text, self.secrets)
