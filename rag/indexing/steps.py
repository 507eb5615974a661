"""The build's steps over batches: load (the loaders read and clean) → drop duplicates → chunk → embed → write.

Each step takes data and returns data; the bookkeeping across batches is the caller's (``passes.py``), so a
distributed engine can map the same functions over its own batches.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rag import registry
from rag.chunking import chunk_document
from rag.errors import ConfigError, IngestError
from rag.index import store
from rag.indexing.vectors import VECTOR_SLICE, VectorFile
from rag.loaders import ReadOptions, SourceFile, load_source
from rag.protocols import Embedder
from rag.types import Chunk, Document

EMBED_GROUP = 1024  # texts handed to the embedder at a time; it sorts each group by length
DOCUMENT_BATCH = 64  # documents of one file chunked and stored at a time
BATCH_CHARS = 1 << 20  # ...or fewer, once they hold this much text: a batch never holds much beside one document


@dataclass(frozen=True, slots=True)
class LoadedSource:
    """One corpus file, opened: its documents are read as they are iterated (a .jsonl file a line at a time)."""

    source: SourceFile
    sha256: str
    documents: Iterable[Document]
    bad_records: list[IngestError]  # a .jsonl file's skipped lines, complete once ``documents`` is exhausted


@dataclass(frozen=True, slots=True)
class Deduplicated:
    """A batch without the documents whose id an earlier one took, and a failure line for each of those."""

    documents: list[Document]
    failed: list[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class ChunkedDocument:
    """A document and its chunks, in order."""

    document: Document
    chunks: list[Chunk]


def load_file(src: SourceFile, options: ReadOptions | None = None) -> LoadedSource:
    """Hash ``src`` and open it as cleaned documents; raises OSError or IngestError when it cannot be loaded."""
    bad_records: list[IngestError] = []  # bad .jsonl lines: the file loads, each skipped line is reported
    digest = store.file_sha256(src.path)
    return LoadedSource(src, digest, load_source(src, on_error=bad_records.append, options=options), bad_records)


def source_record(loaded: LoadedSource, doc_ids: Sequence[str]) -> dict[str, Any]:
    """The manifest's entry for a file that loaded (taken once its documents have been read)."""
    return {"sha256": loaded.sha256, "size": loaded.source.path.stat().st_size, "documents": list(doc_ids)}


def kept_documents(doc_ids: Iterable[str], previous: store.ChunkStore) -> Iterator[Document]:
    """The previous build's version of a file that no longer loads, read back one document at a time."""
    for doc_id in doc_ids:
        kept = previous.document(doc_id)
        if kept is not None:
            yield kept


def batch_documents(
    documents: Iterable[Document], *, size: int = DOCUMENT_BATCH, chars: int = BATCH_CHARS
) -> Iterator[list[Document]]:
    """Group ``documents`` into batches of at most ``size`` documents and (unless one is longer) ``chars``."""
    batch: list[Document] = []
    held = 0
    for doc in documents:
        batch.append(doc)
        held += len(doc.text)
        if len(batch) >= size or held >= chars:
            yield batch
            batch, held = [], 0
    if batch:
        yield batch


def drop_duplicates(batch: Sequence[Document], *, rel: str, seen: Mapping[str, str]) -> Deduplicated:
    """Keep the documents of ``batch`` (from the file ``rel``) whose id neither ``seen`` (id → the file that
    took it) nor an earlier document of the batch took; each one dropped is a failure of ``rel``."""
    taken: dict[str, str] = {}
    kept: list[Document] = []
    failed: list[tuple[str, str]] = []
    for doc in batch:
        first = seen.get(doc.id, taken.get(doc.id))
        if first is not None:
            failed.append((rel, f"duplicate document id {doc.id!r} (first seen in {first})"))
            continue
        taken[doc.id] = rel
        kept.append(doc)
    return Deduplicated(kept, failed)


def chunk_batch(batch: Sequence[Document], chunking: Mapping[str, Any]) -> list[ChunkedDocument]:
    """Each document of ``batch`` with its chunks (``chunking``: the chunker's keyword arguments)."""
    return [ChunkedDocument(doc, chunk_document(doc, **chunking)) for doc in batch]


def document_records(batch: Sequence[ChunkedDocument], *, first_row: int) -> dict[str, dict[str, Any]]:
    """The manifest's entries for a chunked batch whose first chunk takes row ``first_row``."""
    records: dict[str, dict[str, Any]] = {}
    row = first_row
    for item in batch:
        doc = item.document
        records[doc.id] = {
            "source": doc.source,
            "content_hash": doc.content_hash,
            "chunks": len(item.chunks),
            "first_row": row,
        }
        row += len(item.chunks)
    return records


def embed_groups(rows: Sequence[int], *, size: int = EMBED_GROUP) -> Iterator[Sequence[int]]:
    """``rows`` cut into the groups handed to the embedder."""
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def embed_batch(texts: Sequence[str], embedder: Embedder) -> np.ndarray[Any, Any]:
    return embedder.embed(list(texts))


