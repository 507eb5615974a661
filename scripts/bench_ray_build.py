"""Build throughput of one synthetic corpus with the local engine and on a local Ray cluster with 1 and 2
workers (`rag index build --engine ray`, the real default model), the peak memory of the build process and
of each Ray worker, and the wall time projected for 10M chunks on N workers from the measured per-worker rate.

    python scripts/bench_ray_build.py --chunks 3000 --json ray-build.json

Each build runs in a subprocess of its own (`rag index build --rebuild`), so each starts (and stops) its own
Ray cluster; a thread samples the RSS of the build and of every Ray process it starts. The corpus is
``scripts/bench_scale.py``'s (seed sentences with their figures, years and places varied).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT))

from bench_scale import generate_corpus  # noqa: E402

from rag.machine import describe_cpu  # noqa: E402

REPORT = re.compile(r"(?P<chunks>\d+) chunks embedded in (?P<embed>[\d.]+) s, total (?P<total>[\d.]+) s")


def _sample(proc: psutil.Process, peaks: dict[str, float], stop: threading.Event) -> None:
    """Peak RSS (MB) of the build process and of each Ray worker process below it, every 0.2 s."""
    while not stop.is_set():
        try:
            family = [proc, *proc.children(recursive=True)]
        except psutil.NoSuchProcess:
            return
        for p in family:
            try:
                name, rss = " ".join(p.cmdline()[:2])[:60], p.memory_info().rss / 1e6
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            if p.pid == proc.pid:
                kind = "build"
            elif "EmbedActor" in name:
                kind = "embed actor"
            elif "ray::" in name:
                kind = "ray worker"  # a task worker (tokenisation)
            else:
                kind = "ray other" if "ray" in name else "child"  # Ray's own daemons; the local tokenisers
            key = f"{kind} {p.pid}"
            peaks[key] = max(peaks.get(key, 0.0), rss)
        stop.wait(0.2)


def build(corpus: Path, index: Path, *, engine: str, workers: int) -> dict[str, Any]:
    env = {**os.environ, "RAG_INDEX__ENGINE": engine, "RAG_INDEX__RAY_WORKERS": str(workers), "HF_HUB_OFFLINE": "1"}
    args = [sys.executable, "-m", "rag", "index", "build", "--corpus", str(corpus), "--index", str(index), "--rebuild"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    peaks: dict[str, float] = {}
    stop = threading.Event()
    sampler = threading.Thread(target=_sample, args=(psutil.Process(proc.pid), peaks, stop), daemon=True)
    sampler.start()
    out, _ = proc.communicate()
    stop.set()
    sampler.join()
    wall = time.perf_counter() - t0
    found = REPORT.search(out or "")
    if proc.returncode not in (0, 2) or found is None:
        raise SystemExit(f"build failed ({proc.returncode}): {out}")
    chunks, embed = int(found["chunks"]), float(found["embed"])
    by_kind: dict[str, list[float]] = {}
    for key, mb in peaks.items():
        by_kind.setdefault(key.rsplit(" ", 1)[0], []).append(mb)
    return {
        "engine": engine if engine == "local" else f"ray × {workers}",
        "chunks": chunks,
        "embed_s": embed,
        "total_s": float(found["total"]),
        "wall_s": round(wall, 1),  # with the cluster's start and stop
        "embed_chunks_per_s": round(chunks / embed, 1),
        "wall_chunks_per_s": round(chunks / wall, 1),
        "peak_mb": {kind: round(max(v)) for kind, v in sorted(by_kind.items())},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chunks", type=int, default=3000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/rag-bench-ray"))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    info = generate_corpus(args.chunks, args.work / "data", seed=7, questions=10)
    corpus = args.work / "data" / "corpus"
    rows = []
    for name, engine, workers in (("local", "local", 0), ("ray1", "ray", 1), ("ray2", "ray", 2)):
        rows.append(build(corpus, args.work / f"index-{name}", engine=engine, workers=workers))
        print(json.dumps(rows[-1]), flush=True)  # each build as it ends: a long run shows its progress
    one = next(r for r in rows if r["engine"] == "ray × 1")
    per_worker = one["embed_chunks_per_s"]
    projection = {n: round(10_000_000 / (per_worker * n) / 3600, 1) for n in (1, 8, 32, 128)}
    print(f"CPU: {describe_cpu()}; corpus: {info['documents']} documents, ~{args.chunks} chunks")
    print(
        f"{'engine':10} {'chunks':>7} {'embed s':>8} {'total s':>8} {'wall s':>7} {'embed/s':>8} {'wall/s':>7}  peak MB"
    )
    for r in rows:
        print(
            f"{r['engine']:10} {r['chunks']:>7} {r['embed_s']:>8.1f} {r['total_s']:>8.1f} {r['wall_s']:>7.1f} "
            f"{r['embed_chunks_per_s']:>8.1f} {r['wall_chunks_per_s']:>7.1f}  {r['peak_mb']}"
        )
    print(
        f"10M chunks at {per_worker} chunks/s a worker (one CPU each, embedding only): "
        + ", ".join(f"{n} workers {h} h" for n, h in projection.items())
    )
    if args.json:
        args.json.write_text(
            json.dumps({"cpu": describe_cpu(), "corpus": info, "rows": rows, "projection_h": projection}, indent=2)
        )


if __name__ == "__main__":
    main()
