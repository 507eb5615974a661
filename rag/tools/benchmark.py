"""Benchmark figures: index build throughput, in-process search latency, `/ask` latency and throughput over HTTP."""

from __future__ import annotations

import csv
import datetime as dt
import http.client
import itertools
import json
import os
import platform
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.backends.onnx_embedder import export_folder, read_fidelity
from rag.errors import ConfigError
from rag.factories import create_embedder, create_reader
from rag.index import store
from rag.index.manifest import Manifest
from rag.indexing import build_index
from rag.machine import cpu_info
from rag.pipeline import build_pipeline
from rag.settings import Settings
from rag.tools.batch import read_question_lines
from rag.tools.evaluation import percentiles
from rag.tools.server import running_server

if TYPE_CHECKING:
    from rag.pipeline import Pipeline
    from rag.protocols import Reader

DEFAULT_QUESTIONS_FILE = Path("../shared/bench/seeds_dev.tsv")
# Used when no question file is given and the shared seed questions are not there: about the seed corpus.
BUILTIN_QUESTIONS = [
    "恒口示范区新建标准化厂房多少平方米？",
    "恒口示范区选派了多少名专职工作队队员？",
    "恒口示范区建立了14个内设部门政务服务目录，共多少项？",
    "2017年1-8月衡水140项省市重点项目完成投资多少？",
    "海陵区如何建强中心城区？",
    "安康如何以高质量产业项目建设保障产业振兴？",
    "恒口示范区全面深化改革取得了哪些成效？",
    "衡水如何凝心聚力走好发展新路？",
    "安康2021年新开工产业项目多少个？",
    "海陵区2021年地区生产总值是多少？",
]
REQUEST_TIMEOUT_S = 60.0
WARMUP = 5


def load_bench_questions(path: Path | None) -> tuple[list[str], str]:
    """Questions from a TSV (a ``question`` column) or JSONL (``{"question": …}`` lines), and where they came from.

    Without ``path``: the shared seed questions when present, else a built-in list about the seed corpus.
    """
    if path is None:
        if not DEFAULT_QUESTIONS_FILE.is_file():
            return list(BUILTIN_QUESTIONS), "built-in"
        path = DEFAULT_QUESTIONS_FILE
    if not path.is_file():
        raise ConfigError(f"question file {path} not found; give a .tsv with a `question` column or a .jsonl")
    with open(path, encoding="utf-8") as fh:
        if path.suffix == ".tsv":
            reader = csv.DictReader(fh, delimiter="\t")
            if "question" not in (reader.fieldnames or []):
                raise ConfigError(f"{path} has no `question` column")
            questions = [row["question"].strip() for row in reader if (row["question"] or "").strip()]
        else:
            items, bad = read_question_lines(path)
            if bad:
                raise ConfigError(f"{path} line {bad[0][0]}: {bad[0][1]}")
            questions = [item["question"] for _, item in items]
    if not questions:
        raise ConfigError(f"{path} holds no questions")
    return questions, str(path)


