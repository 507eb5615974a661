"""Vector search with FAISS: exact inner product for small indexes, approximate (IVF or HNSW) for large ones."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from rag.protocols import FloatArray, IntArray

FILE_NAME = "vectors.faiss"
# "flat": exact. "ivf_sq8": inverted lists over k-means cells, 8-bit scalar-quantised vectors (a quarter of the
# memory of float32; needs training). "hnsw_sq8": an HNSW graph over 8-bit vectors. "hnsw": an HNSW graph over
# float32 vectors (what large indexes used before "ivf_sq8"; still read and built).
KINDS = ("flat", "ivf_sq8", "hnsw_sq8", "hnsw")


class FaissIndex:
    """Inner-product search over normalised vectors (cosine); ids are chunk row numbers."""

    def __init__(
        self,
        dim: int,
        *,
        kind: str = "flat",
        hnsw_m: int = 32,
        ef_search: int = 256,
        nlist: int = 1024,
        nprobe: int = 64,
    ) -> None:
        import faiss

        self.dim = dim
        self.kind = kind
        ip = faiss.METRIC_INNER_PRODUCT
        if kind == "flat":
            self._index: Any = faiss.IndexFlatIP(dim)
        elif kind == "ivf_sq8":
            self._quantizer = faiss.IndexFlatIP(dim)  # the IVF index borrows it: keep it alive with this object
            self._index = faiss.IndexIVFScalarQuantizer(self._quantizer, dim, nlist, faiss.ScalarQuantizer.QT_8bit, ip)
            self._index.nprobe = nprobe  # saved with the index, so a loaded index searches the same way
        elif kind in ("hnsw", "hnsw_sq8"):
            if kind == "hnsw":
                self._index = faiss.IndexHNSWFlat(dim, hnsw_m, ip)
            else:
                qt = faiss.ScalarQuantizer.QT_8bit
                self._index = faiss.IndexHNSWSQ(dim, qt, hnsw_m, ip)  # type: ignore[arg-type]  # stub: an enum int
            self._index.hnsw.efSearch = ef_search  # saved with the index too
        else:
            raise ValueError(f"unknown FAISS index kind {kind!r}; use one of {', '.join(KINDS)}")

    @classmethod
    def load(cls, path: Path) -> FaissIndex:
        import faiss

        index = faiss.read_index(str(path / FILE_NAME))
        self = cls.__new__(cls)
        self.dim = index.d
        self.kind = _kind_of(index)
        self._index = index
        return self

    @property
    def needs_training(self) -> bool:
        """Whether ``train`` must see a sample of the vectors before ``add`` (the quantised kinds)."""
        return not bool(self._index.is_trained)

    def train(self, sample: FloatArray) -> None:
        """Learn the index's cells and quantiser ranges from ``sample`` (a few hundred vectors per cell)."""
        if not self._index.is_trained:
            self._index.train(np.ascontiguousarray(sample, dtype=np.float32))

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


def _kind_of(index: Any) -> str:
    import faiss

    if isinstance(index, faiss.IndexIVF):
        return "ivf_sq8"
    if isinstance(index, faiss.IndexHNSW):
        return "hnsw_sq8" if isinstance(index, faiss.IndexHNSWSQ) else "hnsw"
    return "flat"
