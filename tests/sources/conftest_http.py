"""Helpers of the HTTP source tests: a project written as YAML, a window, a fetch, and a
loopback server that misbehaves at the byte level.

Every test goes through `load_project`, so the YAML a user would write is what is tested.
"""

from __future__ import annotations

import json
import re
import socket
import textwrap
import threading
import time
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from okr_pipeline.config import load_project
from okr_pipeline.sources import FetchWindow, SourceFetch, connector_for

TODAY = date(2026, 11, 20)
OKRS = """\
cycle: {id: 2026-Q4, start: 2026-10-01, end: 2026-12-31}
themes: [t]
objectives:
  - id: o
    title: O
    owner: a@example.com
    theme: t
    key_results:
      - {id: k, title: K, owner: a@example.com, metric: manual, type: increase, target: 1}
"""


def write_project(root: Path, *sources: str, settings: str | None = None) -> Path:
    """A project directory with the given metric source files (YAML text, dedented)."""
    (root / "metric_sources").mkdir(parents=True, exist_ok=True)
    (root / "okrs").mkdir(exist_ok=True)
    (root / "okrs" / "2026-q4.yaml").write_text(OKRS)
    for number, text in enumerate(sources):
        (root / "metric_sources" / f"source_{number}.yaml").write_text(textwrap.dedent(text))
    if settings is not None:
        (root / "okr_project.yaml").write_text(textwrap.dedent(settings))
    return root


def window(start: date, end: date, as_of: date | None = None, today: date = TODAY) -> FetchWindow:
    """Days start..end-1; the as-of date defaults to the last day of the window."""
    return FetchWindow(
        start=start, end=end, as_of=as_of or date.fromordinal(end.toordinal() - 1), today=today
    )


def fetch(root: Path, source: str, fetch_window: FetchWindow) -> SourceFetch:
    project = load_project(root)
    return connector_for(project.sources[source], project).fetch(fetch_window)


def values(result: SourceFetch, metric: str) -> dict[str, float]:
    """{ISO day: value} of one metric of a fetch; fails with the error when it has one."""
    (found,) = [m for m in result.metrics if m.metric_id.endswith(f".{metric}")]
    assert found.series is not None, found.error or found.skipped
    return {
        ts.date().isoformat(): value
        for ts, value in zip(found.series["ts"], found.series["value"], strict=True)
    }


def error(result: SourceFetch, metric: str) -> str:
    (found,) = [m for m in result.metrics if m.metric_id.endswith(f".{metric}")]
    assert found.error is not None, f"expected an error, got {found.series}"
    return found.error


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# ---------------------------------------------------------------- a server that misbehaves

Answer = Callable[[socket.socket, str], None]


class RawServer:
    """A loopback HTTP server that misbehaves at the byte level, used as a context manager.
    For each connection it reads one request (head and body), records it, and calls
    `answer(connection, path)`, which writes whatever it likes; a client hanging up ends
    the answer quietly."""

    def __init__(self, answer: Answer):
        self.answer = answer
        self.requests: list[bytes] = []  # each request's head and body, as received
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self._serve, daemon=True).start()

    def paths(self) -> list[str]:
        return [request.split(b" ")[1].decode() for request in self.requests]

    def __enter__(self) -> RawServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.listener.close()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:  # closed
                return
            threading.Thread(target=self._handle, args=(connection,), daemon=True).start()

    def _handle(self, connection: socket.socket) -> None:
        with connection:
            try:
                request = self._read_request(connection)
                self.requests.append(request)
                path = request.split(b" ")[1].decode()
                self.answer(connection, urlsplit(path).path)
            except OSError:
                pass  # the client hung up, as a client of a hostile server should

    @staticmethod
    def _read_request(connection: socket.socket) -> bytes:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = connection.recv(65536)
            if not chunk:
                raise ConnectionResetError("no request")
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
        while length and len(body) < int(length[1]):
            body += connection.recv(65536)
        return head + b"\r\n\r\n" + body


def send_json(
    connection: socket.socket,
    payload: Any,
    status: str = "200 OK",
    headers: dict[str, str] | None = None,
) -> None:
    """A whole, well-formed JSON reply (json.dumps writes NaN and Infinity as literals)."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    lines = {"Content-Type": "application/json", "Content-Length": str(len(body))}
    head = "".join(f"{name}: {value}\r\n" for name, value in {**lines, **(headers or {})}.items())
    connection.sendall(f"HTTP/1.1 {status}\r\n{head}Connection: close\r\n\r\n".encode() + body)


def drip(connection: socket.socket, data: Iterable[int], every: float = 0.1) -> None:
    """Send one byte at a time, `every` seconds apart."""
    for byte in data:
        connection.sendall(bytes([byte]))
        time.sleep(every)