def write_vectors(out: VectorFile, rows: Sequence[int], vectors: np.ndarray[Any, Any]) -> None:
    """Write the vectors of ``rows`` (ascending) into ``out``."""
    if rows[-1] - rows[0] == len(rows) - 1:  # contiguous: the usual case
        out.write(rows[0], vectors)
    else:
        out.write_rows(rows, vectors)


def copy_vectors(source: VectorFile, out: VectorFile, spans: Iterable[tuple[int, int, int]]) -> None:
    """Copy reused vectors (``spans``: new first row, old first row, count) a slice at a time."""
    for new_first, old_first, count in spans:
        for offset in range(0, count, VECTOR_SLICE):
            n = min(VECTOR_SLICE, count - offset)
            out.write(new_first + offset, source.read(old_first + offset, old_first + offset + n))


# int8 document vectors are kept when, on a sample of the corpus's own chunks, they stay this close to the
# original model's (BENCHMARKS.md, "int8 documents by default"): the mean and the least cosine of the same
# chunk's two vectors, and the share of each probe's ten nearest chunks that both find.
FIDELITY_MIN_MEAN_COSINE = 0.99
FIDELITY_MIN_COSINE = 0.95
FIDELITY_MIN_TOP10 = 0.8
FIDELITY_SAMPLE = 256
FIDELITY_PROBES = 32


def fidelity_sample(texts: Sequence[str], *, size: int = FIDELITY_SAMPLE) -> list[str]:
    """Up to ``size`` texts spread evenly over ``texts`` (the chunks about to be embedded)."""
    if len(texts) <= size:
        return list(texts)
    step = len(texts) / size
    return [texts[int(k * step)] for k in range(size)]


def measure_fidelity(candidate: Embedder, reference: Embedder, texts: Sequence[str]) -> dict[str, Any]:
    """How close ``candidate`` (the int8 export) embeds ``texts`` to ``reference`` (the original model): the
    cosine of each text's two vectors, and for probes made of the texts' openings (question-like: short, on
    the same topics) how many of the ten nearest texts both agree on. ``passed`` says whether all three
    figures reach the thresholds above."""
    texts = [t for t in texts if t.strip()]
    if not texts:
        return {"passed": True, "sample": 0}
    a, b = candidate.embed(texts), reference.embed(texts)
    cosines = np.sum(a * b, axis=1)
    probes = [t[:24] for t in texts[:: max(1, len(texts) // FIDELITY_PROBES)]][:FIDELITY_PROBES]
    k = min(10, len(texts))
    pa = candidate.embed(probes, is_query=True) @ a.T
    pb = reference.embed(probes, is_query=True) @ b.T
    top_a, top_b = np.argsort(-pa, axis=1)[:, :k], np.argsort(-pb, axis=1)[:, :k]
    agreement = float(np.mean([len(set(x) & set(y)) / k for x, y in zip(top_a, top_b, strict=True)]))
    mean, least = round(float(np.mean(cosines)), 5), round(float(np.min(cosines)), 5)
    record: dict[str, Any] = {
        "sample": len(texts),
        "probes": len(probes),
        "mean_cosine": mean,
        "min_cosine": least,
        "top10_agreement": round(agreement, 4),
        "thresholds": {
            "mean_cosine": FIDELITY_MIN_MEAN_COSINE,
            "min_cosine": FIDELITY_MIN_COSINE,
            "top10_agreement": FIDELITY_MIN_TOP10,
        },
    }
    record["passed"] = (
        mean >= FIDELITY_MIN_MEAN_COSINE and least >= FIDELITY_MIN_COSINE and agreement >= FIDELITY_MIN_TOP10
    )
    return record


PARALLEL_TOKENIZE_FROM = 1000  # chunks: below this, worker processes cost more to start than they save


def build_lexical(
    texts: Sequence[str],
    *,
    backend: str,
    processes: int = 1,
    token_lists: Any = None,
    bounds: Sequence[tuple[int, int]] | None = None,
) -> Any:
    """The lexical index of every chunk's text, in row order (saved by the caller once it has let go of them),
    tokenised by ``processes`` worker processes when there are enough texts to be worth them, or by
    ``token_lists`` (a build engine's workers, ``rag.indexing.engines``). With ``bounds`` (row ranges), a list:
    one index per range, scored with the whole corpus's statistics (the backend's ``build_shards``)."""
    cls = registry.load("lexical", backend)
    how: dict[str, Any] = {}
    if token_lists is not None:
        how = {"token_lists": token_lists}
    elif processes > 1 and len(texts) >= PARALLEL_TOKENIZE_FROM:
        how = {"processes": processes}
    if bounds is None:
        return cls.build(texts, **how)
    if not hasattr(cls, "build_shards"):
        raise ConfigError(f"lexical backend {backend!r} cannot build shards: set RAG_INDEX__SHARDS=1")
    return cls.build_shards(texts, bounds, **how)
