"""Building the index: load → clean → chunk → embed → write, incremental and atomic."""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import hashlib
import logging
import math
import os
import resource
import secrets
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rag import __version__, registry, store
from rag.chunking import chunk_document
from rag.errors import IndexBusyError, IndexMismatchError, IndexNotFoundError, IngestError, StorageFullError
from rag.factories import create_embedder, embedder_fingerprint
from rag.loaders import SourceFile, discover_files, load_source
from rag.protocols import Embedder
from rag.settings import IndexSettings, Settings
from rag.text import TOKENIZER_VERSION
from rag.types import Chunk, Document

log = logging.getLogger(__name__)

EMBED_GROUP = 1024  # texts handed to the embedder at a time; it sorts each group by length
VECTOR_SLICE = 65536  # rows of vectors.npy mapped at a time when copying, training and adding
TRAIN_PER_CELL = 64  # training vectors per IVF cell (FAISS wants at least 39)


@dataclass(slots=True)
class BuildReport:
    """What a build did, for the CLI and for benchmarks."""

    index_dir: Path
    build_id: str = ""
    documents: int = 0
    chunks: int = 0
    characters: int = 0
    added: int = 0
    changed: int = 0
    removed: int = 0
    unchanged: int = 0
    embedded_chunks: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    embed_seconds: float = 0.0
    peak_rss_mb: float = 0.0
    published: bool = False
    vector_kind: str = ""
    # Seconds per step: load, chunk, store, embed, vectors (FAISS), lexical (BM25).
    phase_seconds: dict[str, float] = field(default_factory=dict)


@dataclass(slots=True)
class _Previous:
    """The live build, when its vectors can be reused."""

    manifest: dict[str, Any]
    vectors: VectorFile
    store: store.ChunkStore


