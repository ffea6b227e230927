"""A small valid project that each test copies into tmp_path and then breaks in one place."""

from __future__ import annotations

from pathlib import Path

import pytest

from .project_files import VALID_FILES, write_files


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    """A copy of the valid project; tests break one file of it."""
    return write_files(tmp_path / "project", VALID_FILES)
