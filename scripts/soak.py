"""Soak test: a real `rag serve` (API and UI) over a copy of a corpus and its index, asked by N clients while
one client uploads and deletes documents and a `rag index build` runs beside the server now and then.

Prints requests, failures, latency percentiles, and the server's RSS and open file descriptors over time; exits 1
on any failed request (a 5xx, a transport error, or a 4xx to a request that was valid). A write refused because
another build holds the index (409) is counted apart: it says "retry", it is not a failure.

    python scripts/soak.py --minutes 10 [--clients 8] [--corpus corpus --index index]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import psutil

from rag.tools.server import running_server

QUESTIONS = [
    "恒口示范区新建标准化厂房多少平方米？",
    "海陵区建设街头游园多少个？",
    "恒口示范区选派了多少名专职工作队队员？",
    "2017年1-8月衡水140项省市重点项目完成投资多少？",
    "汉滨区同步完成了多少个标准化、规范化安置社区党组织建设？",
    "安康全年力争引回返乡创业就业多少人以上？",
]
KEY = "soak-key"


class Tally:
    """Thread-safe counts and latencies."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.latencies: list[float] = []
        self.failures: list[str] = []

    def add(self, kind: str, ok: bool, ms: float | None = None, why: str = "") -> None:
        with self.lock:
            self.counts[kind] += 1
            if ms is not None:
                self.latencies.append(ms)
            if not ok:
                self.counts[kind + " failed"] += 1
                if len(self.failures) < 20:
                    self.failures.append(f"{kind}: {why}")


def asker(url: str, stop: threading.Event, tally: Tally, offset: int) -> None:
    with httpx.Client(base_url=url, timeout=60) as http:
        i = offset
        while not stop.is_set():
            question = QUESTIONS[i % len(QUESTIONS)]
            i += 1
            t0 = time.perf_counter()
            try:
                r = http.post("/ask", json={"question": question})
                ok = r.status_code == 200
                tally.add("ask", ok, (time.perf_counter() - t0) * 1000, f"{r.status_code} {r.text[:200]}")
            except httpx.HTTPError as exc:
                tally.add("ask", False, None, repr(exc))


def writer(url: str, stop: threading.Event, tally: Tally, every_s: float) -> None:
    headers = {"X-API-Key": KEY}
    with httpx.Client(base_url=url, timeout=120, headers=headers) as http:
        n = 0
        while not stop.wait(every_s):
            n += 1
            text = f"浸泡测试第{n}号报告\n\n石桥镇2024年新建便民服务点{n}个，完成投资{n * 7}万元。\n"
            try:
                r = http.post("/documents", files={"files": (f"soak-{n:04d}.txt", text.encode())})
                if r.status_code == 409:
                    tally.add("upload busy (409)", True)
                    continue
                tally.add("upload", r.status_code == 201, None, f"{r.status_code} {r.text[:200]}")
                if r.status_code != 201:
                    continue
                doc_id = r.json()["documents"][0]["id"]
                if stop.wait(every_s / 2):
                    break
                r = http.delete(f"/documents/{doc_id}")
                if r.status_code == 409:
                    tally.add("delete busy (409)", True)
                    continue
                tally.add("delete", r.status_code == 200, None, f"{r.status_code} {r.text[:200]}")
            except httpx.HTTPError as exc:
                tally.add("upload/delete", False, None, repr(exc))


def builder(work: Path, stop: threading.Event, tally: Tally, every_s: float) -> None:
    n = 0
    while not stop.wait(every_s):
        n += 1
        (work / "corpus" / "soak-beside.txt").write_text(
            f"旁路构建第{n}次：白云乡新修水渠{n}公里。\n", encoding="utf-8"
        )
        result = subprocess.run(
            [sys.executable, "-m", "rag", "index", "build", "--corpus", "corpus", "--index", "index"],
            cwd=work,
            capture_output=True,
            text=True,
            env={**os.environ, "HF_HUB_OFFLINE": "1"},
            check=False,
        )
        # Another build (an upload's, in the server) holds the index: the CLI says so and exits; that is a retry.
        busy = "another `rag index build` is running" in result.stderr
        if result.returncode != 0 and busy:
            tally.add("cli build busy", True)
        else:
            tally.add("cli build", result.returncode in (0, 2), None, result.stderr[-300:])