def dir_size(path: Path) -> int:
    """Bytes of the files under ``path``."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def latency_figures(ms: Sequence[float]) -> dict[str, Any]:
    """Count, p50/p95/p99, mean and max of latencies in milliseconds."""
    if not ms:
        return {"n": 0}
    return {"n": len(ms), **percentiles(ms), "mean": round(sum(ms) / len(ms), 2), "max": round(max(ms), 2)}


def bench_search(pipeline: Pipeline, questions: Sequence[str], *, requests: int) -> dict[str, Any]:
    """In-process `Pipeline.search` latency over ``requests`` questions (cycled), after a warm-up."""
    for q in questions[:WARMUP]:
        pipeline.search(q)
    ms = []
    for q in itertools.islice(itertools.cycle(questions), requests):
        t0 = time.perf_counter()
        pipeline.search(q)
        ms.append((time.perf_counter() - t0) * 1000)
    return latency_figures(ms)


class AskConnection:
    """One keep-alive connection that posts questions to `/ask`. The standard library's client: the load
    generator shares the server's cores, and httpx's client costs about 2.8 ms of CPU a request here against
    0.3 ms for this one (BENCHMARKS.md), time the server would otherwise have had."""

    def __init__(self, url: str) -> None:
        parts = urllib.parse.urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self._conn: http.client.HTTPConnection | None = None

    def ask(self, question: str) -> tuple[float, bool]:
        """One `/ask`: (milliseconds, succeeded); a failed connection is opened again for the next."""
        body = json.dumps({"question": question}, ensure_ascii=False).encode("utf-8")
        t0 = time.perf_counter()
        try:
            if self._conn is None:
                self._conn = http.client.HTTPConnection(self.host, self.port, timeout=REQUEST_TIMEOUT_S)
            self._conn.request("POST", "/ask", body=body, headers={"Content-Type": "application/json"})
            response = self._conn.getresponse()
            response.read()
            ok = response.status == 200
        except (OSError, http.client.HTTPException):
            self.close()
            ok = False
        return (time.perf_counter() - t0) * 1000, ok

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _cpu_seconds() -> float:
    """CPU time of this process so far (the load generator's threads, during an HTTP phase)."""
    import psutil

    times = psutil.Process().cpu_times()
    return float(times.user + times.system)


def bench_http_sequential(url: str, questions: Sequence[str], *, requests: int, deadline: float) -> dict[str, Any]:
    """One client asking one question after another (stops early at ``deadline``, a ``time.monotonic`` value)."""
    ms: list[float] = []
    errors = 0
    client = AskConnection(url)
    try:
        for q in questions[:WARMUP]:
            client.ask(q)
        cpu = _cpu_seconds()
        for q in itertools.islice(itertools.cycle(questions), requests):
            if time.monotonic() > deadline:
                break
            elapsed, ok = client.ask(q)
            ms.append(elapsed)
            errors += not ok
        cpu = _cpu_seconds() - cpu
    finally:
        client.close()
    return {
        **latency_figures(ms),
        "errors": errors,
        "requested": requests,
        "client_cpu_ms_per_request": _per_request(cpu, len(ms)),
    }


def bench_http_concurrent(
    url: str, questions: Sequence[str], *, requests: int, concurrency: int, deadline: float
) -> dict[str, Any]:
    """``concurrency`` client threads, a connection each, sharing ``requests`` `/ask` calls: latency, requests
    per second, errors."""
    ms: list[float] = []
    errors = 0
    lock = threading.Lock()
    todo = iter(itertools.islice(itertools.cycle(questions), requests))

    def worker() -> None:
        nonlocal errors
        client = AskConnection(url)
        try:
            while time.monotonic() < deadline:
                with lock:
                    q = next(todo, None)
                if q is None:
                    return
                elapsed, ok = client.ask(q)
                with lock:
                    ms.append(elapsed)
                    errors += not ok
        finally:
            client.close()

    cpu = _cpu_seconds()
    t0 = time.perf_counter()
    with ThreadPoolExecutor(concurrency, thread_name_prefix="bench-client") as pool:
        for future in [pool.submit(worker) for _ in range(concurrency)]:
            future.result()
    wall = time.perf_counter() - t0
    cpu = _cpu_seconds() - cpu
    return {
        **latency_figures(ms),
        "errors": errors,
        "requested": requests,
        "concurrency": concurrency,
        "seconds": round(wall, 3),
        "rps": round(len(ms) / wall, 2) if wall > 0 else 0.0,
        "client_cpu_ms_per_request": _per_request(cpu, len(ms)),
    }


def _per_request(seconds: float, requests: int) -> float:
    return round(1000 * seconds / requests, 3) if requests else 0.0


def _machine() -> dict[str, Any]:
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "cpu": cpu_info(),  # model, the speed flags (AVX2, VNNI, BF16, AMX) and the cores this process may use
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_average_1m_at_start": round(load[0], 2) if load else None,
    }


def bench_reader(
    pipeline: Pipeline, reader: Reader, questions: Sequence[str], *, requests: int, passages: int = 5
) -> dict[str, Any]:
    """The learned reader alone: one `read` of each question's top ``passages`` retrieved chunks (cycled)."""
    read_sets = [(q, [h.chunk.text for h in pipeline.search(q, top_k=passages).hits]) for q in questions]
    for q, texts in read_sets[:WARMUP]:
        reader.read(q, texts)
    ms = []
    for q, texts in itertools.islice(itertools.cycle(read_sets), requests):
        t0 = time.perf_counter()
        reader.read(q, texts)
        ms.append((time.perf_counter() - t0) * 1000)
    chars = [sum(map(len, texts)) for _, texts in read_sets]
    return {**latency_figures(ms), "passages": passages, "mean_characters": round(sum(chars) / max(1, len(chars)), 1)}


def build_figures(report: Any, corpus: Sequence[Path]) -> dict[str, Any]:
    """The build phase's figures from a ``BuildReport``."""
    return {
        "corpus": [str(p) for p in corpus],
        "documents": report.documents,
        "chunks": report.chunks,
        "characters": report.characters,
        "failed": len(report.failed),
        "seconds": round(report.seconds, 3),
        "embed_seconds": round(report.embed_seconds, 3),
        "chunks_per_s": round(report.chunks / report.seconds, 2) if report.seconds else 0.0,
        "characters_per_s": round(report.characters / report.seconds, 1) if report.seconds else 0.0,
        "embed_share": round(report.embed_seconds / report.seconds, 3) if report.seconds else 0.0,
        "peak_rss_mb": round(report.peak_rss_mb, 1),
    }


