"""A sharded build's vector and lexical indexes, searched as one: each query fans out to every shard in parallel
(FAISS and numpy release the GIL while they score) and the shards' hits are merged by score.

A shard holds a contiguous range of the build's chunk rows; its indexes number their chunks from 0, so a hit's
row is its shard's first row plus the shard's own row. BM25 shards are scored with the whole corpus's statistics
(``Bm25Index.build_shards``), and the exact FAISS kind scores a vector the same wherever it lies, so merging the
shards' top ``k`` ranks exactly as one index of every chunk would. Approximate kinds (HNSW, IVF) are built per
shard and rank approximately, as they do unsharded.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

import numpy as np

from rag.protocols import LexicalSearch, VectorSearch

if TYPE_CHECKING:
    from rag.protocols import FloatArray, IntArray

SHARDS_DIR = "shards"
T = TypeVar("T")
R = TypeVar("R")


class _Sized(Protocol):
    def __len__(self) -> int: ...


P = TypeVar("P", bound=_Sized)


def shard_dir(build: Path, number: int) -> Path:
    """Where shard ``number`` of ``build`` keeps its indexes."""
    return build / SHARDS_DIR / f"{number:03d}"


def split_rows(rows: int, shards: int) -> list[tuple[int, int]]:
    """``rows`` chunk rows cut into ``shards`` contiguous ranges of (nearly) equal size."""
    if shards < 1:
        raise ValueError(f"a build has at least one shard, not {shards}")
    edges = [rows * i // shards for i in range(shards + 1)]
    return list(itertools.pairwise(edges))


@dataclass(frozen=True, slots=True)
class Shard:
    """One shard's rows ``[start, stop)`` of the build, and its folder within the build."""

    start: int
    stop: int
    path: str

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "stop": self.stop, "path": self.path}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Shard:
        return cls(int(data["start"]), int(data["stop"]), str(data["path"]))


class _FanOut:
    """Runs one call per shard on a thread pool of its own (one thread per shard, up to the cores).

    Closing it (the build was replaced) lets calls already queued finish and runs later ones in the caller's
    thread: a request still on the old build when the server swaps to a new one completes, more slowly."""

    def __init__(self, shards: int) -> None:
        self._pool = ThreadPoolExecutor(max(1, min(shards, os.cpu_count() or 1)), thread_name_prefix="shard")
        self._closed = False

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        if len(items) == 1 or self._closed:
            return [fn(item) for item in items]
        futures: list[Future[R] | None] = []
        for item in items:
            try:
                futures.append(self._pool.submit(fn, item))
            except RuntimeError:  # closed between the check and the submit
                futures.append(None)
        return [f.result() if f is not None else fn(item) for f, item in zip(futures, items, strict=True)]

    def close(self) -> None:
        self._closed = True
        self._pool.shutdown(wait=False)


def _merge(scores: list[np.ndarray[Any, Any]], rows: list[np.ndarray[Any, Any]], k: int) -> tuple[Any, Any]:
    """The ``k`` best of several hit lists (rows already global), best first and equal scores by row."""
    all_scores, all_rows = np.concatenate(scores), np.concatenate(rows)
    keep = all_rows >= 0
    all_scores, all_rows = all_scores[keep], all_rows[keep]
    order = np.lexsort((all_rows, -all_scores))[:k]
    return all_scores[order], all_rows[order]


class _Sharded(Generic[P]):
    """The indexes of a build's shards (``offsets``: each one's first row in the build), fanned out to."""

    def __init__(self, parts: Sequence[P], offsets: Sequence[int], *, fan_out: _FanOut) -> None:
        self._parts, self._offsets, self._fan_out = list(parts), list(offsets), fan_out

    def __len__(self) -> int:
        return sum(len(p) for p in self._parts)


class ShardedVectors(_Sharded[VectorSearch]):
    """The vector indexes of a build's shards, searched as one (a ``VectorSearch``)."""

    def search(self, queries: FloatArray, k: int) -> tuple[FloatArray, IntArray]:
        results = self._fan_out.map(lambda part: part.search(queries, k), self._parts)
        n = len(queries)
        k = min(k, len(self))
        out_scores = np.full((n, k), -np.inf, dtype=np.float32)
        out_rows = np.full((n, k), -1, dtype=np.int64)
        for q in range(n):
            scores = [s[q] for s, _ in results]
            rows = [np.where(r[q] >= 0, r[q] + off, -1) for (_, r), off in zip(results, self._offsets, strict=True)]
            top_scores, top_rows = _merge(scores, rows, k)
            out_scores[q, : len(top_rows)], out_rows[q, : len(top_rows)] = top_scores, top_rows
        return out_scores, out_rows


class ShardedLexical(_Sharded[LexicalSearch]):
    """The lexical indexes of a build's shards, searched as one (a ``LexicalSearch``)."""

    def search(self, query: str, k: int) -> tuple[FloatArray, IntArray]:
        results = self._fan_out.map(lambda part: part.search(query, k), self._parts)
        scores = [s for s, _ in results]
        rows = [r + off for (_, r), off in zip(results, self._offsets, strict=True)]
        top_scores, top_rows = _merge(scores, rows, k)
        return top_scores.astype(np.float32), top_rows.astype(np.int64)


def open_shards(
    build: Path, shards: Sequence[Shard], *, load_vectors: Callable[[Path], Any], load_lexical: Callable[[Path], Any]
) -> tuple[ShardedVectors, ShardedLexical, Callable[[], None]]:
    """The shards of ``build`` loaded (in parallel) and joined; the last item stops their thread pool."""
    fan_out = _FanOut(len(shards))
    paths = [build / s.path for s in shards]
    vectors = fan_out.map(load_vectors, paths)
    lexical = fan_out.map(load_lexical, paths)
    offsets = [s.start for s in shards]
    return (
        ShardedVectors(vectors, offsets, fan_out=fan_out),
        ShardedLexical(lexical, offsets, fan_out=fan_out),
        fan_out.close,
    )
