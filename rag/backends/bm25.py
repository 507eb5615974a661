"""Lexical search with bm25s over Chinese search tokens (jieba words plus whole figures)."""

from __future__ import annotations

import multiprocessing
from array import array
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.text import tokenize

if TYPE_CHECKING:
    from rag.protocols import FloatArray, IntArray

DIR_NAME = "bm25"
TOKENIZE_CHUNK = 256  # texts sent to a tokeniser process at a time


@contextmanager
def _token_lists(
    texts: Iterable[str], tokenizer: Callable[[str], list[str]], processes: int
) -> Iterator[Iterator[list[str]]]:
    """Each text's tokens, in order: in this process, or from a pool of ``processes`` workers. The pool is
    started by a fresh server process (``forkserver``), never forked from this one, which may already run
    ONNX Runtime's threads; it is stopped when the block ends, also on an early exit."""
    if processes <= 1:
        yield map(tokenizer, texts)
        return
    ctx = multiprocessing.get_context("forkserver")
    with ctx.Pool(processes, initializer=_warm, initargs=(tokenizer,)) as pool:
        yield pool.imap(tokenizer, texts, chunksize=TOKENIZE_CHUNK)


def _warm(tokenizer: Callable[[str], list[str]]) -> None:
    tokenizer("预热")  # loads jieba's dictionary once per worker, before the first real chunk


class Bm25Index:
    """BM25 (Lucene variant) with scores precomputed into a sparse matrix by bm25s."""

    def __init__(self, *, k1: float = 1.2, b: float = 0.75, tokenizer: Callable[[str], list[str]] = tokenize) -> None:
        import bm25s

        self._tokenize = tokenizer
        self._bm25: Any = bm25s.BM25(k1=k1, b=b)
        self._size = 0

    @classmethod
    def build(
        cls,
        texts: Iterable[str],
        *,
        processes: int = 0,
        token_lists: Callable[[Iterable[str], Callable[[str], list[str]]], Any] | None = None,
        **kwargs: Any,
    ) -> Bm25Index:
        """The index of ``texts``; ``processes`` > 1 tokenises them in that many worker processes (jieba holds
        the GIL: threads would not help), in order, while this process maps the tokens to ids. ``token_lists``
        (a context manager of ``(texts, tokenizer)`` yielding each text's tokens in order) tokenises them
        elsewhere instead (a build engine's workers)."""
        import bm25s

        self = cls(**kwargs)
        # Token ids, not token strings: a million chunks of ~150 tokens as Python strings would take ~10 GB;
        # as 4-byte ids they take 600 MB.
        vocab: dict[str, int] = {"": 0}  # the empty token stands in for a chunk with no tokens
        ids: list[array[int]] = []
        tokens_of = (
            token_lists(texts, self._tokenize) if token_lists else _token_lists(texts, self._tokenize, processes)
        )
        with tokens_of as lists:
            for tokens in lists:
                ids.append(array("i", [vocab.setdefault(t, len(vocab)) for t in tokens] or [0]))
        self._size = len(ids)
        if ids:
            self._bm25.index(bm25s.tokenization.Tokenized(ids=ids, vocab=vocab), show_progress=False)
        return self

    @classmethod
    def load(cls, path: Path, **kwargs: Any) -> Bm25Index:
        import bm25s

        self = cls(**kwargs)
        self._bm25 = bm25s.BM25.load(str(path / DIR_NAME), mmap=False, show_progress=False)
        self._size = int(self._bm25.scores["num_docs"])
        return self

    def __len__(self) -> int:
        return self._size

    def search(self, query: str, k: int) -> tuple[FloatArray, IntArray]:
        ids = self._bm25.get_tokens_ids(self._tokenize(query)) if self._size else []
        if not ids:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        scores = self._scores(ids)
        k = min(k, self._size)
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        top = top[scores[top] > 0]
        return scores[top].astype(np.float32), top.astype(np.int64)

    def _scores(self, token_ids: list[int]) -> FloatArray:
        """BM25 score of every chunk: the sum of the query tokens' precomputed columns.

        What bm25s's ``get_scores_from_ids`` computes, but with a plain indexed add: a column holds each chunk
        at most once, so ``np.add.at`` (several times slower, what dominates at a million chunks) is not needed.
        """
        if self._bm25.nonoccurrence_array is not None:  # BM25L/BM25+ variants: let bm25s do it
            scores: FloatArray = self._bm25.get_scores_from_ids(token_ids)
            return scores
        index = self._bm25.scores
        data, indices, indptr = index["data"], index["indices"], index["indptr"]
        scores = np.zeros(self._size, dtype=data.dtype)
        for token in token_ids:
            start, end = indptr[token], indptr[token + 1]
            scores[indices[start:end]] += data[start:end]
        return scores

    def save(self, path: Path) -> None:
        if self._size:
            self._bm25.save(str(path / DIR_NAME), show_progress=False)
