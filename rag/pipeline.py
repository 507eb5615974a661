"""The composition root for serving: settings → embedder, index, retriever, answer backends."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from collections.abc import Generator as PieceStream
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypedDict, Unpack

from rag.batching import BatchingEmbedder
from rag.citations import AnswerStream, resolve_citations
from rag.errors import GenerationError, InvalidQueryError, RAGError
from rag.factories import (
    create_generator,
    create_query_embedder,
    create_reader,
    create_reranker,
    embedder_fingerprint,
    serving_embedders,
)
from rag.figures import unsupported_figures
from rag.followup import looks_like_followup, previous_question, rewrite_followup
from rag.index import LoadedIndex
from rag.protocols import Embedder, Generator, QuestionRewriter
from rag.retriever import HybridRetriever, RankedLists
from rag.settings import Settings
from rag.types import Answer, Draft, Hit

MAX_QUESTION_CHARS = 2000
FALLBACK_BACKEND = "extractive"
# Streamed between an LLM answer cut off by a failure and the extractive answer that replaces it.
FALLBACK_SEPARATOR = "\n\n[LLM 中断，以下为抽取式答案]\n"

log = logging.getLogger(__name__)


def validate_question(question: str) -> str:
    """The question stripped, or ``InvalidQueryError`` saying what is wrong."""
    if not isinstance(question, str):
        raise InvalidQueryError("the question must be text")
    q = question.strip()
    if not q:
        raise InvalidQueryError("the question is empty — ask something, e.g. 「恒口示范区新建标准化厂房多少平方米？」")
    if len(q) > MAX_QUESTION_CHARS:
        raise InvalidQueryError(f"the question has {len(q)} characters; the limit is {MAX_QUESTION_CHARS}")
    check_text(q, what="the question")
    return q


def check_text(text: str, *, what: str) -> str:
    """``text`` when it can be written as UTF-8; else ``InvalidQueryError`` (a lone UTF-16 surrogate, such as
    JSON's "\\ud800", is not text: it would fail in the tokenizer or in the answer's JSON)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidQueryError(
            f"{what} holds a character that is not valid text (a lone UTF-16 surrogate); send UTF-8 text"
        ) from None
    return text


class AskOptions(TypedDict, total=False):
    """The keyword options of ``Pipeline.ask_stream`` (and ``ask``)."""

    top_k: int | None
    backend: str | None
    doc_ids: Collection[str] | None
    history: Sequence[Mapping[str, str]] | None
    date_from: str | None
    date_to: str | None
    found: SearchResult | None


@dataclass(slots=True)
class SearchResult:
    hits: list[Hit]
    ms: float

    def first(self, k: int) -> SearchResult:
        """The best ``k`` hits (a deeper search ranks its head as a search for ``k`` would)."""
        return SearchResult(self.hits[:k], self.ms)


# What ranks the passages of a question, given ``top_k`` and the filters (``doc_ids``, ``date_from``, ``date_to``):
# the pipeline's own search, or several knowledge bases' merged.
Searcher = Callable[[str, int | None, Mapping[str, Any]], SearchResult]


