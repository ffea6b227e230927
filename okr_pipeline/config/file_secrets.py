"""Secrets in project files: a warning for each one written into a file, and the set of
credentials every output of a run is redacted with."""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from okr_pipeline.config.models import BasicAuth, JiraSource, ProjectSettings
from okr_pipeline.config.problems import ConfigProblem
from okr_pipeline.config.reading import ENV_PLACEHOLDER
from okr_pipeline.secrets import basic_credentials

SECRET_FIELDS = ("token", "password", "value")  # of a source's `auth`
# A header is a credential when its name says so: Authorization, Cookie, X-Api-Key,
# X-Auth-Token, X-Session-Id, Proxy-Authorization, X-Client-Secret, ...
SECRET_HEADER = re.compile(r"auth|cookie|token|key|secret|passw|session|credential", re.I)
MIN_SECRET_LENGTH = 4  # shorter values (a port, a flag) would redact every digit of a message


def shown_secrets(secrets: set[str]) -> frozenset[str]:
    """The secrets worth redacting: long enough not to blank out ordinary digits."""
    return frozenset(secret for secret in secrets if len(secret) >= MIN_SECRET_LENGTH)


def credentials(sources: dict, settings: ProjectSettings) -> set[str]:
    """Every credential a run sends, in each form it is sent: URL passwords, tokens, auth
    values, secret headers, the base64 of basic auth, webhook URLs. A value from ${ENV} is a
    secret already; what is derived from it (the base64 of `user:password`) is not."""
    found: set[str] = set()
    for source in sources.values():
        for name in ("url", "base_url"):
            try:
                password = urlsplit(getattr(source, name, None) or "").password
            except ValueError:
                password = None
            if password:
                found.add(unquote(password))
        auth = getattr(source, "auth", None)
        for value in (
            getattr(source, "token", None),
            getattr(auth, "token", None),
            getattr(auth, "password", None),
            getattr(auth, "value", None),
        ):
            if value:
                found.add(value)
        if isinstance(auth, BasicAuth):
            found.add(basic_credentials(auth.username, auth.password))
        if isinstance(source, JiraSource):  # basic auth with the account's API token
            found.add(basic_credentials(source.username, source.token))
        for name, value in (getattr(source, "headers", None) or {}).items():
            if SECRET_HEADER.search(name):
                found.update(_header_secrets(value))
    found.update(notification.url for notification in settings.notify)
    return found


def _header_secrets(value: str) -> set[str]:
    """A header's value, and its credential alone when a scheme precedes it (`Bearer x`)."""
    scheme, _, credential = value.partition(" ")
    return {value, credential.strip()} if scheme.isalpha() and credential.strip() else {value}


def secrets_written_in_file(raw: dict, file: str, root_item: str) -> list[ConfigProblem]:
    """Secrets come only from the environment: a token, password, secret header or URL
    password written into a file of the repository is a warning of `check`."""
    problems = [
        ConfigProblem(file, root_item, field, "write secrets as ${ENV_VAR}, never into the file",
                      "warning")
        for field, value in _secret_places(raw)
        if isinstance(value, str) and value and not ENV_PLACEHOLDER.search(value)
    ]  # fmt: skip
    for name in ("url", "base_url"):
        value = raw.get(name)
        if isinstance(value, str) and not ENV_PLACEHOLDER.search(value):
            try:
                password = urlsplit(value).password
            except ValueError:
                password = None
            if password:
                problems.append(
                    ConfigProblem(file, root_item, name,
                                  "holds a password: put the URL in an environment variable",
                                  "warning")
                )  # fmt: skip
    return problems


def _secret_places(raw: dict) -> list[tuple[str, object]]:
    """(field, value as written) of every place of a source file that holds a credential."""
    places: list[tuple[str, object]] = [(name, raw.get(name)) for name in ("token", "password")]
    auth = raw.get("auth")
    if isinstance(auth, dict):
        places += [(f"auth.{name}", auth.get(name)) for name in SECRET_FIELDS]
    headers = raw.get("headers")
    if isinstance(headers, dict):
        places += [
            (f"headers.{name}", value)
            for name, value in headers.items()
            if isinstance(name, str) and SECRET_HEADER.search(name)
        ]
    return places