class VectorFile:
    """``vectors.npy`` read and written a slice at a time.

    Each access maps the file only for as long as it takes, so the pages it touched leave the process's resident
    memory with the mapping (the kernel keeps them as page cache); a map held open for the whole build would
    keep every row resident beside the FAISS index built from them.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def create(cls, path: Path, *, rows: int, dim: int) -> VectorFile:
        np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(rows, dim)).flush()
        # Reserve the blocks now: a write through a map into a full disk is a SIGBUS that kills the process,
        # whereas a failed reservation is an ENOSPC the build reports (and cleans up after).
        with open(path, "r+b") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size:
                try:
                    os.posix_fallocate(fh.fileno(), 0, size)
                except OSError as exc:
                    if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL):  # no fallocate on this file system
                        raise
        return cls(path)

    @property
    def shape(self) -> tuple[int, int]:
        rows, dim = np.load(self.path, mmap_mode="r").shape
        return int(rows), int(dim)

    def read(self, start: int, stop: int) -> np.ndarray[Any, Any]:
        """A copy of rows ``start:stop``."""
        return np.array(np.load(self.path, mmap_mode="r")[start:stop])

    def take(self, rows: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        """A copy of the rows at (sorted) positions ``rows``."""
        return np.asarray(np.load(self.path, mmap_mode="r")[rows])

    def write(self, start: int, values: np.ndarray[Any, Any]) -> None:
        out = np.load(self.path, mmap_mode="r+")
        out[start : start + len(values)] = values
        out.flush()

    def write_rows(self, rows: Sequence[int], values: np.ndarray[Any, Any]) -> None:
        out = np.load(self.path, mmap_mode="r+")
        out[list(rows)] = values
        out.flush()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextmanager
def _build_lock(index_dir: Path) -> Iterator[None]:
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".build.lock", "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IndexBusyError(f"another `rag index build` is running on {index_dir}; wait for it") from None
        yield


def _open_previous(index_dir: Path, manifest_wanted: dict[str, Any]) -> _Previous | None:
    try:
        build = store.current_build(index_dir)
        manifest = store.read_manifest(build)
    except (IndexNotFoundError, IndexMismatchError):
        return None
    # The lexical index is rebuilt by every build, so only the embedder and the chunking decide reuse.
    same = manifest.get("chunking") == manifest_wanted["chunking"]
    same = same and {k: v for k, v in manifest["embedder"].items() if k != "dim"} == manifest_wanted["embedder"]
    if not same:
        log.info("settings changed since the last build: everything is re-embedded")
        return None
    return _Previous(manifest, VectorFile(build / store.VECTORS), store.ChunkStore(build))


def _iter_corpus(
    sources: Sequence[SourceFile],
    previous: _Previous | None,
    report: BuildReport,
    source_meta: dict[str, dict[str, Any]],
) -> Iterator[Document]:
    """Every document of every source, one file loaded at a time; a file that fails is reported and, if it was
    indexed before, kept as it was. ``source_meta`` is filled in as files are read."""
    seen: dict[str, str] = {}
    old_sources: dict[str, Any] = previous.manifest["sources"] if previous else {}
    for src in sources:
        bad_records: list[IngestError] = []  # bad .jsonl lines: the file loads, each skipped line is reported
        try:
            digest = file_sha256(src.path)
            docs = load_source(src, on_error=bad_records.append)
        except (OSError, IngestError) as exc:
            report.failed.append((src.rel, str(exc)))
            old = old_sources.get(src.rel)
            if old and previous:
                source_meta[src.rel] = old
                for doc_id in old["documents"]:
                    kept = previous.store.document(doc_id)
                    if kept is not None:
                        seen[kept.id] = src.rel
                        yield kept
            continue
        ids = []
        for doc in docs:  # a .jsonl file is read as this goes: its bad lines are known at the end
            if doc.id in seen:
                report.failed.append((src.rel, f"duplicate document id {doc.id!r} (first seen in {seen[doc.id]})"))
                continue
            seen[doc.id] = src.rel
            ids.append(doc.id)
            yield doc
        report.failed.extend((src.rel, str(e)) for e in bad_records)
        source_meta[src.rel] = {"sha256": digest, "size": src.path.stat().st_size, "documents": ids}
        del docs


@dataclass(slots=True)
class _Chunked:
    """What the single pass over the documents leaves behind (the documents themselves go to the store)."""

    texts: list[str] = field(default_factory=list)  # every chunk's text, by row, for embedding and BM25
    todo: list[int] = field(default_factory=list)  # rows that need embedding
    reuse: list[tuple[int, int, int]] = field(default_factory=list)  # (new first row, old first row, count)
    doc_meta: dict[str, Any] = field(default_factory=dict)


def _chunk_documents(
    documents: Iterator[Document],
    settings: Settings,
    old_docs: dict[str, Any],
    report: BuildReport,
    out: _Chunked,
    phases: dict[str, float],
) -> Iterator[tuple[Document, list[Chunk]]]:
    """Chunk each document as it is loaded, noting what must be embedded, and hand it on to the store."""
    params = settings.chunking.model_dump()
    while True:
        t0 = time.perf_counter()
        doc = next(documents, None)
        t1 = time.perf_counter()
        phases["load"] = phases.get("load", 0.0) + (t1 - t0)
        if doc is None:
            return
        chunks = chunk_document(doc, **params)
        row = len(out.texts)
        old = old_docs.get(doc.id)
        if old and old["content_hash"] == doc.content_hash and old["chunks"] == len(chunks):
            out.reuse.append((row, old["first_row"], len(chunks)))
            report.unchanged += 1
        else:
            out.todo.extend(range(row, row + len(chunks)))
            if old:
                report.changed += 1
            else:
                report.added += 1
        out.texts.extend(c.text for c in chunks)
        out.doc_meta[doc.id] = {
            "source": doc.source,
            "content_hash": doc.content_hash,
            "chunks": len(chunks),
            "first_row": row,
        }
        report.documents += 1
        report.characters += len(doc.text)
        phases["chunk"] = phases.get("chunk", 0.0) + (time.perf_counter() - t1)
        yield doc, chunks


def _embed_into(out: VectorFile, chunked: _Chunked, embedder: Embedder, *, progress: bool) -> None:
    from tqdm import tqdm

    todo = chunked.todo
    with tqdm(total=len(todo), desc="embedding", unit="chunk", disable=not progress or None) as bar:
        for start in range(0, len(todo), EMBED_GROUP):
            rows = todo[start : start + EMBED_GROUP]
            vectors = embedder.embed([chunked.texts[r] for r in rows])
            if rows[-1] - rows[0] == len(rows) - 1:  # contiguous: the usual case
                out.write(rows[0], vectors)
            else:
                out.write_rows(rows, vectors)
            bar.update(len(rows))


def choose_vector_index(rows: int, cfg: IndexSettings) -> tuple[str, dict[str, Any]]:
    """The FAISS index kind for ``rows`` chunks and its constructor arguments: exact below
    ``cfg.approximate_from`` chunks, else ``cfg.approximate_kind`` with about 2·√rows IVF cells."""
    if rows < cfg.approximate_from:
        return "flat", {}
    kind = cfg.approximate_kind
    if kind == "ivf_sq8":
        # A power of two near 2·√rows, and never so many cells that k-means lacks points (FAISS wants 39 each).
        nlist = max(1, min(1 << round(math.log2(2 * math.sqrt(rows))), rows // 39))
        return kind, {"nlist": nlist, "nprobe": min(cfg.nprobe, nlist)}
    return kind, {"hnsw_m": cfg.hnsw_m, "ef_search": cfg.ef_search}


def build_vector_index(
    vectors: VectorFile, rows: int, dim: int, settings: Settings, *, seed: int = 0
) -> tuple[str, dict[str, Any], Any]:
    """The vector index of the ``rows`` vectors in ``vectors`` (kind chosen by size), trained on a random sample
    when its kind needs it; returns the kind, its parameters (for the manifest) and the index."""
    kind, params = choose_vector_index(rows, settings.index)
    vindex = registry.load("vector", settings.index.vector_backend)(dim, kind=kind, **params)
    if getattr(vindex, "needs_training", False):  # quantised kinds learn their cells/ranges from a sample
        size = min(rows, TRAIN_PER_CELL * int(params.get("nlist", 256)))
        sample = np.sort(np.random.default_rng(seed).choice(rows, size=size, replace=False))
        vindex.train(vectors.take(sample))
    for start in range(0, rows, VECTOR_SLICE):
        vindex.add(vectors.read(start, min(rows, start + VECTOR_SLICE)))
    return kind, params, vindex


def build_index(
    settings: Settings,
    *,
    corpus: Sequence[Path] | None = None,
    index_dir: Path | None = None,
    rebuild: bool = False,
    embedder: Embedder | None = None,
    progress: bool = True,
    on_event: Callable[[str], None] | None = None,
) -> BuildReport:
    """Build (or update) the index of ``corpus`` under ``index_dir`` and publish it atomically.

    Unchanged documents keep their vectors; the previous build stays live until the new one is complete.
    Documents stream from the loaders through the chunker into the store (one corpus file in memory at a
    time); vectors go to ``vectors.npy`` as they are embedded and are read back a slice at a time.
    """
    t0 = time.perf_counter()
    index_dir = Path(index_dir or settings.index.dir)
    roots = [Path(p) for p in (corpus or settings.index.corpus)]
    report = BuildReport(index_dir=index_dir)
    phases = report.phase_seconds
    say = on_event or (lambda msg: log.info(msg))
    wanted: dict[str, Any] = {
        "embedder": embedder_fingerprint(settings.embedder),
        "chunking": settings.chunking.model_dump(),
        "lexical": {"backend": settings.index.lexical_backend, "tokenizer": TOKENIZER_VERSION},
    }
    with _build_lock(index_dir):
        previous = None if rebuild else _open_previous(index_dir, wanted)
        old_docs: dict[str, Any] = previous.manifest["documents"] if previous else {}
        build_id = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ") + "-" + secrets.token_hex(3)
        tmp = store.builds_dir(index_dir) / f".tmp-{build_id}"
        tmp.mkdir(parents=True)
        try:
            # One pass: load → chunk → store. Only chunk texts and bookkeeping stay in memory.
            source_meta: dict[str, dict[str, Any]] = {}
            chunked = _Chunked()
            t_store = time.perf_counter()
            documents = _iter_corpus(discover_files(roots), previous, report, source_meta)
            store.write_store(tmp, _chunk_documents(documents, settings, old_docs, report, chunked, phases))
            phases["store"] = time.perf_counter() - t_store - phases.get("load", 0.0) - phases.get("chunk", 0.0)
            row = len(chunked.texts)
            report.removed = len(set(old_docs) - set(chunked.doc_meta))
            report.chunks, report.embedded_chunks = row, len(chunked.todo)

            if chunked.todo and embedder is None:
                embedder = create_embedder(settings.embedder)
            dim = embedder.dim if embedder is not None else int(previous.manifest["embedder"]["dim"]) if previous else 0
            if not dim:
                embedder = create_embedder(settings.embedder)
                dim = embedder.dim

            vectors = VectorFile.create(tmp / store.VECTORS, rows=row, dim=dim)
            t_embed = time.perf_counter()
            for new_first, old_first, count in chunked.reuse:
                assert previous is not None
                for offset in range(0, count, VECTOR_SLICE):
                    n = min(VECTOR_SLICE, count - offset)
                    vectors.write(new_first + offset, previous.vectors.read(old_first + offset, old_first + offset + n))
            if chunked.todo:
                assert embedder is not None
                say(f"embedding {len(chunked.todo)} chunks ({report.added} added, {report.changed} changed documents)")
                _embed_into(vectors, chunked, embedder, progress=progress)
            report.embed_seconds = phases["embed"] = time.perf_counter() - t_embed

            t_vectors = time.perf_counter()
            vector_kind, vector_params, vindex = build_vector_index(vectors, row, dim, settings)
            vindex.save(tmp)
            del vindex  # freed before BM25 is built: the two never need memory at once
            phases["vectors"] = time.perf_counter() - t_vectors
            report.vector_kind = vector_kind

            t_lexical = time.perf_counter()
            texts, chunked.texts = chunked.texts, []
            lexical = registry.load("lexical", settings.index.lexical_backend).build(texts)
            del texts
            lexical.save(tmp)
            del lexical
            phases["lexical"] = time.perf_counter() - t_lexical

            report.seconds = time.perf_counter() - t0
            report.peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            manifest = {
                "format_version": store.FORMAT_VERSION,
                "package_version": __version__,
                "build_id": build_id,
                "built_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "embedder": {**wanted["embedder"], "dim": dim},
                "chunking": wanted["chunking"],
                "lexical": wanted["lexical"],
                "vector": {"backend": settings.index.vector_backend, "kind": vector_kind, **vector_params},
                "counts": {"documents": report.documents, "chunks": report.chunks, "characters": report.characters},
                "corpus": [str(p) for p in roots],
                "sources": source_meta,
                "documents": chunked.doc_meta,
                "failed": [{"source": s, "error": e} for s, e in report.failed],
                "timings": {
                    "total_s": round(report.seconds, 3),
                    "embed_s": round(report.embed_seconds, 3),
                    **{f"{name}_s": round(sec, 3) for name, sec in phases.items()},
                },
            }
            manifest["artifacts"] = store.artifact_checksums(tmp)  # what `rag index verify` and loading check
            store.write_manifest(tmp, manifest)
            if previous is not None:
                previous.store.close()
            final = store.builds_dir(index_dir) / build_id
            os.rename(tmp, final)
            store.publish_build(index_dir, final)
            store.prune_builds(index_dir, keep=settings.index.keep_builds)
        except BaseException as exc:
            shutil.rmtree(tmp, ignore_errors=True)  # the space it took is given back at once
            if _disk_full(exc):
                raise StorageFullError(
                    f"the disk under {index_dir.name}/ is full: build {build_id} could not be written and was "
                    "removed; the previous build is still live — free some space (or point RAG_INDEX__DIR at a "
                    "bigger disk) and run the build again"
                ) from exc
            raise
        report.build_id = build_id
        report.published = True
    return report


def _disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) is the file system out of space."""
    while exc is not None:
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if isinstance(exc, sqlite3.OperationalError) and "disk is full" in str(exc):
            return True
        if isinstance(exc, RuntimeError) and "No space left on device" in str(exc):  # FAISS's own writer
            return True
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return False


