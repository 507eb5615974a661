"""What the UI does with the `rag` package, without Gradio: ask (streaming, with the conversation so far),
search, index status, and document uploads and deletes through the live pipeline's write lock."""

from __future__ import annotations

import inspect
import secrets
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from rag.api import documents
from rag.errors import RAGError
from rag.pipeline import Pipeline, iter_pieces
from rag.settings import Settings
from rag.types import Answer
from ui.render import DocView

T = TypeVar("T")


class PipelineHolder(Protocol):
    """The live pipeline of the app (``rag.api.live.LivePipeline``): read with ``current()``, change the
    index only through ``write()``, which runs one write at a time and switches to the new build."""

    settings: Settings
    error: str | None

    @property
    def ready(self) -> bool: ...

    def current(self) -> Pipeline: ...

    def write(self, change: Callable[[Pipeline], T]) -> tuple[T, Pipeline]: ...


def doc_views(pipeline: Pipeline, doc_ids: Sequence[str]) -> dict[str, DocView]:
    """Title, date, source and cleaned text of each document (absent ids are left out)."""
    infos = pipeline.index.chunks.document_infos(doc_ids)
    views: dict[str, DocView] = {}
    for doc_id, info in infos.items():
        doc = pipeline.index.chunks.document(doc_id)
        views[doc_id] = DocView(doc_id, info.title, info.source, info.date, doc.text if doc else None)
    return views


def accepts_history(pipeline: Pipeline) -> bool:
    """Whether this pipeline's ``ask_stream`` takes the conversation so far (follow-up questions)."""
    try:
        return "history" in inspect.signature(pipeline.ask_stream).parameters
    except (TypeError, ValueError):
        return False


def ask(
    pipeline: Pipeline,
    question: str,
    *,
    history: Sequence[dict[str, str]] = (),
    backend: str | None = None,
    top_k: int | None = None,
) -> Iterator[str | Answer]:
    """The answer's text pieces as they come, then the ``Answer``; ``history`` (earlier turns as
    ``{"role", "content"}``) is passed on when the pipeline supports follow-up questions."""
    kwargs: dict[str, Any] = {"backend": backend or None, "top_k": top_k or None}
    if history and accepts_history(pipeline):
        kwargs["history"] = list(history)
    return iter_pieces(pipeline.ask_stream(question, **kwargs))


@dataclass(frozen=True, slots=True)
class IndexStatus:
    """What the status panel shows: ``state`` is ready, loading, failed or empty."""

    state: str
    detail: str | None = None
    info: dict[str, Any] | None = None


def index_status(holder: PipelineHolder) -> IndexStatus:
    if not holder.ready:
        return IndexStatus("failed" if holder.error else "loading", holder.error)
    try:
        pipeline = holder.current()
    except RAGError as exc:
        return IndexStatus("failed", str(exc))
    manifest = pipeline.index.manifest
    embedder = manifest.get("embedder", {})
    info = {
        "documents": int(manifest["counts"]["documents"]),
        "chunks": int(manifest["counts"]["chunks"]),
        "model": f"{embedder.get('model', '?')} ({embedder.get('backend', '?')}, {embedder.get('dim', '?')}d)",
        "built_at": manifest.get("built_at"),
        "build": manifest.get("build_id"),
        "backend": holder.settings.generator.backend,
    }
    return IndexStatus("empty" if info["documents"] == 0 else "ready", None, info)


def list_documents(pipeline: Pipeline) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = documents.list_documents(pipeline, offset=0, limit=10_000)["documents"]
    return docs


def check_key(settings: Settings, given: str | None) -> bool:
    """Writes need ``RAG_API__KEY`` when the server sets one, as the HTTP write endpoints do."""
    expected = settings.api.key
    if not expected:
        return True
    return bool(given) and secrets.compare_digest(str(given).encode(), expected.encode())


@dataclass(frozen=True, slots=True)
class FileResult:
    """One uploaded file: ``ok`` with the documents it became, or the reason it was not added."""

    name: str
    ok: bool
    message: str
    documents: tuple[dict[str, Any], ...] = ()
    replaced: bool = False


def upload_files(
    holder: PipelineHolder, paths: Sequence[Path], names: Sequence[str] | None = None, *, upload_dir: Path
) -> list[FileResult]:
    """Add files the browser uploaded to the corpus and the live index in one incremental build; a result per
    file. Only files under ``upload_dir`` (where the UI framework keeps what browsers sent) are read: a path
    that names any other server file is refused, never copied."""
    settings = holder.settings
    names = list(names) if names is not None else [Path(p).name for p in paths]
    root = upload_dir.resolve()
    results: dict[int, FileResult] = {}
    accepted: list[tuple[int, Path, str]] = []
    for i, (path, name) in enumerate(zip(paths, names, strict=True)):
        real = Path(path).resolve()
        if not real.is_relative_to(root) or not real.is_file():
            results[i] = FileResult(name, False, "not a file uploaded by this browser")
            continue
        accepted.append((i, real, name))
    if accepted:
        with ExitStack() as stack:
            uploads = [documents.Upload(name, stack.enter_context(open(p, "rb"))) for _, p, name in accepted]
            (outcomes, _), pipeline = holder.write(lambda p: documents.add_documents(settings, p, uploads))
        sources = pipeline.index.manifest.get("sources", {})
        for (i, _, name), outcome in zip(accepted, outcomes, strict=True):
            if outcome.ok and outcome.source in sources:
                docs = tuple(documents.summary(pipeline, d) for d in sources[outcome.source]["documents"])
                results[i] = FileResult(name, True, "", docs, replaced=outcome.status == "replaced")
            else:
                results[i] = FileResult(name, False, outcome.reason or "not indexed")
    return [results[i] for i in sorted(results)]


def delete_document(holder: PipelineHolder, doc_id: str) -> str:
    """Delete a one-file document's source and rebuild; returns the title that was removed."""
    title = holder.current().index.chunks.document_infos([doc_id]).get(doc_id)
    holder.write(lambda p: documents.delete_document(holder.settings, p, doc_id))
    return title.title if title else doc_id
