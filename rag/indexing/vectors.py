"""The build's vector file (``vectors.npy``, a slice at a time) and the FAISS index built from it."""

from __future__ import annotations

import errno
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag import registry
from rag.settings import IndexSettings, Settings

VECTOR_SLICE = 65536  # rows of vectors.npy mapped at a time when copying, training and adding
TRAIN_PER_CELL = 64  # training vectors per IVF cell (FAISS wants at least 39)


class VectorFile:
    """``vectors.npy`` read and written a slice at a time.

    Each access maps the file only for as long as it takes, so the pages it touched leave the process's resident
    memory with the mapping (the kernel keeps them as page cache); a map held open for the whole build would
    keep every row resident beside the FAISS index built from them.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def create(cls, path: Path, *, rows: int, dim: int) -> VectorFile:
        np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(rows, dim)).flush()
        # Reserve the blocks now: a write through a map into a full disk is a SIGBUS that kills the process,
        # whereas a failed reservation is an ENOSPC the build reports (and cleans up after).
        with open(path, "r+b") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size:
                try:
                    os.posix_fallocate(fh.fileno(), 0, size)
                except OSError as exc:
                    if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL):  # no fallocate on this file system
                        raise
        return cls(path)

    @property
    def shape(self) -> tuple[int, int]:
        rows, dim = np.load(self.path, mmap_mode="r").shape
        return int(rows), int(dim)

    def read(self, start: int, stop: int) -> np.ndarray[Any, Any]:
        """A copy of rows ``start:stop``."""
        return np.array(np.load(self.path, mmap_mode="r")[start:stop])

    def take(self, rows: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        """A copy of the rows at (sorted) positions ``rows``."""
        return np.asarray(np.load(self.path, mmap_mode="r")[rows])

    def write(self, start: int, values: np.ndarray[Any, Any]) -> None:
        out = np.load(self.path, mmap_mode="r+")
        out[start : start + len(values)] = values
        out.flush()

    def write_rows(self, rows: Sequence[int], values: np.ndarray[Any, Any]) -> None:
        out = np.load(self.path, mmap_mode="r+")
        out[list(rows)] = values
        out.flush()


def choose_vector_index(rows: int, cfg: IndexSettings) -> tuple[str, dict[str, Any]]:
    """The FAISS index kind for ``rows`` chunks and its constructor arguments: exact below
    ``cfg.approximate_from`` chunks, else ``cfg.approximate_kind`` with about 2·√rows IVF cells."""
    if rows < cfg.approximate_from:
        return "flat", {}
    kind = cfg.approximate_kind
    if kind == "ivf_sq8":
        # A power of two near 2·√rows, and never so many cells that k-means lacks points (FAISS wants 39 each).
        nlist = max(1, min(1 << round(math.log2(2 * math.sqrt(rows))), rows // 39))
        return kind, {"nlist": nlist, "nprobe": min(cfg.nprobe, nlist)}
    return kind, {"hnsw_m": cfg.hnsw_m, "ef_search": cfg.ef_search}


def build_vector_index(
    vectors: VectorFile, rows: int, dim: int, settings: Settings, *, seed: int = 0, first: int = 0
) -> tuple[str, dict[str, Any], Any]:
    """The vector index of the ``rows`` vectors of ``vectors`` from row ``first`` on (kind chosen by size),
    trained on a random sample when its kind needs it; returns the kind, its parameters (for the manifest) and
    the index, whose row 0 is row ``first`` of the file."""
    kind, params = choose_vector_index(rows, settings.index)
    vindex = registry.load("vector", settings.index.vector_backend)(dim, kind=kind, **params)
    if getattr(vindex, "needs_training", False):  # quantised kinds learn their cells/ranges from a sample
        size = min(rows, TRAIN_PER_CELL * int(params.get("nlist", 256)))
        sample = np.sort(np.random.default_rng(seed).choice(rows, size=size, replace=False))
        vindex.train(vectors.take(sample + first))
    for start in range(first, first + rows, VECTOR_SLICE):
        vindex.add(vectors.read(start, min(first + rows, start + VECTOR_SLICE)))
    return kind, params, vindex
