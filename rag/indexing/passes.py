"""The two passes of a build, which carry batches through the steps and fold what the steps return.

The store pass streams the corpus (one file in memory at a time) through load → drop duplicates → chunk into
the chunk store; the vector pass copies reused vectors and embeds the others into ``vectors.npy``. Only these
loops hold state across batches; the steps they call do not.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag.errors import IngestError
from rag.index import store
from rag.indexing import steps
from rag.indexing.engines import Engine, LocalEngine
from rag.indexing.plan import VectorPlan
from rag.indexing.vectors import VectorFile
from rag.loaders import ReadOptions, SourceFile
from rag.protocols import Embedder
from rag.types import Chunk, Document


@dataclass(slots=True)
class StoredCorpus:
    """What the store pass leaves behind (the documents themselves are in the store)."""

    texts: list[str] = field(default_factory=list)  # every chunk's text, by row, for embedding and BM25
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)  # the manifest's "documents"
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)  # the manifest's "sources"
    failed: list[tuple[str, str]] = field(default_factory=list)  # (source, error), in the order met
    count: int = 0  # documents stored
    characters: int = 0


@dataclass(frozen=True, slots=True)
class _Old:
    """The previous build's sources and store, for files that no longer load."""

    sources: Mapping[str, Any]
    store: store.ChunkStore | None


def write_store(
    build: Path,
    sources: Sequence[SourceFile],
    *,
    chunking: dict[str, Any],
    old_sources: Mapping[str, Any],
    old_store: store.ChunkStore | None,
    phases: dict[str, float],
    reading: ReadOptions | None = None,
) -> StoredCorpus:
    """One pass: load → chunk → store. Only chunk texts and bookkeeping stay in memory.

    A file that fails is reported and, if the previous build (``old_sources``, ``old_store``) indexed it, kept
    as it was. Adds the seconds spent loading, chunking and storing to ``phases``.
    """
    corpus = StoredCorpus()
    phases["load"] = 0.0
    t_store = time.perf_counter()
    batches = _load_batches(sources, _Old(old_sources, old_store), corpus, reading or ReadOptions())
    store.write_store(build, _chunk_batches(batches, chunking, corpus, phases))
    phases["store"] = time.perf_counter() - t_store - phases["load"] - phases.get("chunk", 0.0)
    return corpus


def _load_batches(
    sources: Sequence[SourceFile], old: _Old, corpus: StoredCorpus, reading: ReadOptions
) -> Iterator[list[Document]]:
    seen: dict[str, str] = {}  # document id → the file that took it
    for src in sources:
        yield from _file_batches(src, old, corpus, seen, reading)


def _file_batches(
    src: SourceFile, old: _Old, corpus: StoredCorpus, seen: dict[str, str], reading: ReadOptions
) -> Iterator[list[Document]]:
    # A generator per file: what it held is let go before the next file is opened.
    try:
        loaded = steps.load_file(src, reading)
    except (OSError, IngestError) as exc:
        corpus.failed.append((src.rel, str(exc)))
        before = old.sources.get(src.rel)
        if before and old.store is not None:
            corpus.sources[src.rel] = before
            for batch in steps.batch_documents(steps.kept_documents(before["documents"], old.store)):
                seen.update((doc.id, src.rel) for doc in batch)
                yield batch
        return
    ids: list[str] = []
    for batch in steps.batch_documents(loaded.documents):  # a .jsonl file is read as this goes
        kept = steps.drop_duplicates(batch, rel=src.rel, seen=seen)
        corpus.failed.extend(kept.failed)
        seen.update((doc.id, src.rel) for doc in kept.documents)
        ids.extend(doc.id for doc in kept.documents)
        if kept.documents:
            yield kept.documents
    corpus.failed.extend((src.rel, str(e)) for e in loaded.bad_records)  # known once the file has been read
    corpus.sources[src.rel] = steps.source_record(loaded, ids)


def _chunk_batches(
    batches: Iterator[list[Document]], chunking: dict[str, Any], corpus: StoredCorpus, phases: dict[str, float]
) -> Iterator[tuple[Document, list[Chunk]]]:
    """Chunk each batch as it is loaded, note its rows, and hand its documents on to the store."""
    while True:
        t0 = time.perf_counter()
        batch = next(batches, None)
        t1 = time.perf_counter()
        phases["load"] += t1 - t0
        if batch is None:
            return
        chunked = steps.chunk_batch(batch, chunking)
        corpus.documents.update(steps.document_records(chunked, first_row=len(corpus.texts)))
        corpus.texts.extend(c.text for item in chunked for c in item.chunks)
        corpus.count += len(chunked)
        corpus.characters += sum(len(item.document.text) for item in chunked)
        phases["chunk"] = phases.get("chunk", 0.0) + (time.perf_counter() - t1)
        yield from ((item.document, item.chunks) for item in chunked)


def fill_vectors(
    vectors: VectorFile,
    texts: Sequence[str],
    plan: VectorPlan,
    *,
    old_vectors: VectorFile | None,
    embedder: Embedder | None,
    progress: bool,
    say: Callable[[str], None],
    engine: Engine | None = None,
) -> None:
    """The vector pass: copy the reused vectors from the previous build, embed the others a group at a time
    (on ``engine``: this process by default)."""
    from tqdm import tqdm

    if plan.reuse:
        assert old_vectors is not None
        steps.copy_vectors(old_vectors, vectors, plan.reuse)
    if not plan.embed:
        return
    assert embedder is not None
    engine = engine or LocalEngine()
    say(f"embedding {len(plan.embed)} chunks ({plan.added} added, {plan.changed} changed documents) on {engine.name}")
    with tqdm(total=len(plan.embed), desc="embedding", unit="chunk", disable=not progress or None) as bar:
        for rows, embedded in engine.embed(texts, plan.embed, embedder):
            steps.write_vectors(vectors, rows, embedded)
            bar.update(len(rows))
