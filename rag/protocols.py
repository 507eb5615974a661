"""The pluggable seams: one small Protocol each for embedders, vector and lexical indexes, rerankers, readers
and generators."""

from __future__ import annotations

from collections.abc import Generator as PieceStream
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from rag.types import Draft, Hit, ReaderSpan

    FloatArray = npt.NDArray[np.float32]
    IntArray = npt.NDArray[np.int64]


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors of a fixed dimension."""

    name: str
    dim: int

    def embed(self, texts: Sequence[str], *, is_query: bool = False) -> FloatArray: ...


@runtime_checkable
class VectorSearch(Protocol):
    """What serving needs of a vector index: nearest-neighbour search whose ids are chunk row numbers (a
    ``VectorIndex``, or the shards of a build searched as one)."""

    def search(self, queries: FloatArray, k: int) -> tuple[FloatArray, IntArray]: ...

    def __len__(self) -> int: ...


@runtime_checkable
class VectorIndex(VectorSearch, Protocol):
    """Nearest-neighbour search over vectors whose ids are chunk row numbers."""

    def add(self, vectors: FloatArray) -> None: ...

    def save(self, path: Path) -> None: ...

    @classmethod
    def load(cls, path: Path) -> VectorIndex:
        """The index saved in the build folder ``path``."""
        ...


@runtime_checkable
class LexicalSearch(Protocol):
    """What serving needs of a lexical index: keyword search whose ids are chunk row numbers (a
    ``LexicalIndex``, or the shards of a build searched as one)."""

    def search(self, query: str, k: int) -> tuple[FloatArray, IntArray]: ...

    def __len__(self) -> int: ...


@runtime_checkable
class LexicalIndex(LexicalSearch, Protocol):
    """Keyword (BM25-style) search over tokenised chunk texts, ids are chunk row numbers."""

    def save(self, path: Path) -> None: ...

    @classmethod
    def build(cls, texts: Iterable[str]) -> LexicalIndex:
        """The index of ``texts`` (row ``i`` is text ``i``). A backend that can tokenise in worker processes
        also takes ``processes=N``; the build passes it only for big enough corpora."""
        ...

    @classmethod
    def load(cls, path: Path) -> LexicalIndex:
        """The index saved in the build folder ``path``."""
        ...


@runtime_checkable
class Reranker(Protocol):
    """Re-orders the head of the fused candidates (best first) for a question."""

    def rerank(self, question: str, hits: Sequence[Hit]) -> list[Hit]: ...


@runtime_checkable
class Reader(Protocol):
    """Reads passages and returns the span that answers the question, with a calibrated probability."""

    def read(self, question: str, passages: Sequence[str]) -> ReaderSpan | None: ...


@runtime_checkable
class Generator(Protocol):
    """Writes an answer from retrieved hits.

    ``generate`` yields text pieces (callers that do not stream join them) and *returns* a ``Draft``
    with what only the backend knows: the short answer and whether the hits really answer the question.
    """

    name: str

    def generate(self, question: str, hits: Sequence[Hit]) -> PieceStream[str, None, Draft]: ...


@runtime_checkable
class QuestionRewriter(Protocol):
    """An answer backend that can also turn a follow-up ("那2020年呢？") into a standalone question."""

    def rewrite(self, question: str, history: Sequence[Mapping[str, str]]) -> str: ...
