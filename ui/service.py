"""What the UI does with the `rag` service, without Gradio: ask (streaming, with the conversation so far),
search, index status, and document uploads and deletes (the service checks the key and runs one write at a
time)."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.citations import AnswerStream
from rag.corpus import Upload
from rag.kbs import KnowledgeBases
from rag.service import RagService
from rag.types import Citation
from ui.render import DocView


def doc_views(svc: RagService, doc_ids: Sequence[str]) -> dict[str, DocView]:
    """Title, date, source and cleaned text of each document (absent ids are left out)."""
    chunks = svc.pipeline().index.chunks
    views: dict[str, DocView] = {}
    for doc_id, info in chunks.document_infos(doc_ids).items():
        doc = chunks.document(doc_id)
        views[doc_id] = DocView(
            doc_id, info.title, info.source, info.date, doc.text if doc else None, doc.pages if doc else ()
        )
    return views


def cited_doc_views(svc: RagService, kbs: KnowledgeBases | None, citations: Sequence[Citation]) -> dict[str, DocView]:
    """``doc_views`` of the cited documents, each read from the knowledge base its citation names."""
    views: dict[str, DocView] = {}
    for kb in dict.fromkeys(c.kb for c in citations):
        source = kbs.service(kb) if kbs is not None and kb else svc
        views.update(doc_views(source, [c.doc_id for c in citations if c.kb == kb]))
    return views


def ask(
    svc: RagService,
    question: str,
    *,
    history: Sequence[dict[str, str]] = (),
    backend: str | None = None,
    top_k: int | None = None,
    kbs: KnowledgeBases | None = None,
    names: Sequence[str] = (),
) -> AnswerStream:
    """The answer as it is written: iterate for its pieces, then read ``.answer``; ``history`` holds the
    earlier turns as ``{"role", "content"}``, for follow-up questions; ``names``: the knowledge bases of
    ``kbs`` to ask (none: ``svc``'s)."""
    turns, backend, top_k = list(history) or None, backend or None, top_k or None
    if kbs is not None and names:
        return kbs.ask_stream(question, kbs=list(names), history=turns, backend=backend, top_k=top_k)
    return svc.ask_stream(question, history=turns, backend=backend, top_k=top_k)


@dataclass(frozen=True, slots=True)
class IndexStatus:
    """What the status panel shows: ``state`` is ready, loading, failed, damaged or empty."""

    state: str
    detail: str | None = None
    info: dict[str, Any] | None = None


def index_status(svc: RagService) -> IndexStatus:
    status = svc.status()
    if status["status"] != "ready":
        return IndexStatus(status["status"], status.get("detail"))
    embedder = status.get("embedder", {})
    info = {
        "documents": int(status["documents"]),
        "chunks": int(status["chunks"]),
        "model": f"{embedder.get('model', '?')} ({embedder.get('backend', '?')}, {embedder.get('dim', '?')}d)",
        "built_at": status.get("built_at"),
        "build": status.get("build"),
        "backend": status.get("backend"),
    }
    return IndexStatus("empty" if info["documents"] == 0 else "ready", None, info)


def list_documents(svc: RagService) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = svc.documents(offset=0, limit=10_000)["documents"]
    return docs


def check_key(svc: RagService, given: str | None) -> bool:
    """Writes need ``RAG_API__KEY`` when the server sets one, as the HTTP write endpoints do."""
    return svc.key_ok(given)


@dataclass(frozen=True, slots=True)
class FileResult:
    """One uploaded file: ``ok`` with the documents it became, or the reason it was not added."""

    name: str
    ok: bool
    message: str
    documents: tuple[dict[str, Any], ...] = ()
    replaced: bool = False


def upload_files(
    svc: RagService,
    paths: Sequence[Path],
    names: Sequence[str] | None = None,
    *,
    upload_dir: Path,
    key: str | None = None,
) -> list[FileResult]:
    """Add files the browser uploaded to the corpus and the live index in one incremental build; a result per
    file. Only files under ``upload_dir`` (where the UI framework keeps what browsers sent) are read: a path
    that names any other server file is refused, never copied."""
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
            uploads = [Upload(name, stack.enter_context(open(p, "rb"))) for _, p, name in accepted]
            change = svc.add_files(uploads, key=key, strict=False)
        docs = {d["id"]: d for d in change["documents"]}
        for (i, _, name), outcome in zip(accepted, change["files"], strict=True):
            if outcome["status"] != "failed" and outcome["documents"]:
                found = tuple(docs[d] for d in outcome["documents"] if d in docs)
                results[i] = FileResult(name, True, "", found, replaced=outcome["status"] == "replaced")
            else:
                results[i] = FileResult(name, False, outcome["reason"] or "not indexed")
    return [results[i] for i in sorted(results)]


def delete_document(svc: RagService, doc_id: str, *, key: str | None = None) -> str:
    """Delete a one-file document's source and rebuild; returns the title that was removed."""
    info = svc.pipeline().index.chunks.document_infos([doc_id]).get(doc_id)
    svc.delete_document(doc_id, key=key)
    return info.title if info else doc_id
