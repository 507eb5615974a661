"""The composition root for serving: settings → embedder, index, retriever, answer backends."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from rag import store
from rag.errors import InvalidQueryError
from rag.factories import create_embedder, embedder_fingerprint
from rag.protocols import Embedder
from rag.retriever import HybridRetriever, LoadedIndex
from rag.settings import Settings
from rag.types import Hit

MAX_QUESTION_CHARS = 2000


def validate_question(question: str) -> str:
    """The question stripped, or ``InvalidQueryError`` saying what is wrong."""
    if not isinstance(question, str):
        raise InvalidQueryError("the question must be text")
    q = question.strip()
    if not q:
        raise InvalidQueryError("the question is empty — ask something, e.g. 「恒口示范区新建标准化厂房多少平方米？」")
    if len(q) > MAX_QUESTION_CHARS:
        raise InvalidQueryError(f"the question has {len(q)} characters; the limit is {MAX_QUESTION_CHARS}")
    return q


@dataclass(slots=True)
class SearchResult:
    hits: list[Hit]
    ms: float


class Pipeline:
    """Everything a question needs, loaded once: the embedder, the index and the retriever."""

    def __init__(self, settings: Settings, index: LoadedIndex, embedder: Embedder) -> None:
        self.settings = settings
        self.index = index
        self.embedder = embedder
        r = settings.retrieval
        self.retriever = HybridRetriever(
            index,
            embedder,
            candidates=r.candidates,
            rrf_k=r.rrf_k,
            dense_weight=r.dense_weight,
            lexical_weight=r.lexical_weight,
        )

    def search(self, question: str, *, top_k: int | None = None) -> SearchResult:
        q = validate_question(question)
        t0 = time.perf_counter()
        hits = self.retriever.search(q, top_k=top_k or self.settings.retrieval.top_k)
        return SearchResult(hits, (time.perf_counter() - t0) * 1000)

    def close(self) -> None:
        self.index.close()


def build_pipeline(settings: Settings, *, index_dir: Path | None = None, embedder: Embedder | None = None) -> Pipeline:
    """Open the index at ``index_dir`` (default from settings), check it matches the settings, load the model."""
    index = LoadedIndex.open(Path(index_dir or settings.index.dir))
    store.check_manifest(
        index.manifest,
        embedder=embedder_fingerprint(settings.embedder),
        chunking=settings.chunking.model_dump(),
    )
    return Pipeline(settings, index, embedder or create_embedder(settings.embedder))