class Pipeline:
    """Everything a question needs, loaded once: the embedders, the index, the retriever and the answer
    backends (made by ``generators`` on first use and kept). It takes its parts; ``build_pipeline`` makes them.

    ``embedder`` encodes documents (index updates go through it); ``query_embedder`` encodes questions."""

    def __init__(
        self,
        index: LoadedIndex,
        embedder: Embedder,
        *,
        query_embedder: Embedder,
        retriever: HybridRetriever,
        generators: Callable[[str], Generator],
        default_backend: str = FALLBACK_BACKEND,
        top_k: int = 5,
        kb: str = "",
    ) -> None:
        self.kb = kb  # the knowledge base it answers from: every hit says so
        self.index = index
        self.embedder = embedder
        self.query_embedder = query_embedder
        self.retriever = retriever
        self.default_backend = default_backend
        self.top_k = top_k
        self._make_generator = generators
        self._generators: dict[str, Generator] = {}

    def search(
        self,
        question: str,
        *,
        top_k: int | None = None,
        doc_ids: Collection[str] | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
    ) -> SearchResult:
        """The ranked passages. Filters keep only the chunks (among the fused candidates) of the documents in
        ``doc_ids`` and/or dated within ``date_from``..``date_to`` (ISO dates, inclusive; undated documents
        are left out when a date bound is given)."""
        return self._search(
            validate_question(question), top_k=top_k, doc_ids=doc_ids, date_from=date_from, date_to=date_to
        )

    def _search(
        self,
        q: str,
        *,
        top_k: int | None,
        doc_ids: Collection[str] | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
    ) -> SearchResult:
        t0 = time.perf_counter()
        k = top_k or self.top_k
        if doc_ids is None and date_from is None and date_to is None:
            hits = self.retriever.search(q, top_k=k)
        else:
            infos = self.index.chunks.filter_documents(doc_ids=doc_ids, date_from=date_from, date_to=date_to)
            rows = {r for i in infos for r in range(i.first_row, i.first_row + i.n_chunks)}
            lists = self.retriever.candidate_lists(q)
            lists = RankedLists([c for c in lists.dense if c[0] in rows], [c for c in lists.lexical if c[0] in rows])
            hits = self.retriever.rank(q, lists, top_k=k)
        if self.kb:
            hits = [replace(hit, kb=self.kb) for hit in hits]
        return SearchResult(hits, (time.perf_counter() - t0) * 1000)

    def warm_up(self) -> None:
        """Load what the first question would otherwise wait for (tokenizer dictionaries, tagger, the reader)."""
        self.ask("恒口示范区新建标准化厂房多少平方米？", top_k=2)
        self.ask("恒口示范区位于哪里？", top_k=2)  # an open question: the learned reader reads it

    def generator(self, backend: str | None = None) -> Generator:
        """The answer backend ``backend`` (default: the configured one), created once and kept."""
        name = backend or self.default_backend
        if name not in self._generators:
            self._generators[name] = self._make_generator(name)
        return self._generators[name]

    def standalone_question(
        self, question: str, history: Sequence[Mapping[str, str]], generator: Generator
    ) -> str | None:
        """``question`` rewritten to stand alone after ``history``, or None when it needs no rewrite. A
        follow-up is rewritten by the LLM when the backend is one (falling back to the carry-over rule when it
        fails), otherwise by the rule alone."""
        previous = previous_question(history)
        if previous is None or not looks_like_followup(question):
            return None
        if isinstance(generator, QuestionRewriter):
            try:
                rewritten = validate_question(generator.rewrite(question, history))
                return rewritten if rewritten != question else None
            except (GenerationError, InvalidQueryError) as exc:
                log.warning("LLM rewrite of a follow-up failed, using the carry-over rule: %s", exc)
        return rewrite_followup(question, previous)

    def ask_stream(
        self,
        question: str,
        *,
        top_k: int | None = None,
        backend: str | None = None,
        doc_ids: Collection[str] | None = None,
        history: Sequence[Mapping[str, str]] | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
        found: SearchResult | None = None,
        search: Searcher | None = None,
    ) -> AnswerStream:
        """The answer as it is written: iterate for its pieces (markers numbered as in the final answer), then
        read ``.answer``. The answer backend is created now, so an unknown one fails before any search.

        A follow-up is first rewritten against ``history`` (earlier ``{role, content}`` turns). When an LLM
        backend fails, the extractive backend answers instead (``fallback`` in the answer says why); if the LLM
        had already streamed pieces, ``FALLBACK_SEPARATOR`` comes between them and the extractive answer.
        ``found``: passages already retrieved for this question (``search``); the search is then skipped.
        ``search``: what retrieves the passages of the (rewritten) question instead of this pipeline's own
        search (several knowledge bases searched together)."""
        generator = self.generator(backend)
        return AnswerStream(
            lambda passages: self._answer(
                question,
                generator,
                passages,
                top_k=top_k,
                history=history,
                found=found,
                filters={"doc_ids": doc_ids, "date_from": date_from, "date_to": date_to},
                search=search or (lambda q, k, f: self._search(q, top_k=k, **f)),
            )
        )

    def _answer(
        self,
        question: str,
        generator: Generator,
        passages: Callable[[int], None],
        *,
        top_k: int | None,
        history: Sequence[Mapping[str, str]] | None,
        found: SearchResult | None,
        filters: dict[str, Any],
        search: Searcher,
    ) -> PieceStream[str, None, Answer]:
        t0 = time.perf_counter()
        q = validate_question(question)
        extra: dict[str, Any] = {}
        rewritten = self.standalone_question(q, history, generator) if history else None
        if rewritten:
            extra["rewritten_question"] = rewritten
        asked = validate_question(rewritten) if rewritten else q  # a rewrite joins two turns: check it again
        earlier_ms = found.ms if found is not None else 0.0  # a search done before this call counts in the total
        if found is None:
            found = search(asked, top_k, filters)
        passages(len(found.hits))
        t1 = time.perf_counter()
        pieces: list[str] = []
        try:
            draft = yield from _collect(generator.generate(asked, found.hits), pieces)
        except GenerationError as exc:
            if generator.name == FALLBACK_BACKEND:
                raise
            log.warning("answer backend %r failed, answering with %r: %s", generator.name, FALLBACK_BACKEND, exc)
            extra["fallback"] = {"from": generator.name, "reason": str(exc)}
            if pieces:
                pieces.append(FALLBACK_SEPARATOR)
                yield FALLBACK_SEPARATOR
            generator = self.generator(FALLBACK_BACKEND)
            draft = yield from _collect(generator.generate(asked, found.hits), pieces)
        t2 = time.perf_counter()
        text, citations = resolve_citations("".join(pieces), found.hits)
        grounded = draft.grounded and bool(citations)
        if draft.reason:
            extra = {"reason": draft.reason, **extra}
        if draft.no_figure and grounded:
            extra["no_figure"] = True  # quoted as evidence, but it states no figure of the asked kind
        if draft.reader_probability is not None and grounded and draft.short_answer:
            extra["reader_probability"] = round(draft.reader_probability, 4)
        extra["unsupported_figures"] = [f.to_dict() for f in unsupported_figures(text, [c.text for c in citations])]
        return Answer(
            question=question,
            answer=text,
            short_answer=draft.short_answer if grounded else None,
            grounded=grounded,
            citations=citations,
            backend=generator.name,
            timings_ms={"retrieve": found.ms, "generate": (t2 - t1) * 1000, "total": (t2 - t0) * 1000 + earlier_ms},
            extra=extra,
        )

    def ask(self, question: str, **options: Unpack[AskOptions]) -> Answer:
        """Answer ``question`` from the corpus: ``ask_stream`` with the same options, read to its end."""
        return self.ask_stream(question, **options).read()

    def close(self) -> None:
        for generator in self._generators.values():
            close = getattr(generator, "close", None)
            if callable(close):
                close()
        self.index.close()


