"""Checking a finished index: its status, the corpus files changed since it was built, and a full verification."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.index import store
from rag.index.manifest import Manifest
from rag.index.store import file_sha256
from rag.indexing.plan import diff_sources
from rag.loaders import discover_files
from rag.protocols import Embedder

if TYPE_CHECKING:
    from rag.index import LoadedIndex


def stale_sources(manifest: Manifest) -> dict[str, list[str]]:
    """Corpus files added, changed or removed since the build, by comparing content hashes."""
    indexed = manifest.sources
    now = {src.rel: src for src in discover_files([Path(p) for p in manifest.corpus])}
    # Only files indexed before need hashing: a new one is added whatever it holds.
    diff = diff_sources(indexed, {rel: file_sha256(src.path) if rel in indexed else None for rel, src in now.items()})
    return {"added": diff.added, "changed": diff.changed, "removed": diff.removed}


def index_status(index_dir: Path) -> dict[str, Any]:
    """A summary of the live index: counts, model, size on disk, build time, stale corpus files."""
    build = store.current_build(index_dir)
    manifest = Manifest.read(build)
    return {
        "index": str(index_dir),
        "build": build.name,
        "built_at": manifest.built_at,
        "documents": manifest.counts.documents,
        "chunks": manifest.counts.chunks,
        "embedder": manifest.embedder,
        "chunking": manifest.chunking,
        "vector": manifest.vector,
        "shards": len(manifest.shards) or 1,
        "size_bytes": _dir_size(build),
        "failed": manifest.failed,
        "stale": stale_sources(manifest),
    }


def verify_index(index_dir: Path, *, embedder: Embedder | None = None, sample: int = 8) -> list[str]:
    """Problems found when checking the index against its manifest and the corpus (empty when sound)."""
    from rag.index import LoadedIndex

    build = store.current_build(index_dir)
    problems = store.check_artifacts(build, Manifest.read(build), hash_limit=None)
    if problems:
        return problems  # a damaged file: opening it could fail in any way, the checksums say which
    try:
        index = LoadedIndex.open(index_dir, build=build)
    except Exception as exc:  # any failure to open is a problem to report as a line
        return [f"the index cannot be opened: {type(exc).__name__}: {exc}"]
    try:
        vectors = np.load(index.path / store.VECTORS, mmap_mode="r")
        problems += _count_problems(index, vectors)
        problems += _chunk_problems(index)
        problems += _vector_problems(index, vectors, embedder=embedder, sample=sample)
        stale = stale_sources(index.manifest)
        problems += [f"corpus file {what} since the build: {rel}" for what, rels in stale.items() for rel in rels]
    finally:
        index.close()
    return problems


def _count_problems(index: LoadedIndex, vectors: np.ndarray[Any, Any]) -> list[str]:
    """Every part's row count and the vectors' dimension against the manifest."""
    manifest, n = index.manifest, index.size
    counts = {
        "store": index.chunks.count_chunks(),
        "vectors.npy": int(vectors.shape[0]),
        "faiss": len(index.vectors),
        "bm25": len(index.lexical),
    }
    problems = [f"{name} holds {count} chunks, the manifest says {n}" for name, count in counts.items() if count != n]
    if vectors.shape[1:] != (manifest.dim,):
        problems.append(f"vectors have shape {vectors.shape}, expected dimension {manifest.dim}")
    docs = {info.id: info for info in index.chunks.documents()}
    if set(docs) != set(manifest.documents):
        problems.append("the documents in the store differ from the manifest")
    return problems


def _chunk_problems(index: LoadedIndex) -> list[str]:
    """Each document's text against its content hash, each chunk's text against its document's offsets."""
    problems: list[str] = []
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
    return problems


def _vector_problems(
    index: LoadedIndex, vectors: np.ndarray[Any, Any], *, embedder: Embedder | None, sample: int
) -> list[str]:
    """The stored vectors are unit length and, with an ``embedder``, what a sample of chunks embeds to now."""
    n = index.size
    problems: list[str] = []
    if n:
        norms = np.linalg.norm(np.asarray(vectors[: min(n, 10000)]), axis=1)
        if not np.allclose(norms, 1.0, atol=1e-3):
            problems.append("stored vectors are not normalised")
    if n and embedder is not None:
        rows = np.linspace(0, n - 1, num=min(sample, n), dtype=np.int64).tolist()
        fresh = embedder.embed([c.text for c in index.chunks.chunks(rows)])
        cos = np.sum(fresh * np.asarray(vectors[rows]), axis=1)
        if float(cos.min()) < 0.99:
            problems.append(f"re-embedded sample chunks differ from the stored vectors (min cosine {cos.min():.3f})")
    return problems


def _dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
