"""Shared test setup: nothing may download, so the Hugging Face libraries are put offline before any import."""

from __future__ import annotations

import os

# Set before anything below is imported (ruff allows imports after os.environ changes).
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository checkout (holds `corpus/`, `tests/fixtures/`, `pyproject.toml`)."""
    return REPO_ROOT
