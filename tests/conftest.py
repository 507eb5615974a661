"""Shared test setup: nothing may download, so the Hugging Face libraries are put offline before any import."""

from __future__ import annotations

import os

# Set before anything below is imported (ruff allows imports after os.environ changes).
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from rag.pipeline import Pipeline

REPO_ROOT = Path(__file__).resolve().parents[1]
# The shared benchmark data sits next to the checkout, never inside it (see shared/bench/README.md).
BENCH_DIR = REPO_ROOT.parent / "shared" / "bench"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository checkout (holds `corpus/`, `tests/fixtures/`, `pyproject.toml`)."""
    return REPO_ROOT


@pytest.fixture
def quick_pipeline(tmp_path: Path) -> Callable[..., Pipeline]:
    """``quick_pipeline(corpus, **loaders)``: ``corpus`` indexed in ``tmp_path/index`` with the hashing embedder
    and no learned reader (fast, for tests of what the loaders and the answer step do), and its pipeline;
    ``loaders`` override ``RAG_LOADERS__*`` settings."""

    def make(corpus: Path, **loaders: Any) -> Pipeline:
        from rag.indexing import build_index
        from rag.pipeline import build_pipeline
        from rag.settings import Settings

        settings = Settings()
        settings.embedder.backend = "hashing"
        settings.reader.enabled = False
        settings.index.dir = tmp_path / "index"
        settings.index.corpus = [corpus]
        settings.loaders = settings.loaders.model_copy(update=loaders)
        build_index(settings, progress=False)
        return build_pipeline(settings)

    return make


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
