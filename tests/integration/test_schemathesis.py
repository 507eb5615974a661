"""Schemathesis against the live OpenAPI schema of a real `rag serve` (a copy of the seed index, UI mounted),
with and without the API key, all phases (examples, coverage, fuzzing, stateful): no 5xx, and every response
conforms to the schema (status codes, content types, bodies). Bounded examples keep it to well under 2 minutes.

Two checks are left out, for reasons the schema cannot express: `positive_data_acceptance` (uploads are
checked for file types and sizes, a chat needs a user message), and `allow_header_conformance` (Starlette's 405
lists the methods of the first route of a path only)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # the fixtures' types, from tests/integration/conftest.py
    from conftest import Server

pytestmark = pytest.mark.slow

KEY = "fuzz-key"
ST = Path(sys.executable).with_name("st")
EXAMPLES = 15  # per operation and phase: ~500 requests per run


@pytest.fixture(scope="module")
def server(seed_server: Callable[..., Any]) -> Iterator[Server]:
    with seed_server("fuzz", {"RAG_API__KEY": KEY, "GRADIO_ANALYTICS_ENABLED": "False"}) as srv:
        yield srv


@pytest.mark.parametrize("with_key", [True, False], ids=["with-key", "without-key"])
def test_no_server_error_and_no_schema_violation(server: Server, tmp_path: Path, with_key: bool) -> None:
    assert ST.is_file(), f"no `st` at {ST}: install the dev extra (`pip install -e '.[dev]'`)"
    command = [
        str(ST),
        "run",
        f"{server.url}/openapi.json",
        "--checks",
        "all",
        "--exclude-checks",
        "positive_data_acceptance,allow_header_conformance",
        "--max-examples",
        str(EXAMPLES),
        "--seed",
        "1",
        "--report",
        "junit",
        "--report-dir",
        str(tmp_path),
    ]
    if with_key:
        command += ["--header", f"Authorization: Bearer {KEY}"]
    # In tmp_path: Schemathesis keeps a cache folder in its working directory.
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)
    summary = result.stdout[-6000:]
    assert result.returncode == 0, f"{summary}\n{result.stderr[-2000:]}\n{server.describe()}"
    assert "generated" in summary and "passed" in summary, summary
    with server.client() as http:
        assert http.get("/health").status_code == 200