def _dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def stale_sources(manifest: dict[str, Any]) -> dict[str, list[str]]:
    """Corpus files added, changed or removed since the build, by comparing content hashes."""
    indexed: dict[str, Any] = manifest["sources"]
    now = {src.rel: src for src in discover_files([Path(p) for p in manifest["corpus"]])}
    changed = [rel for rel, src in now.items() if rel in indexed and file_sha256(src.path) != indexed[rel]["sha256"]]
    return {
        "added": sorted(set(now) - set(indexed)),
        "changed": sorted(changed),
        "removed": sorted(set(indexed) - set(now)),
    }


def index_status(index_dir: Path) -> dict[str, Any]:
    """A summary of the live index: counts, model, size on disk, build time, stale corpus files."""
    build = store.current_build(index_dir)
    manifest = store.read_manifest(build)
    return {
        "index": str(index_dir),
        "build": build.name,
        "built_at": manifest["built_at"],
        "documents": manifest["counts"]["documents"],
        "chunks": manifest["counts"]["chunks"],
        "embedder": manifest["embedder"],
        "chunking": manifest["chunking"],
        "vector": manifest["vector"],
        "size_bytes": _dir_size(build),
        "failed": manifest["failed"],
        "stale": stale_sources(manifest),
    }


def verify_index(index_dir: Path, *, embedder: Embedder | None = None, sample: int = 8) -> list[str]:
    """Problems found when checking the index against its manifest and the corpus (empty when sound)."""
    from rag.retriever import LoadedIndex

    build = store.current_build(index_dir)
    problems = store.check_artifacts(build, store.read_manifest(build), hash_limit=None)
    if problems:
        return problems  # a damaged file: opening it could fail in any way, the checksums say which
    try:
        index = LoadedIndex.open(index_dir, build=build)
    except Exception as exc:  # any failure to open is a problem to report as a line
        return [f"the index cannot be opened: {type(exc).__name__}: {exc}"]
    try:
        manifest, n = index.manifest, index.size
        vectors = np.load(index.path / store.VECTORS, mmap_mode="r")
        counts = {
            "store": index.chunks.count_chunks(),
            "vectors.npy": int(vectors.shape[0]),
            "faiss": len(index.vectors),
            "bm25": len(index.lexical),
        }
        problems += [
            f"{name} holds {count} chunks, the manifest says {n}" for name, count in counts.items() if count != n
        ]
        if vectors.shape[1:] != (manifest["embedder"]["dim"],):
            problems.append(f"vectors have shape {vectors.shape}, expected dimension {manifest['embedder']['dim']}")
        docs = {info.id: info for info in index.chunks.documents()}
        if set(docs) != set(manifest["documents"]):
            problems.append("the documents in the store differ from the manifest")
        texts: dict[str, str] = {}
        for row, chunk in index.chunks.iter_chunks():
            if chunk.doc_id not in texts:
                doc = index.chunks.document(chunk.doc_id)
                if doc is None:
                    problems.append(f"chunk {chunk.id} belongs to a missing document {chunk.doc_id}")
                    continue
                texts[chunk.doc_id] = doc.text
                if hashlib.sha256(doc.text.encode()).hexdigest() != doc.content_hash:
                    problems.append(f"document {doc.id} ({doc.source}): text does not match its content hash")
            if texts[chunk.doc_id][chunk.start : chunk.end] != chunk.text:
                problems.append(f"chunk {chunk.id} (row {row}): offsets do not match its document's text")
        if n:
            norms = np.linalg.norm(np.asarray(vectors[: min(n, 10000)]), axis=1)
            if not np.allclose(norms, 1.0, atol=1e-3):
                problems.append("stored vectors are not normalised")
        if n and embedder is not None:
            rows = np.linspace(0, n - 1, num=min(sample, n), dtype=np.int64).tolist()
            fresh = embedder.embed([c.text for c in index.chunks.chunks(rows)])
            cos = np.sum(fresh * np.asarray(vectors[rows]), axis=1)
            if float(cos.min()) < 0.99:
                problems.append(
                    f"re-embedded sample chunks differ from the stored vectors (min cosine {cos.min():.3f})"
                )
        stale = stale_sources(manifest)
        problems += [f"corpus file {what} since the build: {rel}" for what, rels in stale.items() for rel in rels]
    finally:
        index.close()
    return problems
