"""The index artifact on disk: versioned build folders, artifact checksums, and the SQLite chunk store.

Layout::

    index/
      CURRENT                  name of the live build (replaced atomically)
      builds/<build-id>/       manifest.json, store.sqlite, vectors.npy, vectors.faiss, bm25/
      builds/.tmp-*            a build in progress (a crash leaves only this behind)
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import threading
import weakref
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.errors import IndexCorruptError, IndexNotFoundError
from rag.index.manifest import MANIFEST, Manifest
from rag.types import Chunk, Document, Page

STORE = "store.sqlite"
VECTORS = "vectors.npy"
CURRENT = "CURRENT"
BUILDS = "builds"

_SCHEMA = """
CREATE TABLE documents (
    id TEXT PRIMARY KEY, title TEXT NOT NULL, source TEXT NOT NULL, date TEXT, publisher TEXT,
    content_hash TEXT NOT NULL, text TEXT NOT NULL, first_row INTEGER NOT NULL, n_chunks INTEGER NOT NULL,
    pages TEXT
);
CREATE TABLE chunks (
    row INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, doc_id TEXT NOT NULL, start INTEGER NOT NULL,
    "end" INTEGER NOT NULL, heading TEXT, position INTEGER NOT NULL, text TEXT NOT NULL,
    pages TEXT, ocr INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX chunks_doc ON chunks(doc_id);
"""


def builds_dir(index_dir: Path) -> Path:
    return index_dir / BUILDS


def current_build(index_dir: Path) -> Path:
    """The folder of the live build; ``IndexNotFoundError`` says how to make one."""
    pointer = index_dir / CURRENT
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise IndexNotFoundError(f"no index at {index_dir} — run `rag index build --index {index_dir}`") from None
    path = builds_dir(index_dir) / name
    if not (path / MANIFEST).is_file():
        raise IndexNotFoundError(
            f"the index at {index_dir} points to a missing build {name!r} — run `rag index build --rebuild`"
        )
    return path


def publish_build(index_dir: Path, build: Path) -> None:
    """Make ``build`` the live one with an atomic rename of the pointer file."""
    tmp = index_dir / f".{CURRENT}.{os.getpid()}.tmp"
    tmp.write_text(build.name + "\n", encoding="utf-8")
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, index_dir / CURRENT)


def prune_builds(index_dir: Path, *, keep: int) -> None:
    """Delete abandoned temporary builds and all but the ``keep`` newest finished ones (never the live one)."""
    root = builds_dir(index_dir)
    if not root.is_dir():
        return
    live = (index_dir / CURRENT).read_text(encoding="utf-8").strip() if (index_dir / CURRENT).exists() else ""
    finished = sorted((p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")), reverse=True)
    for path in root.iterdir():
        if path.name.startswith(".tmp-"):
            shutil.rmtree(path, ignore_errors=True)
    for path in finished[keep:]:
        if path.name != live:
            shutil.rmtree(path, ignore_errors=True)


# Files up to this size are also hashed when a build is opened; bigger ones are checked by size there and
# hashed by `rag index verify`.
HASH_ON_LOAD_BYTES = 256 * 1024 * 1024


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes, read a MiB at a time."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def artifact_checksums(build: Path) -> dict[str, dict[str, Any]]:
    """Size and SHA-256 of every file of a finished build but the manifest, by path within the build."""
    return {
        path.relative_to(build).as_posix(): {"size": path.stat().st_size, "sha256": file_sha256(path)}
        for path in sorted(p for p in build.rglob("*") if p.is_file() and p.name != MANIFEST)
    }


def check_artifacts(build: Path, manifest: Manifest, *, hash_limit: int | None) -> list[str]:
    """Problems of the build's files against the manifest's checksums, one line each: a file missing or of
    another size, or (for files up to ``hash_limit`` bytes; None: all) another SHA-256. Builds made before the
    manifest held checksums have none to check."""
    problems: list[str] = []
    for rel, want in sorted(manifest.artifacts.items()):
        path = build / rel
        if not path.is_file():
            problems.append(f"{rel}: missing")
            continue
        size = path.stat().st_size
        if size != want["size"]:
            problems.append(f"{rel}: {size} bytes, the manifest says {want['size']} (damaged or truncated)")
            continue
        if (hash_limit is None or size <= hash_limit) and file_sha256(path) != want["sha256"]:
            problems.append(f"{rel}: checksum differs from the manifest (the file is damaged)")
    return problems


def finished_builds(index_dir: Path) -> list[Path]:
    """The finished builds on disk, newest first."""
    root = builds_dir(index_dir)
    if not root.is_dir():
        return []
    return sorted((p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")), reverse=True)


def write_store(build: Path, documents: Iterable[tuple[Document, Sequence[Chunk]]]) -> None:
    """Write documents and their chunks; chunk rows are numbered in order and match the vector ids."""
    con = sqlite3.connect(build / STORE)
    try:
        con.executescript(_SCHEMA)
        row = 0
        for doc, chunks in documents:
            pages = json.dumps([[p.number, p.start, p.end, int(p.ocr)] for p in doc.pages]) if doc.pages else None
            fields = (doc.id, doc.title, doc.source, doc.date, doc.publisher, doc.content_hash, doc.text)
            con.execute("INSERT INTO documents VALUES (?,?,?,?,?,?,?,?,?,?)", (*fields, row, len(chunks), pages))
            con.executemany(
                "INSERT INTO chunks VALUES (?,?,?,?,?,?,?,?,?,?)",
                [
                    (row + i, c.id, c.doc_id, c.start, c.end, c.heading, c.position, c.text, _page_list(c), int(c.ocr))
                    for i, c in enumerate(chunks)
                ],
            )
            row += len(chunks)
        con.commit()
    finally:
        con.close()


@dataclass(frozen=True, slots=True)
class DocumentInfo:
    """A document's metadata and where its chunks sit in the row order."""

    id: str
    title: str
    source: str
    date: str | None
    publisher: str | None
    content_hash: str
    first_row: int
    n_chunks: int


class ChunkStore:
    """Read access to a build's documents and chunks, safe to share between threads.

    Connections are pooled: a query borrows one and gives it back. ``close`` retires the store: idle
    connections close at once and busy ones when their query ends, so a build replaced while requests were
    still reading it holds no file open once they are done (its folder can then be pruned). A store that
    cannot be read (damaged on disk) raises ``IndexCorruptError``.
    """

    def __init__(self, build: Path) -> None:
        self._path = build / STORE
        self._build = build.name
        self._idle: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._retired = False
        self._release(self._connect())  # fail now, not at the first question, when the file is not a database
        # One connection held for the store's whole life: a request still running on a replaced build after
        # another process pruned it (its file is gone: no new connection can open it) reads through this one,
        # a query at a time. It closes when the store is let go, i.e. when the last request on it is done.
        self._anchor = self._connect()
        self._anchor_lock = threading.Lock()
        weakref.finalize(self, self._anchor.close)

    def close(self) -> None:
        with self._lock:
            self._retired, idle, self._idle = True, self._idle, []
        for con in idle:
            con.close()

    def _connect(self) -> sqlite3.Connection:
        try:
            con = sqlite3.connect(f"file:{self._path}?mode=ro", uri=True, check_same_thread=False)
            con.execute("SELECT 1 FROM chunks LIMIT 1")
        except sqlite3.DatabaseError as exc:
            raise self._damaged(exc) from exc
        return con

    def _release(self, con: sqlite3.Connection) -> None:
        with self._lock:
            if not self._retired:
                self._idle.append(con)
                return
        con.close()

    def _damaged(self, exc: sqlite3.Error) -> IndexCorruptError:
        return IndexCorruptError(
            f"the chunk store of build {self._build} cannot be read ({exc}) — run `rag index verify`, then "
            "`rag index build --rebuild`"
        )

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            con = self._idle.pop() if self._idle else None
        if con is None and not self._path.exists():  # pruned while still being read: through the anchor
            with self._anchor_lock:
                try:
                    return self._anchor.execute(sql, params).fetchall()
                except sqlite3.DatabaseError as exc:
                    raise self._damaged(exc) from exc
        con = con or self._connect()
        try:
            rows = con.execute(sql, params).fetchall()
        except sqlite3.DatabaseError as exc:
            con.close()
            raise self._damaged(exc) from exc
        self._release(con)
        return rows

    def count_chunks(self) -> int:
        return int(self._query("SELECT COUNT(*) FROM chunks")[0][0])

    def chunks(self, rows: Sequence[int]) -> list[Chunk]:
        """Chunks at ``rows``, in the order asked."""
        if not rows:
            return []
        marks = ",".join("?" * len(rows))
        found = {
            r[0]: _chunk(r)
            for r in self._query(f"SELECT {_CHUNK_COLUMNS} FROM chunks WHERE row IN ({marks})", [int(r) for r in rows])
        }
        return [found[int(r)] for r in rows]

    def iter_chunks(self) -> Iterator[tuple[int, Chunk]]:
        for r in self._query(f"SELECT {_CHUNK_COLUMNS} FROM chunks ORDER BY row"):
            yield r[0], _chunk(r)

    def documents(self, *, offset: int = 0, limit: int = -1) -> list[DocumentInfo]:
        rows = self._query(
            "SELECT id, title, source, date, publisher, content_hash, first_row, n_chunks FROM documents "
            "ORDER BY first_row LIMIT ? OFFSET ?",
            (limit, offset),
        )
        return [DocumentInfo(*r) for r in rows]

    def document_infos(self, doc_ids: Iterable[str]) -> dict[str, DocumentInfo]:
        ids = list(set(doc_ids))
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self._query(
            "SELECT id, title, source, date, publisher, content_hash, first_row, n_chunks FROM documents "
            f"WHERE id IN ({marks})",
            ids,
        )
        return {r[0]: DocumentInfo(*r) for r in rows}

    def filter_documents(
        self, *, doc_ids: Iterable[str] | None = None, date_from: str | None = None, date_to: str | None = None
    ) -> list[DocumentInfo]:
        """Documents among ``doc_ids`` (all when None) dated within [date_from, date_to] (ISO, inclusive)."""
        where, params = [], []
        if doc_ids is not None:
            ids = list(set(doc_ids))
            if not ids:
                return []
            where.append(f"id IN ({','.join('?' * len(ids))})")
            params += ids
        if date_from is not None:
            where.append("date IS NOT NULL AND date >= ?")
            params.append(date_from)
        if date_to is not None:
            where.append("date IS NOT NULL AND date <= ?")
            params.append(date_to)
        rows = self._query(
            "SELECT id, title, source, date, publisher, content_hash, first_row, n_chunks FROM documents"
            + (" WHERE " + " AND ".join(where) if where else ""),
            params,
        )
        return [DocumentInfo(*r) for r in rows]

    def document(self, doc_id: str) -> Document | None:
        rows = self._query(
            "SELECT id, title, text, source, content_hash, date, publisher, pages FROM documents WHERE id = ?",
            (doc_id,),
        )
        if not rows:
            return None
        doc_id_, title, text, source, content_hash, date, publisher, pages = rows[0]
        return Document(
            doc_id_,
            title,
            text,
            source,
            content_hash,
            date,
            publisher,
            tuple(Page(n, s, e, bool(o)) for n, s, e, o in json.loads(pages or "[]")),
        )


_CHUNK_COLUMNS = 'row, id, doc_id, start, "end", heading, position, text, pages, ocr'


def _page_list(chunk: Chunk) -> str | None:
    return ",".join(map(str, chunk.pages)) or None


def _chunk(r: Sequence[Any]) -> Chunk:
    pages = tuple(int(p) for p in r[8].split(",")) if r[8] else ()
    return Chunk(r[1], r[2], r[7], r[3], r[4], r[5], r[6], pages, bool(r[9]))
