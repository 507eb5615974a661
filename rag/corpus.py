"""The corpus behind the documents: list and read indexed documents, add uploaded files, delete sources, and
recover from an upload cut short by a crash.

No framework here: uploads arrive as (file name, binary file object) pairs and every function is synchronous,
meant to run in a worker thread under ``LiveIndex.write``. ``rebuild(pipeline, roots)`` is the incremental
build the caller wires in (``RagService``).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import secrets
import shutil
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any, Literal

from rag.errors import (
    ConflictError,
    DocumentNotFoundError,
    FileTooLargeError,
    IngestError,
    RAGError,
    UnsupportedFileError,
)
from rag.index import store
from rag.index.manifest import Manifest
from rag.indexing import BuildReport
from rag.loaders import ReadOptions, SourceFile, load_source, supported_suffixes
from rag.pipeline import Pipeline

log = logging.getLogger(__name__)

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
        "total": pipeline.index.manifest.counts.documents,
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
    if suffix not in supported_suffixes() or not PurePosixPath(name).stem:
        raise UnsupportedFileError(
            f"{filename!r}: unsupported file type {suffix or '(no suffix)'!r}; "
            f"supported: {', '.join(supported_suffixes())}"
        )
    stem = PurePosixPath(name).stem
    while len((stem + suffix).encode()) > _MAX_NAME_BYTES:
        stem = stem[:-1]
    return stem + suffix


Rebuild = Callable[[Pipeline, Sequence[Path]], BuildReport]


def _corpus_roots(corpus: Sequence[Path], pipeline: Pipeline) -> list[Path]:
    """The configured corpus roots, refusing to rebuild when they are not what the live index was built from
    (a rebuild from the wrong folder would drop every document)."""
    roots = [Path(p) for p in corpus]
    names = {r.resolve().name for r in roots}
    built = {PurePosixPath(rel).parts[0] for rel in pipeline.index.manifest.sources}
    if not built <= names:
        raise ConflictError(
            f"the index was built from {sorted(built)} but this server's corpus is {[str(r) for r in roots]}; "
            "start it where the corpus folder is, or set RAG_INDEX__CORPUS"
        )
    return roots


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


@dataclass(frozen=True, slots=True)
class FileOutcome:
    """What became of one uploaded file: ``added``, ``replaced`` (a corpus file of that name existed and now
    holds the new content) or ``failed`` (with the reason; the corpus and the index are as they were)."""

    name: str
    status: Literal["added", "replaced", "failed"]
    source: str | None = None  # the corpus-relative source ("corpus/x.txt") when saved
    reason: str = ""
    error: RAGError | None = None  # what failed, for an edge that maps a lone failure to its status

    @property
    def ok(self) -> bool:
        return self.status != "failed"


@dataclass(slots=True)
class _Staged:
    position: int
    name: str  # the client's file name
    tmp: Path
    final: Path
    rel: str
    backup: Path | None = None  # a second link to the file this upload replaces, until the build succeeded


def outcome_dict(outcome: FileOutcome) -> dict[str, Any]:
    return {"name": outcome.name, "status": outcome.status, "source": outcome.source, "reason": outcome.reason}


def nothing_added(outcomes: Sequence[FileOutcome]) -> RAGError:
    """The error for an upload none of whose files could be added: a lone file's own (so its status is
    415, 413 or 422), else an IngestError naming each file."""
    if len(outcomes) == 1 and outcomes[0].error is not None:
        return outcomes[0].error
    return IngestError("no file was added: " + "; ".join(f"{o.name}: {o.reason}" for o in outcomes))


def add_documents(
    pipeline: Pipeline,
    uploads: Sequence[Upload],
    *,
    corpus: Sequence[Path],
    max_bytes: int,
    rebuild: Rebuild,
    reading: ReadOptions | None = None,
) -> tuple[list[FileOutcome], BuildReport | None]:
    """Save ``uploads`` into the first corpus folder and rebuild; one outcome per upload, in order.

    Each file is written under a hidden temporary name and loaded there first; only files that load are
    moved into place. A file that replaces one of the same name keeps the old one linked aside until the
    build succeeded, so a failed upload or a failed build leaves the corpus (and so the index) as it was.
    No build (``None``) when no file could be added.
    """
    if not uploads:
        raise UnsupportedFileError("no file uploaded: send one or more `files` parts (multipart/form-data)")
    roots = _corpus_roots(corpus, pipeline)
    folder = roots[0]
    if folder.exists() and not folder.is_dir():
        raise ConflictError(f"the first corpus folder {folder.name!r} is a file; uploads need a corpus folder")
    folder.mkdir(parents=True, exist_ok=True)
    limit = max_bytes
    outcomes: dict[int, FileOutcome] = {}
    staged: list[_Staged] = []
    with _Journal.open(folder) as journal:
        try:
            for i, upload in enumerate(uploads):
                try:
                    staged.append(
                        _stage(upload, i, folder, limit, journal, taken={s.final.name for s in staged}, reading=reading)
                    )
                except (UnsupportedFileError, FileTooLargeError, IngestError) as exc:
                    outcomes[i] = FileOutcome(upload.filename, "failed", reason=str(exc), error=exc)
            if not staged:
                return [outcomes[i] for i in sorted(outcomes)], None
            for s in staged:
                _publish(s, journal)
            try:
                report = rebuild(pipeline, roots)
            except BaseException:
                for s in staged:
                    _withdraw(s)
                raise
            failed = dict(report.failed)
            for s in staged:
                if s.rel in failed:  # loaded when staged, yet not indexed: put back what was there
                    _withdraw(s)
                    outcomes[s.position] = FileOutcome(s.name, "failed", reason=failed[s.rel])
                    continue
                outcomes[s.position] = FileOutcome(s.name, "replaced" if s.backup else "added", source=s.rel)
                if s.backup is not None:
                    s.backup.unlink(missing_ok=True)
            return [outcomes[i] for i in sorted(outcomes)], report
        finally:
            for s in staged:
                s.tmp.unlink(missing_ok=True)


class _Journal:
    """What an upload in progress has put in a corpus folder, one JSON line per step, in a hidden file locked
    for as long as the upload runs. A server killed mid-upload leaves it behind; ``recover_uploads`` then
    finds it unlocked and undoes what the index does not hold, so the file is never half there."""

    PATTERN = ".upload-journal-*.jsonl"

    def __init__(self, path: Path, fh: IO[str]) -> None:
        self.path, self._fh = path, fh

    @classmethod
    @contextlib.contextmanager
    def open(cls, folder: Path) -> Iterator[_Journal]:
        path = folder / f".upload-journal-{secrets.token_hex(4)}.jsonl"
        with open(path, "a", encoding="utf-8") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield cls(path, fh)
            finally:
                path.unlink(missing_ok=True)  # still locked: a recovery never reads a journal being closed

    def note(self, **step: Any) -> None:
        """Record a step before it is taken (written through to the disk)."""
        self._fh.write(json.dumps(step, ensure_ascii=False) + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())


def recover_uploads(index_dir: Path, corpus: Sequence[Path]) -> list[str]:
    """Undo what uploads cut short by a crash left in the corpus folders; one line per file put right.

    A file the live index holds (same content hash) stays and its backup goes; any other file an unfinished
    upload moved into place goes (a file it replaced comes back), and its staged copies are removed. Journals
    still locked belong to an upload running in another process and are left alone.
    """
    try:
        sources = Manifest.read(store.current_build(index_dir)).sources
    except RAGError:
        sources = {}
    done: list[str] = []
    for root in (Path(p) for p in corpus):
        for path in sorted(root.glob(_Journal.PATTERN)) if root.is_dir() else []:
            with open(path, encoding="utf-8") as fh:
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue
                steps = [json.loads(line) for line in fh.read().splitlines() if line.endswith("}")]
                done += _undo(root, steps, sources)
                path.unlink(missing_ok=True)
    for line in done:
        log.warning("recovered from an interrupted upload: %s", line)
    return done


def _undo(folder: Path, steps: Sequence[dict[str, Any]], sources: dict[str, Any]) -> list[str]:
    done = []
    for step in steps:
        if "tmp" in step:
            (folder / step["tmp"]).unlink(missing_ok=True)
            continue
        final, backup = folder / step["name"], folder / step["backup"] if step.get("backup") else None
        indexed = sources.get(step["rel"], {}).get("sha256") == step["sha256"] == _sha256(final)
        if indexed:
            if backup is not None:
                backup.unlink(missing_ok=True)
            done.append(f"{step['rel']}: kept (the index holds it)")
        elif backup is not None and backup.exists():
            os.replace(backup, final)
            done.append(f"{step['rel']}: the file it replaced is back")
        elif backup is None and _sha256(final) == step["sha256"]:
            final.unlink()
            done.append(f"{step['rel']}: removed (it was never indexed)")
    return done


def _sha256(path: Path) -> str | None:
    return store.file_sha256(path) if path.is_file() else None


def _stage(
    upload: Upload,
    position: int,
    folder: Path,
    limit: int,
    journal: _Journal,
    *,
    taken: set[str],
    reading: ReadOptions | None = None,
) -> _Staged:
    """Copy one upload to a hidden name in ``folder`` (a `rag index build` beside never reads half a file) and
    check that it loads; raises the reason it cannot be added."""
    name = safe_name(upload.filename)
    if name in taken:
        raise UnsupportedFileError(f"{upload.filename!r}: another file of this upload has the same name")
    final = folder / name
    if final.resolve().parent != folder.resolve():  # cannot happen with safe_name; checked anyway
        raise UnsupportedFileError(f"{name!r} would leave the corpus folder")
    tmp = folder / f".upload-{secrets.token_hex(4)}-{name}"
    journal.note(tmp=tmp.name)
    try:
        copy_limited(upload, tmp, limit)
        rel = f"{folder.resolve().name}/{name}"
        bad: list[IngestError] = []
        try:
            loaded = sum(1 for _ in load_source(SourceFile(tmp, folder, rel), on_error=bad.append, options=reading))
        except IngestError as exc:
            raise IngestError(str(exc).replace(str(tmp), name)) from exc
        if not loaded:
            why = str(bad[0]).replace(str(tmp), name) if bad else f"{name}: no documents in the file"
            raise IngestError(why)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return _Staged(position, upload.filename, tmp, final, rel)


def _publish(s: _Staged, journal: _Journal) -> None:
    """Move a staged file into place, first linking any file it replaces aside (hidden) so it can come back."""
    backup = s.final.with_name(f".replaced-{secrets.token_hex(4)}-{s.final.name}") if s.final.exists() else None
    journal.note(name=s.final.name, rel=s.rel, sha256=_sha256(s.tmp), backup=backup.name if backup else None)
    if backup is not None:
        s.backup = backup
        try:
            os.link(s.final, s.backup)
        except OSError:  # a file system without hard links
            shutil.copy2(s.final, s.backup)
    os.replace(s.tmp, s.final)


def _withdraw(s: _Staged) -> None:
    """Undo ``_publish``: the replaced file comes back; a new file goes (only files this upload created)."""
    if s.backup is not None:
        os.replace(s.backup, s.final)
        s.backup = None
    else:
        s.final.unlink(missing_ok=True)


def copy_limited(upload: Upload, dest: Path, limit: int) -> None:
    size = 0
    with open(dest, "wb") as out:
        while block := upload.file.read(_BLOCK):
            size += len(block)
            if size > limit:
                raise FileTooLargeError(
                    f"{upload.filename!r} is larger than the {limit / 1024 / 1024:g} MB limit (RAG_API__MAX_UPLOAD_MB)"
                )
            out.write(block)


def delete_document(pipeline: Pipeline, doc_id: str, *, corpus: Sequence[Path], rebuild: Rebuild) -> BuildReport:
    """Remove the source file of a one-file document and rebuild."""
    doc = pipeline.index.chunks.document(doc_id)
    if doc is None:
        raise DocumentNotFoundError(f"no document {doc_id!r} in the index — `GET /documents` lists them")
    roots = _corpus_roots(corpus, pipeline)
    source = pipeline.index.manifest.sources.get(doc.source, {})
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
    return rebuild(pipeline, roots)
