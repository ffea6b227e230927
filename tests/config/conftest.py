"""A small valid project that each test copies into tmp_path and then breaks in one place."""

from __future__ import annotations

from pathlib import Path

import pytest

from .project_files import VALID_FILES, write_files

EVENTS_TOKEN = "abcd1234"


@pytest.fixture
def project_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the valid project; tests break one file of it. Its REST token comes from
    the environment."""
    monkeypatch.setenv("OKR_TEST_EVENTS_TOKEN", EVENTS_TOKEN)
    return write_files(tmp_path / "project", VALID_FILES)
