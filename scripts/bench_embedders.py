"""Embedding throughput and fidelity, side by side in one run: sentence-transformers vs ONNX fp32 vs ONNX int8.

    python scripts/bench_embedders.py [--chunks 256] [--rounds 2]

Texts are 300-character chunks of the seed corpus (chunked with the default settings). Rounds alternate
between the backends so that drift in machine load hits all of them alike.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np

from rag.backends.onnx_embedder import OnnxEmbedder
from rag.backends.sentence_transformer import SentenceTransformerEmbedder
from rag.chunking import chunk_document
from rag.loaders import discover_files, load_source


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--chunks", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--cache-dir", type=Path, default=Path("index/models"))
    args = ap.parse_args()
    texts = [c.text for s in discover_files([Path("corpus")]) for d in load_source(s) for c in chunk_document(d)]
    texts = (texts * (args.chunks // len(texts) + 1))[: args.chunks]
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
    print(
        json.dumps(
            {"chunks": len(texts), "avg_chars": round(float(np.mean([len(t) for t in texts])), 1), **report}, indent=2
        )
    )


if __name__ == "__main__":
    main()
