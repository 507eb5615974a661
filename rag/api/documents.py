"""Corpus files behind the document endpoints: list and read documents, save uploads, delete sources.

No framework here: uploads arrive as (file name, binary file object) pairs and every function is synchronous,
meant to run in a worker thread under ``LivePipeline.write``.
"""

from __future__ import annotations

import os
import secrets
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any

from rag.api.errors import ConflictError, DocumentNotFoundError, FileTooLargeError, UnsupportedFileError
from rag.errors import IngestError
from rag.indexing import BuildReport, build_index
from rag.loaders import SUPPORTED_SUFFIXES
from rag.pipeline import Pipeline
from rag.settings import Settings

_FORBIDDEN = set('<>:"/\\|?*')
_MAX_NAME_BYTES = 200
_BLOCK = 1 << 20


@dataclass(frozen=True, slots=True)
class Upload:
    filename: str
    file: IO[bytes]


def summary(pipeline: Pipeline, doc_id: str) -> dict[str, Any]:
    info = pipeline.index.chunks.document_infos([doc_id]).get(doc_id)
    if info is None:
        raise DocumentNotFoundError(f"no document {doc_id!r} in the index — `GET /documents` lists them")
    return {"id": info.id, "title": info.title, "source": info.source, "date": info.date, "chunks": info.n_chunks}


def list_documents(pipeline: Pipeline, *, offset: int, limit: int) -> dict[str, Any]:
    infos = pipeline.index.chunks.documents(offset=offset, limit=limit)
    return {
        "total": int(pipeline.index.manifest["counts"]["documents"]),
        "offset": offset,
        "limit": limit,
        "documents": [
            {"id": i.id, "title": i.title, "source": i.source, "date": i.date, "chunks": i.n_chunks} for i in infos
        ],
    }


def get_document(pipeline: Pipeline, doc_id: str) -> dict[str, Any]:
    doc = pipeline.index.chunks.document(doc_id)
    if doc is None:
        raise DocumentNotFoundError(f"no document {doc_id!r} in the index — `GET /documents` lists them")
    return {**summary(pipeline, doc_id), "publisher": doc.publisher, "content_hash": doc.content_hash, "text": doc.text}


def safe_name(filename: str) -> str:
    """A plain file name from a client's one: no folders, no hidden or special names, a supported suffix."""
    name = PurePosixPath(filename.replace("\\", "/")).name
    name = unicodedata.normalize("NFC", name)
    name = "".join(ch for ch in name if ch.isprintable() and ch not in _FORBIDDEN).strip().lstrip(".").strip()
    suffix = PurePosixPath(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES or not PurePosixPath(name).stem:
        raise UnsupportedFileError(
            f"{filename!r}: unsupported file type {suffix or '(no suffix)'!r}; "
            f"supported: {', '.join(SUPPORTED_SUFFIXES)}"
        )
    stem = PurePosixPath(name).stem
    while len((stem + suffix).encode()) > _MAX_NAME_BYTES:
        stem = stem[:-1]
    return stem + suffix


def _corpus_roots(settings: Settings, pipeline: Pipeline) -> list[Path]:
    """The configured corpus roots, refusing to rebuild when they are not what the live index was built from
    (a rebuild from the wrong folder would drop every document)."""
    roots = [Path(p) for p in settings.index.corpus]
    names = {r.resolve().name for r in roots}
    built = {PurePosixPath(rel).parts[0] for rel in pipeline.index.manifest.get("sources", {})}
    if not built <= names:
        raise ConflictError(
            f"the index was built from {sorted(built)} but this server's corpus is {[str(r) for r in roots]}; "
            "start it where the corpus folder is, or set RAG_INDEX__CORPUS"
        )
    return roots


def _rebuild(settings: Settings, pipeline: Pipeline, roots: Sequence[Path]) -> BuildReport:
    return build_index(
        settings, corpus=roots, index_dir=Path(settings.index.dir), embedder=pipeline.embedder, progress=False
    )


def report_dict(report: BuildReport) -> dict[str, Any]:
    return {
        "documents": report.documents,
        "chunks": report.chunks,
        "added": report.added,
        "changed": report.changed,
        "removed": report.removed,
        "embedded_chunks": report.embedded_chunks,
        "seconds": round(report.seconds, 3),
    }


def add_documents(settings: Settings, pipeline: Pipeline, uploads: Sequence[Upload]) -> tuple[list[str], BuildReport]:
    """Save ``uploads`` into the first corpus folder and rebuild; returns their sources (``rel``) and the report."""
    if not uploads:
        raise UnsupportedFileError("no file uploaded: send one or more `files` parts (multipart/form-data)")
    roots = _corpus_roots(settings, pipeline)
    folder = roots[0]
    if folder.exists() and not folder.is_dir():
        raise ConflictError(f"the first corpus path {folder} is a file; uploads need a corpus folder")
    folder.mkdir(parents=True, exist_ok=True)
    names = [safe_name(u.filename) for u in uploads]
    limit = int(settings.api.max_upload_mb * 1024 * 1024)
    staged: list[tuple[Path, Path]] = []
    try:
        for upload, name in zip(uploads, names, strict=True):
            # Hidden while written, so a `rag index build` running beside never reads half a file.
            tmp = folder / f".upload-{secrets.token_hex(4)}-{name}"
            staged.append((tmp, folder / name))
            _copy_limited(upload, tmp, limit)
    except BaseException:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        raise
    for tmp, final in staged:
        if final.resolve().parent != folder.resolve():  # cannot happen with safe_name; checked anyway
            raise UnsupportedFileError(f"{final.name!r} would leave the corpus folder")
        os.replace(tmp, final)
    rels = [f"{folder.resolve().name}/{name}" for name in names]
    report = _rebuild(settings, pipeline, roots)
    failed = [(src, why) for src, why in report.failed if src in rels]
    if failed:
        for src, _ in failed:
            (folder / PurePosixPath(src).name).unlink(missing_ok=True)
        raise IngestError("; ".join(f"{PurePosixPath(src).name}: {why}" for src, why in failed))
    return rels, report


def _copy_limited(upload: Upload, dest: Path, limit: int) -> None:
    size = 0
    with open(dest, "wb") as out:
        while block := upload.file.read(_BLOCK):
            size += len(block)
            if size > limit:
                raise FileTooLargeError(
                    f"{upload.filename!r} is larger than the {limit / 1024 / 1024:g} MB limit (RAG_API__MAX_UPLOAD_MB)"
                )
            out.write(block)


def delete_document(settings: Settings, pipeline: Pipeline, doc_id: str) -> BuildReport:
    """Remove the source file of a one-file document and rebuild."""
    doc = pipeline.index.chunks.document(doc_id)
    if doc is None:
        raise DocumentNotFoundError(f"no document {doc_id!r} in the index — `GET /documents` lists them")
    roots = _corpus_roots(settings, pipeline)
    source = pipeline.index.manifest["sources"].get(doc.source, {})
    if doc.source.lower().endswith(".jsonl") or len(source.get("documents", [])) != 1:
        raise ConflictError(
            f"document {doc_id!r} is a record of {doc.source}, not a file of its own; "
            "edit that file and run `rag index build`"
        )
    head, *rest = PurePosixPath(doc.source).parts
    path = None
    for root in roots:
        if root.is_dir() and root.resolve().name == head:
            candidate = (root / Path(*rest)).resolve()
            if candidate.is_relative_to(root.resolve()) and candidate.is_file():
                path = candidate
    if path is None:
        raise ConflictError(f"the source file {doc.source} of document {doc_id!r} is not in the corpus folders")
    path.unlink()
    return _rebuild(settings, pipeline, roots)
