"""The index seam: a build's typed manifest, its files on disk and SQLite chunk store, and a build opened for
reading (``LoadedIndex``)."""

from __future__ import annotations

from rag.index.loaded import LoadedIndex
from rag.index.manifest import Counts, Manifest
from rag.index.store import ChunkStore

__all__ = ["ChunkStore", "Counts", "LoadedIndex", "Manifest"]
