"""Hybrid retrieval: dense (FAISS) and lexical (BM25) candidates, fused and ranked into hits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rag.index import LoadedIndex
from rag.protocols import Embedder, Reranker
from rag.types import Hit


@dataclass(frozen=True, slots=True)
class RankedLists:
    """The candidate lists before fusion (rows and scores), kept for evaluation and debugging."""

    dense: list[tuple[int, float]]
    lexical: list[tuple[int, float]]


class HybridRetriever:
    """Weighted reciprocal-rank fusion of dense and lexical rankings."""

    def __init__(
        self,
        index: LoadedIndex,
        embedder: Embedder,
        *,
        candidates: int = 50,
        rrf_k: float = 60.0,
        dense_weight: float = 1.0,
        lexical_weight: float = 1.0,
        rerank_depth: int = 10,
        reranker: Reranker | None = None,
        keep_top: int = 0,
    ) -> None:
        self.index = index
        self.embedder = embedder
        self.candidates = candidates
        self.rrf_k = rrf_k
        self.dense_weight = dense_weight
        self.lexical_weight = lexical_weight
        self.rerank_depth = rerank_depth
        self.reranker = reranker
        self.keep_top = keep_top

    def candidate_lists(self, query: str) -> RankedLists:
        depth = min(self.candidates, self.index.size)
        dense: list[tuple[int, float]] = []
        lexical: list[tuple[int, float]] = []
        if depth and self.dense_weight > 0:
            qv = self.embedder.embed([query], is_query=True)
            scores, rows = self.index.vectors.search(qv, depth)
            dense = [(int(r), float(s)) for r, s in zip(rows[0], scores[0], strict=True) if r >= 0]
        if depth and self.lexical_weight > 0:
            scores, rows = self.index.lexical.search(query, depth)
            lexical = [(int(r), float(s)) for r, s in zip(rows, scores, strict=True)]
        return RankedLists(dense, lexical)

    def fuse(self, lists: RankedLists) -> list[tuple[int, float, dict[str, float]]]:
        fused: dict[int, float] = {}
        signals: dict[int, dict[str, float]] = {}
        for name, ranked, weight in (
            ("dense", lists.dense, self.dense_weight),
            ("lexical", lists.lexical, self.lexical_weight),
        ):
            for rank, (row, score) in enumerate(ranked):
                fused[row] = fused.get(row, 0.0) + weight / (self.rrf_k + rank + 1)
                signals.setdefault(row, {})[name] = score
        order = sorted(fused.items(), key=lambda kv: -kv[1])
        return [(row, score, signals[row]) for row, score in order]

    def rank(self, query: str, lists: RankedLists, *, top_k: int) -> list[Hit]:
        """Fuse the candidate lists, then re-rank the head with the reranker (``rag.ranking`` by default)."""
        depth = max(top_k, self.rerank_depth) if self.reranker else top_k
        fused = self.fuse(lists)
        head = fused[:depth]
        if self.reranker and self.keep_top:
            # Each retriever's own best candidates are re-ranked even when the other ranks them low: a chunk
            # BM25 ranks first can fall out of the fused head because the weak dense model ranks it 45th.
            kept = {row for row, _, _ in head}
            tops = {row for ranked in (lists.lexical, lists.dense) for row, _ in ranked[: self.keep_top]}
            head += [item for item in fused[depth:] if item[0] in tops and item[0] not in kept]
        hits = self.hits(head)
        if self.reranker:
            hits = self.reranker.rerank(query, hits)
        return hits[:top_k]

    def search(self, query: str, *, top_k: int = 5) -> list[Hit]:
        """The ``top_k`` best chunks for ``query``."""
        return self.rank(query, self.candidate_lists(query), top_k=top_k)

    def hits(self, ranked: Sequence[tuple[int, float, dict[str, float]]]) -> list[Hit]:
        chunks = self.index.chunks.chunks([row for row, _, _ in ranked])
        infos = self.index.chunks.document_infos(c.doc_id for c in chunks)
        out = []
        for chunk, (_, score, sig) in zip(chunks, ranked, strict=True):
            info = infos[chunk.doc_id]
            out.append(Hit(chunk=chunk, score=score, title=info.title, source=info.source, date=info.date, signals=sig))
        return out
