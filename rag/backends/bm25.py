"""Lexical search with bm25s over Chinese search tokens (jieba words plus whole figures)."""

from __future__ import annotations

import multiprocessing
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
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


def _token_ids(
    texts: Iterable[str],
    tokenizer: Callable[[str], list[str]],
    *,
    processes: int,
    token_lists: Callable[[Iterable[str], Callable[[str], list[str]]], Any] | None,
) -> tuple[dict[str, int], list[array[int]]]:
    """The vocabulary (token → id, the empty token 0) and each text's token ids, in order."""
    # Token ids, not token strings: a million chunks of ~150 tokens as Python strings would take ~10 GB;
    # as 4-byte ids they take 600 MB.
    vocab: dict[str, int] = {"": 0}  # the empty token stands in for a chunk with no tokens
    ids: list[array[int]] = []
    tokens_of = token_lists(texts, tokenizer) if token_lists else _token_lists(texts, tokenizer, processes)
    with tokens_of as lists:
        for tokens in lists:
            ids.append(array("i", [vocab.setdefault(t, len(vocab)) for t in tokens] or [0]))
    return vocab, ids


def _doc_freqs(ids: Sequence[array[int]], n_vocab: int) -> np.ndarray[Any, Any]:
    """How many of the chunks ``ids`` hold each token id (what bm25s counts, by a vectorised count)."""
    if not ids:
        return np.zeros(n_vocab, dtype=np.int64)
    distinct = np.concatenate([np.unique(np.frombuffer(a, dtype=np.int32)) for a in ids])
    return np.bincount(distinct, minlength=n_vocab).astype(np.int64)


def _tokenized(ids: Sequence[array[int]], vocab: dict[str, int]) -> Any:
    import bm25s

    return bm25s.tokenization.Tokenized(ids=list(ids), vocab=vocab)


@dataclass(frozen=True, slots=True)
class CorpusStats:
    """What BM25 needs to know of the whole corpus: chunks, their mean length in tokens, and each token's
    document frequency (indexed by token id)."""

    docs: int
    mean_length: np.float64
    doc_freqs: np.ndarray[Any, Any]


def _global_stats_bm25() -> type:
    """A bm25s ``BM25`` whose score matrix is computed with the whole corpus's statistics instead of those of
    the chunks it indexes (bm25s's documented override point, ``build_index_from_ids``; the same scoring
    functions, so a shard's scores are bit for bit those of one index of every chunk)."""
    import bm25s
    from bm25s import scoring

    class GlobalStatsBM25(bm25s.BM25):  # type: ignore[misc]  # bm25s ships no type hints
        def __init__(self, stats: CorpusStats, shard_df: np.ndarray[Any, Any], **kwargs: Any) -> None:
            super().__init__(**kwargs)
            if self.method in self.methods_requiring_nonoccurrence:
                raise ValueError(f"sharded BM25 supports the Lucene family, not {self.method}")
            self._stats, self._shard_df = stats, shard_df

        def build_index_from_ids(
            self, unique_token_ids: Any, corpus_token_ids: Any, show_progress: bool = False, **_: Any
        ) -> dict[str, Any]:
            stats, n_vocab = self._stats, len(unique_token_ids)
            idf = scoring._build_idf_array(
                doc_frequencies={t: int(df) for t, df in enumerate(stats.doc_freqs[:n_vocab])},
                n_docs=stats.docs,
                compute_idf_fn=scoring._select_idf_scorer(self.idf_method),
                dtype=self.dtype,
            )
            data, doc_idx, vocab_idx = scoring._build_scores_and_indices_for_matrix(
                corpus_token_ids=corpus_token_ids,
                idf_array=idf,
                avg_doc_len=stats.mean_length,
                doc_frequencies={t: int(df) for t, df in enumerate(self._shard_df) if df},
                k1=self.k1,
                b=self.b,
                delta=self.delta,
                nonoccurrence_array=None,
                method=self.method,
                dtype=self.dtype,
                int_dtype=self.int_dtype,
                show_progress=False,
            )
            n_docs = len(corpus_token_ids)
            data, indices, indptr = self._np_csc(data=data, rows=doc_idx, cols=vocab_idx, shape=(n_docs, n_vocab))
            self.nonoccurrence_array = None
            return {"data": data.astype(self.dtype), "indices": indices, "indptr": indptr, "num_docs": n_docs}

    return GlobalStatsBM25


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
        vocab, ids = _token_ids(texts, self._tokenize, processes=processes, token_lists=token_lists)
        self._size = len(ids)
        if ids:
            self._bm25.index(bm25s.tokenization.Tokenized(ids=ids, vocab=vocab), show_progress=False)
        return self

    @classmethod
    def build_shards(
        cls,
        texts: Iterable[str],
        bounds: Sequence[tuple[int, int]],
        *,
        processes: int = 0,
        token_lists: Callable[[Iterable[str], Callable[[str], list[str]]], Any] | None = None,
        k1: float = 1.2,
        b: float = 0.75,
        **kwargs: Any,
    ) -> list[Bm25Index]:
        """One index per row range of ``bounds`` (contiguous, covering every text), each scored with the
        statistics of the *whole* corpus — its number of chunks, mean chunk length and every token's document
        frequency — so that a chunk scores the same in its shard as in one index of every chunk, and merging
        the shards' top hits by score ranks exactly as that one index does. Tokenised once, as ``build``."""
        self = cls(k1=k1, b=b, **kwargs)
        vocab, ids = _token_ids(texts, self._tokenize, processes=processes, token_lists=token_lists)
        starts, stops = [start for start, _ in bounds], [stop for _, stop in bounds]
        if not bounds or starts[0] != 0 or stops[-1] != len(ids) or starts[1:] != stops[:-1]:
            raise ValueError(f"shard bounds {list(bounds)} do not cover rows 0..{len(ids)} in order")
        shard_df = [_doc_freqs(ids[start:stop], len(vocab)) for start, stop in bounds]
        stats = CorpusStats(
            docs=len(ids),
            # A numpy float64, as bm25s has it: with NumPy's promotion rules a Python float would score in float32.
            mean_length=np.array([len(a) for a in ids]).mean() if ids else np.float64(0.0),
            doc_freqs=np.sum(shard_df, axis=0) if shard_df else np.zeros(len(vocab), dtype=np.int64),
        )
        shards = []
        for (start, stop), df in zip(bounds, shard_df, strict=True):
            shard = cls(k1=k1, b=b, **kwargs)
            shard._bm25 = _global_stats_bm25()(stats, df, k1=k1, b=b)
            shard._size = stop - start
            if stop > start:
                shard._bm25.index(_tokenized(ids[start:stop], vocab), show_progress=False)
            shards.append(shard)
        return shards

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
        kth = scores[np.argpartition(-scores, k - 1)[:k]].min()
        # Every chunk scoring at least the k-th best, best first and equal scores by row: ties at the cut are
        # settled the same way in every index (a sharded one merges its shards' hits by the same order).
        top = np.flatnonzero(scores >= kth) if kth > 0 else np.flatnonzero(scores > 0)
        top = top[np.lexsort((top, -scores[top]))][:k]
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