def _collect(stream: PieceStream[str, None, Draft], pieces: list[str]) -> PieceStream[str, None, Draft]:
    """Forward a backend's pieces, keeping them in ``pieces``; return its ``Draft``."""
    while True:
        try:
            piece = next(stream)
        except StopIteration as stop:
            return stop.value if isinstance(stop.value, Draft) else Draft()
        pieces.append(piece)
        yield piece


def build_pipeline(
    settings: Settings,
    *,
    index_dir: Path | None = None,
    build: Path | None = None,
    index: LoadedIndex | None = None,
    embedder: Embedder | None = None,
    query_embedder: Embedder | None = None,
    warm: bool = True,
    kb: str = "",
) -> Pipeline:
    """The composition root for serving: settings → a ``Pipeline``. Opens the index at ``index_dir`` (default
    from settings; its live build, or ``build``) unless ``index`` is given, checks that it matches the settings,
    and loads the models unless ``embedder`` / ``query_embedder`` (already loaded ones) are given."""
    if index is None:
        index = LoadedIndex.open(Path(index_dir or settings.index.dir), build=build)
        try:
            index.manifest.check(
                embedder=embedder_fingerprint(settings.embedder), chunking=settings.chunking.model_dump()
            )
        except RAGError:
            index.close()
            raise
    questions: Embedder | None = None
    if embedder is None:
        embedder, questions = serving_embedders(settings.embedder, index.manifest.embedder)
    if query_embedder is None:
        query_embedder = questions or create_query_embedder(settings.embedder, embedder)
        if settings.retrieval.batch_queries:
            query_embedder = BatchingEmbedder(query_embedder)  # kept across index swaps: one model, one worker
    r = settings.retrieval
    retriever = HybridRetriever(
        index,
        query_embedder,
        candidates=r.candidates,
        rrf_k=r.rrf_k,
        dense_weight=r.dense_weight,
        lexical_weight=r.lexical_weight,
        rerank_depth=r.rerank_depth,
        keep_top=r.keep_top,
        reranker=create_reranker(settings.retrieval),
    )
    reader = create_reader(settings.reader)
    pipeline = Pipeline(
        index,
        embedder,
        query_embedder=query_embedder,
        retriever=retriever,
        generators=lambda name: create_generator(
            settings.generator, backend=name, reader=reader, reader_cfg=settings.reader
        ),
        default_backend=settings.generator.backend,
        top_k=r.top_k,
        kb=kb,
    )
    if warm:
        pipeline.warm_up()
    return pipeline
