"""Secrets in project files: a warning for each one written into a file, and the set of
credentials every output of a run is redacted with."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from okr_pipeline.config.models import ProjectSettings
from okr_pipeline.config.problems import ConfigProblem
from okr_pipeline.config.reading import ENV_PLACEHOLDER

SECRET_FIELDS = ("token", "password", "value")  # of a source or of its `auth`
MIN_SECRET_LENGTH = 4  # shorter values (a port, a flag) would redact every digit of a message


def shown_secrets(secrets: set[str]) -> frozenset[str]:
    """The secrets worth redacting: long enough not to blank out ordinary digits."""
    return frozenset(secret for secret in secrets if len(secret) >= MIN_SECRET_LENGTH)


def literal_secrets(sources: dict, settings: ProjectSettings) -> set[str]:
    """Secrets written into the files themselves: URL passwords, tokens, webhook URLs."""
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
    found.update(notification.url for notification in settings.notify)
    return found


def secrets_written_in_file(raw: dict, file: str, root_item: str) -> list[ConfigProblem]:
    """Secrets come only from the environment (SPEC 1): a token, password or URL password
    written into a file of the repository is a warning of `check`."""
    places = [("", raw), ("auth.", raw.get("auth"))]
    problems = []
    for prefix, node in places:
        if not isinstance(node, dict):
            continue
        for name in SECRET_FIELDS:
            if prefix == "" and name == "value":
                continue
            value = node.get(name)
            if isinstance(value, str) and value and not ENV_PLACEHOLDER.search(value):
                problems.append(
                    ConfigProblem(file, root_item, prefix + name,
                                  "write secrets as ${ENV_VAR}, never into the file", "warning")
                )  # fmt: skip
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
