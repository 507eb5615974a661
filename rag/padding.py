"""Batches of token sequences for ONNX Runtime: cut so that little goes to padding, then right-padded."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def right_padded(rows: Sequence[Sequence[int]]) -> np.ndarray[Any, np.dtype[np.int64]]:
    """``rows`` as one int64 array, each row right-padded with zeros to the longest."""
    out = np.zeros((len(rows), max((len(r) for r in rows), default=0)), dtype=np.int64)
    for k, row in enumerate(rows):
        out[k, : len(row)] = row
    return out


def token_batches(
    lengths: Sequence[int], *, tokens: int, size: int, keys: Sequence[str] | None = None
) -> list[list[int]]:
    """Indexes into ``lengths`` cut into batches, shortest texts first (ties by ``keys`` when given): each batch
    at most ``size`` texts and, padded to its longest, at most ``tokens`` tokens (a longer text alone;
    ``tokens`` 0: ``size`` only)."""
    if keys is None:
        order = sorted(range(len(lengths)), key=lengths.__getitem__)
    else:
        order = sorted(range(len(lengths)), key=lambda i: (lengths[i], keys[i]))
    batches: list[list[int]] = []
    batch: list[int] = []
    for i in order:
        # Sorted ascending: the text joining a batch is its longest, so the padded size is (count + 1) × its length.
        if batch and (len(batch) >= size or (tokens and (len(batch) + 1) * lengths[i] > tokens)):
            batches.append(batch)
            batch = []
        batch.append(i)
    if batch:
        batches.append(batch)
    return batches
