"""One HTTP exchange with hard bounds: a total deadline and a cap on the unpacked body.

requests and urllib3 time each socket operation, never a whole request: a server that sends
its status line, its headers or its body a byte at a time never trips a read timeout and
holds the caller for ever. So every exchange here has one deadline covering connect, status
line, headers and the whole body. A watchdog timer shuts the request's socket down when the
deadline passes, so a read blocked on a trickling server returns; the connection classes
installed in the session's pools hand their socket to the deadline of the request in flight
on their thread. The body is read as a stream and its unpacked size counted as it arrives:
urllib3 (2.6 and later) inflates at most the amount asked for per read, so a gzip bomb is
never unpacked past the cap.

Redirects are never followed here: the caller decides which credentials the next hop gets.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.poolmanager import pool_classes_by_scheme as DEFAULT_POOL_CLASSES

CHUNK_BYTES = 64 * 1024
_in_flight = threading.local()  # the deadline of the request this thread is sending


class TransportError(Exception):
    """No usable reply, in a few words (`cannot connect (connection refused)`)."""

    def __init__(self, reason: str, *, transient: bool):
        super().__init__(reason)
        self.transient = transient


class OutOfTime(TransportError):
    """The deadline passed before the whole reply was in (`connected`: after connecting)."""

    def __init__(self, *, connected: bool):
        super().__init__("out of time", transient=True)
        self.connected = connected


@dataclass(frozen=True)
class Reply:
    """A reply read whole, or up to the byte cap (`complete` False: the body went on)."""

    url: str
    status: int
    reason: str
    headers: CaseInsensitiveDict
    body: bytes
    complete: bool


class _Watchdog:
    """Shuts down the sockets of one request when its deadline passes."""

    def __init__(self, seconds: float):
        self.deadline = time.monotonic() + seconds
        self._connections: set[HTTPConnection] = set()
        self._fired = False
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(seconds, 0), self._fire)
        self._timer.daemon = True

    @property
    def passed(self) -> bool:
        return time.monotonic() >= self.deadline

    def guard(self, connection: HTTPConnection) -> None:
        with self._lock:
            self._connections.add(connection)
            if self._fired:
                _shut_down(connection)

    def _fire(self) -> None:
        with self._lock:
            self._fired = True
            for connection in self._connections:
                _shut_down(connection)

    def __enter__(self) -> _Watchdog:
        _in_flight.watchdog = self
        self._timer.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._timer.cancel()
        _in_flight.watchdog = None


def _shut_down(connection: HTTPConnection) -> None:
    """Unblock a read on the connection's socket (it returns end of file); the socket is
    read when the timer fires, so one still connecting is caught once it exists."""
    sock = connection.sock
    if sock is not None:
        with contextlib.suppress(OSError):  # already closed
            sock.shutdown(socket.SHUT_RDWR)


class _Guarded:
    """A urllib3 connection that puts its socket under the current request's watchdog, on
    connecting (the TLS handshake included) and on each request it carries (keep-alive)."""

    def _guard(self) -> None:
        watchdog = getattr(_in_flight, "watchdog", None)
        if watchdog is not None:
            watchdog.guard(self)  # type: ignore[arg-type]

    def connect(self) -> None:
        self._guard()
        super().connect()  # type: ignore[misc]

    def request(self, *args: Any, **kwargs: Any) -> None:
        self._guard()
        super().request(*args, **kwargs)  # type: ignore[misc]


class _GuardedHTTPConnection(_Guarded, HTTPConnection):
    pass


class _GuardedHTTPSConnection(_Guarded, HTTPSConnection):
    pass


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


GUARDED_POOLS = {"http": _GuardedHTTPPool, "https": _GuardedHTTPSPool}


class _GuardedAdapter(HTTPAdapter):
    """Installs the guarded pools, also behind an HTTP proxy (a SOCKS proxy keeps its own)."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = GUARDED_POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any):
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if manager.pool_classes_by_scheme is DEFAULT_POOL_CLASSES:
            manager.pool_classes_by_scheme = GUARDED_POOLS
        return manager


def bounded_session() -> requests.Session:
    """A session whose requests `exchange` can cut at their deadline."""
    session = requests.Session()
    adapter = _GuardedAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def exchange(
    session: requests.Session,
    method: str,
    url: str,
    *,
    seconds: float,
    max_bytes: int,
    headers: dict[str, str] | None = None,
    params: dict[str, Any] | None = None,
    json_body: Any = None,
) -> Reply:
    """Send one request and read its reply within `seconds`, keeping at most `max_bytes`
    of the unpacked body. Raises OutOfTime, or TransportError when there is no reply."""
    if seconds <= 0:  # spent on the redirects before this one
        raise OutOfTime(connected=True)
    with _Watchdog(seconds) as watchdog:
        try:
            response = session.request(
                method,
                url,
                params=params,
                json=json_body,
                headers=headers,
                timeout=(seconds, seconds),
                stream=True,
                allow_redirects=False,
            )
            with response:
                body, complete = _read_body(response, watchdog, max_bytes)
        except requests.exceptions.ConnectTimeout:
            raise OutOfTime(connected=False) from None
        except requests.exceptions.RequestException as error:
            if watchdog.passed or isinstance(error, requests.exceptions.Timeout):
                raise OutOfTime(connected=True) from None
            raise _failure(error) from None
        if watchdog.passed:  # a reply cut short by the watchdog can look whole: refuse it
            raise OutOfTime(connected=True)
    reason = response.reason or ""
    return Reply(response.url, response.status_code, reason, response.headers, body, complete)


def _read_body(
    response: requests.Response, watchdog: _Watchdog, max_bytes: int
) -> tuple[bytes, bool]:
    body = bytearray()
    for chunk in response.iter_content(CHUNK_BYTES):
        body += chunk
        if len(body) > max_bytes:
            del body[max_bytes:]
            return bytes(body), False
        if watchdog.passed:
            raise OutOfTime(connected=True)
    return bytes(body), True


def _failure(error: requests.exceptions.RequestException) -> TransportError:
    if isinstance(error, requests.exceptions.ContentDecodingError):
        return TransportError("response body cannot be unpacked", transient=False)
    if isinstance(error, requests.exceptions.ChunkedEncodingError):
        return TransportError("connection closed in the middle of the response", transient=True)
    if isinstance(error, requests.exceptions.ConnectionError):
        return TransportError(f"cannot connect ({_connection_reason(error)})", transient=True)
    return TransportError(type(error).__name__, transient=False)


def _connection_reason(error: requests.exceptions.ConnectionError) -> str:
    """`connection refused`, not urllib3's repr of the pool, which repeats the full URL."""
    match = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)", str(error))
    if match:
        return match[1].strip().lower()
    if "RemoteDisconnected" in str(error) or "Connection aborted" in str(error):
        return "connection closed by the server"
    return type(error).__name__
