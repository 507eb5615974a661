"""Micro-batched query embeddings: same vectors as direct calls, fewer encoder calls, errors reach callers."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest

from rag.backends.hashing_embedder import HashingEmbedder
from rag.batching import BatchingEmbedder


class CountingEmbedder(HashingEmbedder):
    """Counts encoder calls; each takes ``delay_s``, like a real model's forward pass (the hashing one alone takes
    microseconds, so concurrent callers would rarely overlap)."""

    def __init__(self, delay_s: float = 0.005) -> None:
        super().__init__()
        self.calls: list[int] = []
        self.lock = threading.Lock()
        self.fail = False
        self.delay_s = delay_s

    def embed(self, texts: Sequence[str], *, is_query: bool = False, show_progress: bool = False) -> Any:
        with self.lock:
            self.calls.append(len(texts))
        time.sleep(self.delay_s)
        if self.fail:
            raise RuntimeError("encoder broke")
        return super().embed(texts, is_query=is_query)


def test_concurrent_queries_share_encoder_calls_and_keep_their_vectors() -> None:
    inner = CountingEmbedder()
    batched = BatchingEmbedder(inner, max_batch=8, max_wait_ms=20)
    questions = [f"问题{i}：恒口示范区新建标准化厂房多少平方米？" for i in range(40)]
    with ThreadPoolExecutor(16) as pool:
        vectors = list(pool.map(lambda q: batched.embed([q], is_query=True), questions))
    expected = HashingEmbedder().embed(questions)
    assert np.allclose(np.vstack(vectors), expected)
    assert sum(inner.calls) == 40 and len(inner.calls) < 40 and max(inner.calls) <= 8


def test_documents_and_multi_text_calls_pass_straight_through() -> None:
    inner = CountingEmbedder()
    batched = BatchingEmbedder(inner)
    out = batched.embed(["甲", "乙", "丙"])
    assert out.shape == (3, inner.dim) and inner.calls == [3]
    assert batched.name == inner.name and batched.dim == inner.dim


def test_an_encoder_error_reaches_the_caller() -> None:
    inner = CountingEmbedder()
    inner.fail = True
    with pytest.raises(RuntimeError, match="encoder broke"):
        BatchingEmbedder(inner).embed(["问题"], is_query=True)
