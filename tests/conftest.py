"""Shared test setup: nothing may download, so the Hugging Face libraries are put offline before any import."""

from __future__ import annotations

import os

# Set before anything below is imported (ruff allows imports after os.environ changes).
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
# The shared benchmark data sits next to the checkout, never inside it (see shared/bench/README.md).
BENCH_DIR = REPO_ROOT.parent / "shared" / "bench"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository checkout (holds `corpus/`, `tests/fixtures/`, `pyproject.toml`)."""
    return REPO_ROOT


@pytest.fixture(scope="session")
def bench_dir() -> Path:
    """`../shared/bench` (relative to the repository root). Absent, the test is skipped, except under CI
    (the ``CI`` environment variable set), where it fails: CI must never silently skip the benchmark checks."""
    if not BENCH_DIR.is_dir():
        message = f"benchmark data not found at {BENCH_DIR}"
        if "CI" in os.environ:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return BENCH_DIR
