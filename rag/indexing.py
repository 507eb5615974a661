"""Building the index: load → clean → chunk → embed → write, incremental and atomic."""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import logging
import os
import resource
import secrets
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rag import __version__, registry, store
from rag.chunking import chunk_document
from rag.errors import IndexBusyError, IndexMismatchError, IndexNotFoundError, IngestError
from rag.factories import create_embedder, embedder_fingerprint
from rag.loaders import SourceFile, discover_files, load_source
from rag.protocols import Embedder
from rag.settings import Settings
from rag.text import TOKENIZER_VERSION
from rag.types import Chunk, Document

log = logging.getLogger(__name__)

# Above this many chunks the exact flat index gives way to HNSW (see README, performance).
HNSW_THRESHOLD = 200_000
EMBED_GROUP = 1024  # texts handed to the embedder at a time; it sorts each group by length


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


@dataclass(slots=True)
class _Previous:
    """The live build, when its vectors can be reused."""

    manifest: dict[str, Any]
    vectors: np.ndarray[Any, Any]
    store: store.ChunkStore


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
    vectors = np.load(build / store.VECTORS, mmap_mode="r")
    return _Previous(manifest, vectors, store.ChunkStore(build))


def _load_corpus(
    sources: Sequence[SourceFile], previous: _Previous | None, report: BuildReport
) -> tuple[list[Document], dict[str, dict[str, Any]]]:
    """Load every source; a file that fails is reported and, if it was indexed before, kept as it was."""
    documents: list[Document] = []
    seen: dict[str, str] = {}
    source_meta: dict[str, dict[str, Any]] = {}
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
                kept = [d for d in (previous.store.document(i) for i in old["documents"]) if d is not None]
                documents.extend(kept)
                source_meta[src.rel] = old
            continue
        report.failed.extend((src.rel, str(e)) for e in bad_records)
        ids = []
        for doc in docs:
            if doc.id in seen:
                report.failed.append((src.rel, f"duplicate document id {doc.id!r} (first seen in {seen[doc.id]})"))
                continue
            seen[doc.id] = src.rel
            documents.append(doc)
            ids.append(doc.id)
        source_meta[src.rel] = {"sha256": digest, "size": src.path.stat().st_size, "documents": ids}
    return documents, source_meta


def _embed_into(out: np.ndarray[Any, Any], todo: list[tuple[int, str]], embedder: Embedder, *, progress: bool) -> None:
    from tqdm import tqdm

    with tqdm(total=len(todo), desc="embedding", unit="chunk", disable=not progress or None) as bar:
        for start in range(0, len(todo), EMBED_GROUP):
            group = todo[start : start + EMBED_GROUP]
            vectors = embedder.embed([text for _, text in group])
            out[[row for row, _ in group]] = vectors
            bar.update(len(group))


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
    """
    t0 = time.perf_counter()
    index_dir = Path(index_dir or settings.index.dir)
    roots = [Path(p) for p in (corpus or settings.index.corpus)]
    report = BuildReport(index_dir=index_dir)
    say = on_event or (lambda msg: log.info(msg))
    wanted: dict[str, Any] = {
        "embedder": embedder_fingerprint(settings.embedder),
        "chunking": settings.chunking.model_dump(),
        "lexical": {"backend": settings.index.lexical_backend, "tokenizer": TOKENIZER_VERSION},
    }
    with _build_lock(index_dir):
        previous = None if rebuild else _open_previous(index_dir, wanted)
        sources = discover_files(roots)
        documents, source_meta = _load_corpus(sources, previous, report)
        old_docs: dict[str, Any] = previous.manifest["documents"] if previous else {}

        chunked: list[tuple[Document, list[Chunk]]] = []
        todo: list[tuple[int, str]] = []
        reuse: list[tuple[int, int, int]] = []  # (new first row, old first row, count)
        row = 0
        for doc in documents:
            chunks = chunk_document(doc, **settings.chunking.model_dump())
            old = old_docs.get(doc.id)
            if old and old["content_hash"] == doc.content_hash and old["chunks"] == len(chunks):
                reuse.append((row, old["first_row"], len(chunks)))
                report.unchanged += 1
            else:
                todo.extend((row + i, c.text) for i, c in enumerate(chunks))
                if old:
                    report.changed += 1
                else:
                    report.added += 1
            chunked.append((doc, chunks))
            report.characters += len(doc.text)
            row += len(chunks)
        report.removed = len(set(old_docs) - {d.id for d in documents})
        report.documents, report.chunks, report.embedded_chunks = len(chunked), row, len(todo)

        if todo and embedder is None:
            embedder = create_embedder(settings.embedder)
        dim = embedder.dim if embedder is not None else int(previous.manifest["embedder"]["dim"]) if previous else 0
        if not dim:
            embedder = create_embedder(settings.embedder)
            dim = embedder.dim

        build_id = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ") + "-" + secrets.token_hex(3)
        tmp = store.builds_dir(index_dir) / f".tmp-{build_id}"
        tmp.mkdir(parents=True)
        vectors = np.lib.format.open_memmap(tmp / store.VECTORS, mode="w+", dtype=np.float32, shape=(row, dim))
        for new_first, old_first, count in reuse:
            assert previous is not None
            vectors[new_first : new_first + count] = previous.vectors[old_first : old_first + count]
        t_embed = time.perf_counter()
        if todo:
            assert embedder is not None
            say(f"embedding {len(todo)} chunks ({report.added} added, {report.changed} changed documents)")
            _embed_into(vectors, todo, embedder, progress=progress)
        report.embed_seconds = time.perf_counter() - t_embed
        vectors.flush()

        store.write_store(tmp, chunked)
        vector_kind = "hnsw" if row >= HNSW_THRESHOLD else "flat"
        vindex = registry.load("vector", settings.index.vector_backend)(dim, kind=vector_kind)
        for start in range(0, row, 65536):
            vindex.add(np.asarray(vectors[start : start + 65536]))
        vindex.save(tmp)
        del vectors
        lexical = registry.load("lexical", settings.index.lexical_backend).build(
            c.text for _, chunks in chunked for c in chunks
        )
        lexical.save(tmp)

        doc_meta: dict[str, Any] = {}
        first = 0
        for doc, chunks in chunked:
            doc_meta[doc.id] = {
                "source": doc.source,
                "content_hash": doc.content_hash,
                "chunks": len(chunks),
                "first_row": first,
            }
            first += len(chunks)
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
            "vector": {"backend": settings.index.vector_backend, "kind": vector_kind},
            "counts": {"documents": report.documents, "chunks": report.chunks, "characters": report.characters},
            "corpus": [str(p) for p in roots],
            "sources": source_meta,
            "documents": doc_meta,
            "failed": [{"source": s, "error": e} for s, e in report.failed],
            "timings": {"total_s": round(report.seconds, 3), "embed_s": round(report.embed_seconds, 3)},
        }
        store.write_manifest(tmp, manifest)
        if previous is not None:
            previous.store.close()
        final = store.builds_dir(index_dir) / build_id
        os.rename(tmp, final)
        store.publish_build(index_dir, final)
        store.prune_builds(index_dir, keep=settings.index.keep_builds)
        report.build_id = build_id
        report.published = True
    return report


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

    problems: list[str] = []
    index = LoadedIndex.open(index_dir)
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
