"""Vector search with FAISS: exact inner product for small indexes, HNSW for large ones."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from rag.protocols import FloatArray, IntArray

FILE_NAME = "vectors.faiss"


class FaissIndex:
    """Inner-product search over normalised vectors (cosine); ids are chunk row numbers."""

    def __init__(self, dim: int, *, kind: str = "flat", hnsw_m: int = 32, ef_search: int = 128) -> None:
        import faiss

        self.dim = dim
        self.kind = kind
        if kind == "flat":
            self._index: Any = faiss.IndexFlatIP(dim)
        elif kind == "hnsw":
            self._index = faiss.IndexHNSWFlat(dim, hnsw_m, faiss.METRIC_INNER_PRODUCT)
            self._index.hnsw.efSearch = ef_search
        else:
            raise ValueError(f"unknown FAISS index kind {kind!r}; use 'flat' or 'hnsw'")

    @classmethod
    def load(cls, path: Path) -> FaissIndex:
        import faiss

        index = faiss.read_index(str(path / FILE_NAME))
        self = cls.__new__(cls)
        self.dim = index.d
        self.kind = "hnsw" if isinstance(index, faiss.IndexHNSW) else "flat"
        self._index = index
        return self

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def add(self, vectors: FloatArray) -> None:
        if len(vectors):
            self._index.add(np.ascontiguousarray(vectors, dtype=np.float32))

    def search(self, queries: FloatArray, k: int) -> tuple[FloatArray, IntArray]:
        k = min(k, len(self))
        if k <= 0:
            empty = np.zeros((len(queries), 0))
            return empty.astype(np.float32), empty.astype(np.int64)
        scores, ids = self._index.search(np.ascontiguousarray(queries, dtype=np.float32), k)
        return scores, ids

    def save(self, path: Path) -> None:
        import faiss

        faiss.write_index(self._index, str(path / FILE_NAME))
