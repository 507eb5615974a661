"""`rag bench` end to end: a real build, the real model, a real `rag serve` on loopback; checks the JSON figures."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # the fixtures' types, from tests/integration/conftest.py
    from conftest import Workdir

pytestmark = pytest.mark.slow

REQUESTS = 20
CONCURRENCY = 4


def check_latencies(figures: dict[str, Any], n: int) -> None:
    assert figures["n"] == n, figures
    assert 0 < figures["p50"] <= figures["p95"] <= figures["p99"] <= figures["max"], figures
    assert figures["mean"] > 0, figures


def test_bench_prints_and_writes_every_figure(workdir: Workdir, repo_root: Path) -> None:
    workdir.corpus.mkdir()
    for name in sorted(p.name for p in (repo_root / "corpus").glob("*.txt"))[:2]:
        shutil.copy(repo_root / "corpus" / name, workdir.corpus / name)
    result = workdir.rag("bench", "--requests", str(REQUESTS), "--concurrency", str(CONCURRENCY), "--json", "out.json")
    assert result.returncode == 0, result.describe()
    for label in ("chunks/s", "p50", "/ask, 1 client", f"/ask, {CONCURRENCY} clients", "search, in process"):
        assert label in result.stdout, result.describe()
    assert "documents onnx int8" in result.stdout and "torch loaded: no" in result.stdout, result.describe()

    figures = json.loads((workdir.path / "out.json").read_text(encoding="utf-8"))
    assert figures["machine"]["cpu_count"] == os.cpu_count()
    cpu = figures["machine"]["cpu"]
    proc_flags = next(line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags"))
    assert ("avx2" in cpu["flags"]) == (" avx2" in proc_flags) and cpu["model"] and cpu["cores"] >= 1, cpu
    assert cpu["model"] in result.stdout, result.describe()
    # the index's vectors are int8 ONNX ones, so the server holds no torch
    assert figures["embedder"]["documents"]["backend"] == "onnx" and figures["embedder"]["documents"]["quantize"]
    assert figures["embedder"]["export"] and Path(figures["embedder"]["export"]).is_file()
    assert figures["server"]["torch_loaded"] is False and 50 < figures["server"]["rss_mb"] < 2000, figures["server"]
    assert figures["embedder"]["backend"] and figures["embedder"]["model"]
    assert figures["embedder"]["query_encoder"] == "OnnxEmbedder"  # the int8 question encoder, the default
    assert figures["timestamp"].startswith("20")
    # no ../shared/bench beside the temporary workdir: the built-in questions are used
    assert figures["questions"]["source"] == "built-in" and figures["questions"]["count"] >= 5

    build = figures["build"]
    assert build["documents"] == 2 and build["failed"] == 0
    assert build["chunks"] > 0 and build["characters"] > 1000
    assert build["seconds"] > 0 and build["chunks_per_s"] > 0 and build["characters_per_s"] > 0
    assert 0 < build["embed_seconds"] <= build["seconds"] and 0 < build["embed_share"] <= 1
    assert build["peak_rss_mb"] > 100  # torch and the model are in memory
    assert figures["index"]["size_bytes"] > 0

    check_latencies(figures["search"], REQUESTS)
    http = figures["http"]
    assert http["timed_out"] is False
    check_latencies(http["sequential"], REQUESTS)
    assert http["sequential"]["errors"] == 0
    concurrent = http["concurrent"]
    check_latencies(concurrent, REQUESTS)
    assert concurrent["errors"] == 0 and concurrent["concurrency"] == CONCURRENCY
    assert concurrent["rps"] > 0 and concurrent["seconds"] > 0
    server = figures["server"]
    assert server["ready_seconds"] > 0
    # the web UI is mounted once the pipeline is in: after /ready, never before (or None without the UI)
    assert server["ui_seconds"] is not None and server["ui_seconds"] >= server["ready_seconds"]


def test_bench_refuses_a_missing_corpus(workdir: Workdir) -> None:
    result = workdir.rag("bench", "--corpus", "nowhere", "--requests", "1")
    assert result.returncode == 1
    assert "nowhere does not exist" in result.stderr