def run_benchmark(
    settings: Settings,
    *,
    corpus: Sequence[Path],
    questions_file: Path | None = None,
    requests: int = 200,
    concurrency: int = 16,
    skip_build: bool = False,
    time_limit: float = 600.0,
    workers: int = 1,
    on_event: Callable[[str], None] = lambda _msg: None,
) -> dict[str, Any]:
    """All the figures: build (into a temporary index unless ``skip_build``), search, `/ask` over a real server.

    HTTP phases stop taking new requests once ``time_limit`` seconds have passed since the server was ready.
    """
    questions, questions_source = load_bench_questions(questions_file)
    for root in [] if skip_build else corpus:
        if not root.exists():
            raise ConfigError(f"corpus path {root} does not exist")
    cfg = settings.embedder
    # The int8 export's folder (one hash of the model's weights), when an onnx path is in use.
    folder = (
        export_folder(cfg.model, cfg.cache_dir, quantize=cfg.quantize)
        if "onnx" in (cfg.backend, cfg.query_backend)
        else None
    )
    figures: dict[str, Any] = {
        "timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": _machine(),
        "embedder": {
            "backend": cfg.backend,
            "model": cfg.model,
            # whether the int8 export was already in the cache (else this run's build or start exported it)
            "export_cached_at_start": folder is not None and (folder / "model.onnx").is_file(),
        },
        "questions": {"source": questions_source, "count": len(questions)},
        "requests": requests,
    }
    with tempfile.TemporaryDirectory(prefix="rag-bench-") as tmp:
        embedder = create_embedder(settings.embedder)  # loaded once, for the build and the in-process search
        if skip_build:
            index_dir = Path(settings.index.dir)
            figures["build"] = None
        else:
            index_dir = Path(tmp) / "index"
            on_event(f"building {', '.join(map(str, corpus))} into a temporary index")
            report = build_index(
                settings, corpus=corpus, index_dir=index_dir, rebuild=True, embedder=embedder, progress=False
            )
            if report.failed:
                on_event(f"{len(report.failed)} file(s) could not be read, e.g. {report.failed[0][0]}")
            figures["build"] = build_figures(report, corpus)
        build_dir = store.current_build(index_dir)
        # the path that made the index's vectors (serving and uploads follow it)
        figures["embedder"]["documents"] = Manifest.read(build_dir).embedder
        export = folder / "model.onnx" if folder is not None else None
        figures["embedder"]["export"] = str(export) if export is not None and export.is_file() else None
        figures["embedder"]["fidelity"] = read_fidelity(folder)
        figures["index"] = {"dir": str(index_dir), "size_bytes": dir_size(build_dir)}

        on_event(f"search: {requests} questions in process")
        pipeline = build_pipeline(settings, index_dir=index_dir, embedder=embedder)
        query_encoder = pipeline.query_embedder
        # the class that encodes questions (e.g. OnnxEmbedder for the int8 default), under the batching wrapper
        figures["embedder"]["query_encoder"] = type(getattr(query_encoder, "inner", query_encoder)).__name__
        try:
            figures["search"] = bench_search(pipeline, questions, requests=requests)
            reader = create_reader(settings.reader)
            if reader is not None:
                on_event(f"reader: {requests} reads of the top 5 passages")
                figures["reader"] = bench_reader(pipeline, reader, questions, requests=requests)
        finally:
            pipeline.close()

        on_event("starting `rag serve` on loopback")
        with running_server(index_dir, log_dir=Path(tmp), workers=workers) as server:
            ui = round(server.ui_seconds, 2) if server.ui_seconds is not None else None
            figures["server"] = {
                "ready_seconds": round(server.ready_seconds, 2),
                "ui_seconds": ui,
                "workers": workers,
                **server.memory(),
            }
            deadline = time.monotonic() + time_limit
            on_event(f"/ask: {requests} requests from 1 client")
            before = server.cpu_seconds()
            sequential = bench_http_sequential(server.url, questions, requests=requests, deadline=deadline)
            cpu = server.cpu_seconds()
            served = sequential["n"] + min(WARMUP, len(questions))  # its warm-up requests too
            sequential["server_cpu_ms_per_request"] = _per_request(cpu - before, served)
            on_event(f"/ask: {requests} requests from {concurrency} clients")
            concurrent = bench_http_concurrent(
                server.url, questions, requests=requests, concurrency=concurrency, deadline=deadline
            )
            concurrent["server_cpu_ms_per_request"] = _per_request(server.cpu_seconds() - cpu, concurrent["n"])
            figures["http"] = {"sequential": sequential, "concurrent": concurrent}
            figures["http"]["timed_out"] = sequential["n"] + concurrent["n"] < 2 * requests
    return figures