def tree_usage(proc: psutil.Process) -> tuple[float, int]:
    """RSS (MB) and open file descriptors of the server and its children."""
    rss = fds = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            rss += p.memory_info().rss
            fds += p.num_fds()
        except psutil.Error:
            continue
    return rss / 1024 / 1024, fds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--corpus", type=Path, default=Path("corpus"))
    parser.add_argument("--index", type=Path, default=Path("index"))
    parser.add_argument("--write-every", type=float, default=5.0, help="seconds between uploads")
    parser.add_argument("--build-every", type=float, default=60.0, help="seconds between CLI builds")
    parser.add_argument("--sample-every", type=float, default=30.0, help="seconds between RSS/fd samples")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rag-soak-") as tmp:
        work = Path(tmp) / "work"
        work.mkdir()
        shutil.copytree(args.corpus, work / "corpus")
        shutil.copytree(args.index, work / "index", ignore=shutil.ignore_patterns("models"))
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "RAG_API__KEY": KEY, "GRADIO_ANALYTICS_ENABLED": "False"}
        env.setdefault("RAG_EMBEDDER__CACHE_DIR", str((args.index / "models").resolve()))  # the ONNX export
        tally = Tally()
        stop = threading.Event()
        samples: list[tuple[float, float, int]] = []
        with running_server(Path("index"), log_dir=Path(tmp), cwd=work, env=env) as srv:
            proc = psutil.Process(srv.proc.pid)
            threads = [threading.Thread(target=asker, args=(srv.url, stop, tally, i)) for i in range(args.clients)]
            threads.append(threading.Thread(target=writer, args=(srv.url, stop, tally, args.write_every)))
            threads.append(threading.Thread(target=builder, args=(work, stop, tally, args.build_every)))
            t0 = time.monotonic()
            for t in threads:
                t.start()
            end = t0 + args.minutes * 60
            while time.monotonic() < end:
                rss, fds = tree_usage(proc)
                samples.append((time.monotonic() - t0, rss, fds))
                time.sleep(min(args.sample_every, max(0.0, end - time.monotonic())))
            stop.set()
            for t in threads:
                t.join(timeout=180)
            rss, fds = tree_usage(proc)
            samples.append((time.monotonic() - t0, rss, fds))
            elapsed = time.monotonic() - t0
            log_tail = srv.log_tail(2000)
    lat = sorted(tally.latencies)
    q = statistics.quantiles(lat, n=100, method="inclusive") if len(lat) > 1 else [0.0] * 99
    failed = sum(v for k, v in tally.counts.items() if k.endswith(" failed"))
    print(
        f"soak: {elapsed / 60:.1f} min, {args.clients} asking clients, uploads every {args.write_every:g} s, "
        f"a CLI build every {args.build_every:g} s"
    )
    for kind, count in sorted(tally.counts.items()):
        print(f"  {kind}: {count}")
    print(
        f"  /ask: {len(lat)} answered, {len(lat) / elapsed:.1f} req/s; latency p50 {q[49]:.1f} ms, "
        f"p95 {q[94]:.1f} ms, p99 {q[98]:.1f} ms"
    )
    print("  server RSS (MB) and open fds over time: " + ", ".join(f"{t:.0f}s {r:.0f}/{f}" for t, r, f in samples))
    print(f"  failed requests: {failed}")
    for why in tally.failures:
        print(f"    {why}")
    if failed:
        print(log_tail)
        sys.exit(1)


if __name__ == "__main__":
    main()
