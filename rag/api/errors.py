"""Errors only the HTTP edge raises; the one handler in ``rag.api.app`` maps them (and all others) to statuses."""

from __future__ import annotations

from rag.errors import RAGError


class NotReadyError(RAGError):
    """The index or the model is not loaded (yet, or loading failed)."""


class UnauthorizedError(RAGError):
    """A write endpoint was called without the API key."""


class DocumentNotFoundError(RAGError):
    """No document with that id in the live index."""


class ConflictError(RAGError):
    """The request cannot be done on this index or corpus as they are (e.g. deleting a .jsonl record)."""


class FileTooLargeError(RAGError):
    """An uploaded file is over the size limit."""


class UnsupportedFileError(RAGError):
    """An uploaded file's type cannot be loaded."""
