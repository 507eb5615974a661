"""Retrieval ablations on a bench set: computes dense and lexical candidates once, then scores fusion variants.

python scripts/tune_retrieval.py --dataset ../shared/bench/rgb_zh --index /tmp/idx_rgb
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from rag.evaluation import RetrievalScores, load_questions
from rag.pipeline import build_pipeline
from rag.settings import Settings


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", type=Path, required=True)
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--depth", type=int, default=100)
    args = ap.parse_args()
    settings = Settings()
    settings.retrieval.candidates = args.depth
    pipe = build_pipeline(settings, index_dir=args.index)
    questions = load_questions(args.dataset)[: args.limit or None]
    r = pipe.retriever
    texts: dict[str, str | None] = {}

    def doc_text(doc_id: str) -> str | None:
        if doc_id not in texts:
            d = pipe.index.chunks.document(doc_id)
            texts[doc_id] = d.text if d else None
        return texts[doc_id]

    t0 = time.perf_counter()
    lists = [r.candidate_lists(q.question) for q in questions]
    print(f"candidates for {len(questions)} questions in {time.perf_counter() - t0:.1f}s")
    variants = {name: r.variants[name] for name in r.variants} if hasattr(r, "variants") else {}
    variants = variants or {"default": None}
    for name in variants:
        scores = RetrievalScores()
        for q, cl in zip(questions, lists, strict=True):
            ranked = r.rank(q.question, cl, variant=name)[:10] if hasattr(r, "rank") else r.fuse(cl)[:10]
            scores.add(q, r.hits(ranked), doc_text)
        print(f"{name:28} {json.dumps(scores.summary())}")


if __name__ == "__main__":
    main()
