"""Micro-batching of concurrent query embeddings: requests that arrive together share one encoder call."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from rag.protocols import Embedder

if TYPE_CHECKING:
    from rag.protocols import FloatArray


@dataclass(slots=True)
class _Request:
    text: str
    done: threading.Event = field(default_factory=threading.Event)
    vector: FloatArray | None = None
    error: BaseException | None = None


class BatchingEmbedder:
    """Wraps an ``Embedder``: single-query calls from many threads are gathered (up to ``max_batch``, waiting
    at most ``max_wait_ms`` for company) and encoded together; everything else passes straight through.

    A lone caller pays at most ``max_wait_ms``; under load each encoder call serves many requests, which is
    what bounds a CPU server's throughput (the query embedding is most of a question's cost).
    """

    def __init__(self, inner: Embedder, *, max_batch: int = 32, max_wait_ms: float = 2.0) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.max_batch = max_batch
        self.max_wait_s = max_wait_ms / 1000
        self._ready = threading.Condition()
        self._pending: list[_Request] = []
        self._worker: threading.Thread | None = None
        self._last_batch = 1
        self._busy = False  # an encoder call for queries is running (in the worker or a lone caller)

    def embed(self, texts: Sequence[str], *, is_query: bool = False) -> FloatArray:
        if not is_query or len(texts) != 1:
            return self.inner.embed(texts, is_query=is_query)
        with self._ready:
            alone = not self._pending and not self._busy
            if alone:
                self._busy = True  # nobody to wait for: encode in this thread, no hand-off
        if alone:
            try:
                return self.inner.embed(texts, is_query=True)
            finally:
                with self._ready:
                    self._busy = False
                    self._ready.notify()
        request = _Request(texts[0])
        with self._ready:
            self._pending.append(request)
            if self._worker is None:
                self._worker = threading.Thread(target=self._serve, name="query-embedder", daemon=True)
                self._worker.start()
            self._ready.notify()
        request.done.wait()
        if request.error is not None:
            raise request.error
        assert request.vector is not None
        return request.vector[None, :]

    def _serve(self) -> None:
        """The worker: wait for requests (and for a running encoder call to end), give others ``max_wait`` to
        join when requests come together, encode them as one batch, repeat."""
        while True:
            with self._ready:
                while not self._pending or self._busy:
                    self._ready.wait()
                self._busy = True
            if self._last_batch > 1 or len(self._pending) > 1:
                time.sleep(self.max_wait_s)  # requests are arriving together: let the others join
            with self._ready:
                batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch :]
            self._last_batch = len(batch)
            try:
                vectors = np.asarray(self.inner.embed([r.text for r in batch], is_query=True))
                for r, v in zip(batch, vectors, strict=True):
                    r.vector = v
            except BaseException as exc:  # handed to every waiting caller, not swallowed
                for r in batch:
                    r.error = exc
            finally:
                with self._ready:
                    self._busy = False
            for r in batch:
                r.done.set()
