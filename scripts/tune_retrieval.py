"""Retrieval ablation on a bench set: the candidate lists are computed once, then each ranking is scored.

    python scripts/tune_retrieval.py --dataset ../shared/bench/rgb_zh --index /tmp/idx_rgb [--limit N]

The index must hold the dataset's passages (`rag index build --corpus …/passages.jsonl --index /tmp/idx_rgb`).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from rag.pipeline import build_pipeline
from rag.ranking import EvidenceReranker, RankWeights
from rag.retriever import RankedLists
from rag.settings import Settings
from rag.tools.evaluation import RetrievalScores, cached_document_text, load_questions

# name → (dense weight, lexical weight, re-ranking weights or None)
VARIANTS: dict[str, tuple[float, float, RankWeights | None]] = {
    "BM25": (0.0, 1.0, None),
    "dense": (1.0, 0.0, None),
    "RRF 1:1": (1.0, 1.0, None),
    "RRF 1:2": (1.0, 2.0, None),
    "RRF 1:2 + coverage": (1.0, 2.0, RankWeights(0.5, 0.0, 0.0)),
    "RRF 1:2 + coverage + answer + consensus": (1.0, 2.0, RankWeights(0.5, 0.2, 0.2)),
    "RRF 1:1 + coverage + answer + consensus": (1.0, 1.0, RankWeights(0.5, 0.2, 0.2)),
    # the default less one signal: which part of the re-ranking carries over from one question set to another
    "default without coverage": (1.0, 1.0, RankWeights(0.0, 0.2, 0.2)),
    "default without answer kind": (1.0, 1.0, RankWeights(0.5, 0.0, 0.2)),
    "default without consensus": (1.0, 1.0, RankWeights(0.5, 0.2, 0.0)),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", type=Path, required=True)
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--depth", type=int, default=10, help="fused candidates re-ranked")
    ap.add_argument(
        "--halves", action="store_true", help="also score the odd and even questions apart (does a choice carry over?)"
    )
    args = ap.parse_args()
    settings = Settings()
    settings.retrieval.candidates = 100
    pipeline = build_pipeline(settings, index_dir=args.index)
    retriever = pipeline.retriever
    questions = load_questions(args.dataset)[: args.limit or None]
    t0 = time.perf_counter()
    lists = [retriever.candidate_lists(q.question) for q in questions]
    print(f"candidate lists for {len(questions)} questions in {time.perf_counter() - t0:.1f} s")
    doc_text = cached_document_text(pipeline.index.chunks)
    for name, (dense_w, lexical_w, weights) in VARIANTS.items():
        retriever.dense_weight, retriever.lexical_weight = dense_w, lexical_w
        retriever.reranker = EvidenceReranker(**dataclasses.asdict(weights)) if weights else None
        retriever.rerank_depth = args.depth
        scores, halves = RetrievalScores(), (RetrievalScores(), RetrievalScores())
        for k, (q, cl) in enumerate(zip(questions, lists, strict=True)):
            kept = RankedLists(cl.dense if dense_w else [], cl.lexical if lexical_w else [])
            ranked = retriever.rank(q.question, kept, top_k=10)
            scores.add(q, ranked, doc_text)
            halves[k % 2].add(q, ranked, doc_text)
        line = json.dumps(scores.summary())
        if args.halves:
            line += "  even/odd hit@1 " + " / ".join(f"{h.summary().get('hit@1', 0):.3f}" for h in halves)
        print(f"{name:42} {line}", flush=True)


if __name__ == "__main__":
    main()
