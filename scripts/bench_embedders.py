"""Embedding throughput and fidelity, side by side in one run: sentence-transformers vs ONNX fp32 vs ONNX int8.

    python scripts/bench_embedders.py [--chunks 256] [--rounds 2] [--profile 64]
    python scripts/bench_embedders.py --jsonl ../shared/bench/rgb_zh/passages.jsonl --chunks 1024 \
        --batch-tokens 0,256,512,1024,2048,4096     # int8 chunks/s per token budget (BENCHMARKS.md)

Texts are 300-character chunks of the seed corpus (chunked with the default settings). Rounds alternate
between the backends so that drift in machine load hits all of them alike. ``--profile N`` also runs N chunks
through each ONNX model under ONNX Runtime's profiler and reports the time per operator type: how much of a
run the matrix products and attention are, and how much faster int8 makes them on this CPU.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np

from rag.backends.onnx_embedder import OnnxEmbedder
from rag.backends.onnx_graph import SLOW_FUSIONS
from rag.backends.sentence_transformer import SentenceTransformerEmbedder
from rag.chunking import chunk_document
from rag.loaders import discover_files, load_source
from rag.settings import user_cache_dir


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--chunks", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--cache-dir", type=Path, default=user_cache_dir() / "models")
    ap.add_argument("--profile", type=int, default=0, metavar="N", help="profile N chunks per ONNX model")
    ap.add_argument("--jsonl", type=Path, help="take the texts from this JSONL's `text` fields (e.g. RGB passages)")
    ap.add_argument(
        "--batch-tokens",
        metavar="LIST",
        help="instead: int8 chunks/s at each RAG_EMBEDDER__BATCH_TOKENS in LIST (comma-separated; 0 is 32 texts a "
        "batch), rounds alternating",
    )
    args = ap.parse_args()
    if args.jsonl:
        lines = args.jsonl.read_text(encoding="utf-8").splitlines()
        texts = [json.loads(line)["text"] for line in lines if line.strip()]
    else:
        texts = [c.text for s in discover_files([Path("corpus")]) for d in load_source(s) for c in chunk_document(d)]
    texts = (texts * (args.chunks // len(texts) + 1))[: args.chunks]
    if args.batch_tokens:
        print(json.dumps(sweep_batch_tokens(texts, args), indent=2))
        return
    backends = {
        "sentence-transformers": SentenceTransformerEmbedder("m3e-small"),
        "onnx-fp32": OnnxEmbedder("m3e-small", cache_dir=args.cache_dir, quantize=False),
        "onnx-int8": OnnxEmbedder("m3e-small", cache_dir=args.cache_dir, quantize=True),
    }
    seconds = dict.fromkeys(backends, 0.0)
    vectors = {}
    for _ in range(args.rounds):
        for name, backend in backends.items():
            t0 = time.perf_counter()
            vectors[name] = backend.embed(texts)
            seconds[name] += time.perf_counter() - t0
    ref = vectors["sentence-transformers"]
    base = args.rounds * len(texts) / seconds["sentence-transformers"]
    report = {}
    for name in backends:
        rate = args.rounds * len(texts) / seconds[name]
        cos = np.sum(vectors[name] * ref, axis=1)
        report[name] = {
            "chunks_per_s": round(rate, 1),
            "ratio": round(rate / base, 2),
            "cosine_min": round(float(cos.min()), 4),
            "cosine_mean": round(float(cos.mean()), 4),
        }
    out = {"chunks": len(texts), "avg_chars": round(float(np.mean([len(t) for t in texts])), 1), **report}
    if args.profile:
        ops = {name: profile_ops(backends[name], texts[: args.profile]) for name in ("onnx-fp32", "onnx-int8")}
        out["profile_ms"] = ops
        products = {name: sum(ms for op, ms in o.items() if "MatMul" in op) for name, o in ops.items()}
        attention = {name: sum(ms for op, ms in o.items() if "Attention" in op) for name, o in ops.items()}
        int8 = ops["onnx-int8"]
        out["profile_summary"] = {
            "int8_products_speedup": round(products["onnx-fp32"] / products["onnx-int8"], 2),
            "int8_attention_speedup": round(attention["onnx-fp32"] / attention["onnx-int8"], 2),
            "int8_products_and_attention_share": round(
                (products["onnx-int8"] + attention["onnx-int8"]) / sum(int8.values()), 3
            ),
        }
    print(json.dumps(out, indent=2))


def sweep_batch_tokens(texts: list[str], args: argparse.Namespace) -> dict[str, object]:
    """int8 chunks/s for each token budget, the budgets taking turns each round (drift hits all alike)."""
    budgets = [int(b) for b in args.batch_tokens.split(",")]
    embedders = {b: OnnxEmbedder("m3e-small", cache_dir=args.cache_dir, batch_tokens=b) for b in budgets}
    seconds = dict.fromkeys(budgets, 0.0)
    for _ in range(args.rounds):
        for budget, embedder in embedders.items():
            t0 = time.perf_counter()
            embedder.embed(texts)
            seconds[budget] += time.perf_counter() - t0
    tokens = [len(e.ids) for e in embedders[budgets[0]]._tokenizer.encode_batch(texts)]
    return {
        "chunks": len(texts),
        "mean_tokens": round(float(np.mean(tokens)), 1),
        "chunks_per_s": {str(b): round(args.rounds * len(texts) / seconds[b], 1) for b in budgets},
    }


def profile_ops(backend: OnnxEmbedder, texts: list[str]) -> dict[str, float]:
    """Milliseconds per operator type over ``texts`` (the embedder's own batches), from ONNX Runtime's
    profiler, on a fresh session of the same model file with the same thread count."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.enable_profiling = True
    options.profile_file_prefix = str(Path(os.environ.get("TMPDIR", "/tmp")) / "bench-embedders")
    session = ort.InferenceSession(
        str(backend.model_file), options, providers=["CPUExecutionProvider"], disabled_optimizers=list(SLOW_FUSIONS)
    )
    backend._session, saved = session, backend._session
    try:
        backend.embed(texts)
    finally:
        backend._session = saved
    trace = Path(session.end_profiling())
    totals: dict[str, float] = collections.Counter()
    for event in json.loads(trace.read_text(encoding="utf-8")):
        if event.get("cat") == "Node":
            totals[event["args"]["op_name"]] += event["dur"] / 1000
    trace.unlink()
    return {op: round(ms, 1) for op, ms in sorted(totals.items(), key=lambda kv: -kv[1])}


if __name__ == "__main__":
    main()
