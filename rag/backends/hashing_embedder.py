"""A tiny deterministic embedder (hashed character n-grams) for fast unit tests; never the only proof."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from rag.protocols import FloatArray


class HashingEmbedder:
    """Character uni- and bigrams hashed into ``dim`` buckets, L2-normalised."""

    def __init__(self, model: str = "hashing", *, dim: int = 256) -> None:
        self.name = model
        self.dim = dim

    def _bucket(self, gram: str) -> int:
        return int.from_bytes(hashlib.blake2b(gram.encode(), digest_size=8).digest(), "little") % self.dim

    def embed(self, texts: Sequence[str], *, is_query: bool = False, show_progress: bool = False) -> FloatArray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            chars = [c for c in text if not c.isspace()]
            for gram in chars + [a + b for a, b in itertools.pairwise(chars)]:
                out[row, self._bucket(gram)] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        normalised: FloatArray = (out / np.maximum(norms, 1e-12)).astype(np.float32)
        return normalised
