"""The service every edge calls: ask, search, read documents, add and delete files, status — framework-free.

The FastAPI routers and the Gradio app are thin adapters over one ``RagService`` (router → service →
component); ``build_service(settings)`` is the composition root that makes it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict, Unpack

from rag import corpus
from rag.citations import AnswerStream
from rag.corpus import Upload
from rag.errors import ReadOnlyError, UnauthorizedError
from rag.indexing import BuildReport, build_index
from rag.live import LiveIndex
from rag.loaders import ReadOptions
from rag.pipeline import Pipeline, SearchResult, build_pipeline
from rag.protocols import Embedder
from rag.settings import Settings
from rag.types import Answer

# The document and question embedders another service has loaded (None: load them).
ModelSource = Callable[[], tuple[Embedder | None, Embedder | None]]

KEY_HINT = "this endpoint needs the API key: send `Authorization: Bearer <key>` or `X-API-Key`"


@dataclass(frozen=True, slots=True)
class Filters:
    """Retrieval restricted to some documents and/or dates (ISO days, inclusive)."""

    doc_ids: Collection[str] | None = None
    date_from: str | None = None
    date_to: str | None = None

    def kwargs(self) -> dict[str, Any]:
        return {"doc_ids": self.doc_ids, "date_from": self.date_from, "date_to": self.date_to}


NO_FILTERS = Filters()


class AskOptions(TypedDict, total=False):
    """The keyword options of ``RagService.ask_stream`` (and ``ask``)."""

    top_k: int | None
    backend: str | None
    history: Sequence[Mapping[str, str]] | None
    filters: Filters


class RagService:
    """Questions and documents over the live index; writes need the key when one is set."""

    def __init__(
        self,
        live: LiveIndex,
        *,
        corpus_roots: Sequence[Path],
        rebuild: corpus.Rebuild,
        api_key: str | None = None,
        read_only: bool = False,
        writer_url: str = "",
        max_upload_bytes: int = 20 * 1024 * 1024,
        top_k: int = 5,
        default_backend: str = "extractive",
        reading: ReadOptions | None = None,
    ) -> None:
        self.live = live
        self.top_k, self.default_backend = top_k, default_backend  # what a question gets when it names neither
        self.corpus_roots = list(corpus_roots)
        self.max_upload_bytes = max_upload_bytes
        self._rebuild = rebuild
        self._reading = reading
        self._key = api_key or None
        self.read_only, self._writer_url = read_only, writer_url

    # --- the key -------------------------------------------------------------------------------------------

    @property
    def needs_key(self) -> bool:
        return self._key is not None

    def key_ok(self, given: str | None) -> bool:
        """Whether ``given`` opens the writes (always, when no key is set)."""
        if self._key is None:
            return True
        return bool(given) and secrets.compare_digest(str(given).encode(), self._key.encode())

    def check_key(self, given: str | None) -> None:
        """What every write checks first: this server takes writes (it is not a read-only replica), and
        ``given`` is the key when one is set."""
        if self.read_only:
            where = f" at {self._writer_url}" if self._writer_url else ""
            raise ReadOnlyError(
                f"this server is a read-only serving replica (RAG_API__READ_ONLY): send uploads and deletes to the "
                f"builder{where}; this replica serves its builds as they are published"
            )
        if not self.key_ok(given):
            raise UnauthorizedError(KEY_HINT)

    # --- reading -------------------------------------------------------------------------------------------

    def pipeline(self) -> Pipeline:
        """The live pipeline for one request (a build published beside the server is switched to first)."""
        return self.live.current()

    def ask_stream(
        self,
        question: str,
        *,
        top_k: int | None = None,
        backend: str | None = None,
        history: Sequence[Mapping[str, str]] | None = None,
        filters: Filters = NO_FILTERS,
    ) -> AnswerStream:
        """The answer as it is written (an unknown backend fails here, before anything streams)."""
        return self.pipeline().ask_stream(question, top_k=top_k, backend=backend, history=history, **filters.kwargs())

    def ask(self, question: str, **options: Unpack[AskOptions]) -> Answer:
        """``ask_stream`` with the same options, read to its end."""
        return self.ask_stream(question, **options).read()

    def search(self, question: str, *, top_k: int | None = None, filters: Filters = NO_FILTERS) -> SearchResult:
        return self.pipeline().search(question, top_k=top_k, **filters.kwargs())

    def documents(self, *, offset: int = 0, limit: int = 100) -> dict[str, Any]:
        return corpus.list_documents(self.pipeline(), offset=offset, limit=limit)

    def document(self, doc_id: str) -> dict[str, Any]:
        return corpus.get_document(self.pipeline(), doc_id)

    def document_summaries(self, doc_ids: Sequence[str]) -> list[dict[str, Any]]:
        pipeline = self.pipeline()
        return [corpus.summary(pipeline, d) for d in doc_ids]

    def status(self) -> dict[str, Any]:
        """``state`` (loading, failed, damaged, ready) with what is served: build, counts, model, fallback."""
        self.live.refresh()
        if not self.live.ready:
            return {"status": "loading" if self.live.error is None else "failed", "detail": self.live.error}
        if self.live.damaged is not None:
            return {"status": "damaged", "detail": self.live.damaged, **self.live.describe()}
        return {"status": "ready", **self.live.describe()}

    # --- writing -------------------------------------------------------------------------------------------

    def add_files(self, uploads: Sequence[Upload], *, key: str | None, strict: bool = True) -> dict[str, Any]:
        """Save ``uploads`` into the first corpus folder and serve the updated index: one result per file.
        When no file can be added, the error of the lone file (or one naming each) is raised (``strict``), or
        the results say why for each (``build`` None)."""
        self.check_key(key)
        (outcomes, report), pipeline = self.live.write(
            lambda p: corpus.add_documents(
                p,
                uploads,
                corpus=self.corpus_roots,
                max_bytes=self.max_upload_bytes,
                rebuild=self._rebuild,
                reading=self._reading,
            )
        )
        if report is None:
            if strict:
                raise corpus.nothing_added(outcomes)
            files = [{**corpus.outcome_dict(o), "documents": []} for o in outcomes]
            return {"build": None, "documents": [], "files": files, "index": None}
        sources = pipeline.index.manifest.sources
        files = [
            {**corpus.outcome_dict(o), "documents": sources[o.source]["documents"] if o.source in sources else []}
            for o in outcomes
        ]
        docs = [corpus.summary(pipeline, doc_id) for f in files for doc_id in f["documents"]]
        return {"build": report.build_id, "documents": docs, "files": files, "index": corpus.report_dict(report)}

    def delete_document(self, doc_id: str, *, key: str | None) -> dict[str, Any]:
        """Remove the source file of a one-file document and serve the updated index."""
        self.check_key(key)
        report, _ = self.live.write(
            lambda p: corpus.delete_document(p, doc_id, corpus=self.corpus_roots, rebuild=self._rebuild)
        )
        return {"build": report.build_id, "documents": [], "deleted": [doc_id], "index": corpus.report_dict(report)}


def build_service(settings: Settings, *, kb: str = "", models: ModelSource | None = None) -> RagService:
    """The composition root of the service: settings → live index (loaded by ``service.live.load()``).

    ``kb`` names the knowledge base the index is (its hits say so); ``models()`` may hand over embedders
    already loaded by another knowledge base's service, so that one process loads the model once."""
    index_dir = Path(settings.index.dir)
    roots = [Path(p) for p in settings.index.corpus]

    def reopen(old: Pipeline) -> Pipeline:
        return build_pipeline(
            settings, index_dir=index_dir, embedder=old.embedder, query_embedder=old.query_embedder, warm=False, kb=kb
        )

    def open_pipeline(build: Path | None) -> Pipeline:
        embedder, questions = models() if models else (None, None)
        return build_pipeline(
            settings, index_dir=index_dir, build=build, kb=kb, embedder=embedder, query_embedder=questions
        )

    def rebuild(pipeline: Pipeline, folders: Sequence[Path]) -> BuildReport:
        return build_index(settings, corpus=folders, index_dir=index_dir, embedder=pipeline.embedder, progress=False)

    live = LiveIndex(
        index_dir,
        open_pipeline=open_pipeline,
        reopen=reopen,
        recover=lambda: corpus.recover_uploads(index_dir, roots),
    )
    return RagService(
        live,
        corpus_roots=roots,
        rebuild=rebuild,
        api_key=settings.api.key,
        read_only=settings.api.read_only,
        writer_url=settings.api.writer_url,
        max_upload_bytes=int(settings.api.max_upload_mb * 1024 * 1024),
        top_k=settings.retrieval.top_k,
        default_backend=settings.generator.backend,
        reading=ReadOptions(**settings.loaders.model_dump()),
    )
