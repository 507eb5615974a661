"""The one error hierarchy: every failure a user can meet, each message saying what to do next."""

from __future__ import annotations


class RAGError(Exception):
    """Root of all errors raised by the ``rag`` package."""


class ConfigError(RAGError):
    """A setting is missing or invalid."""


class BackendUnavailableError(RAGError):
    """A backend is unknown or its optional dependency is not installed."""


class IndexNotFoundError(RAGError):
    """No usable index exists at the given directory."""


class IndexMismatchError(RAGError):
    """The index on disk was built with settings that differ from the current ones."""


class IndexCorruptError(IndexNotFoundError):
    """A build's files do not match the checksums its manifest holds (damaged on disk)."""


class StorageFullError(RAGError):
    """The disk under the index (or the corpus) ran out of space while writing; nothing half-written is left."""


class IndexBusyError(RAGError):
    """Another build holds the index's build lock."""


class IngestError(RAGError):
    """A document could not be read or decoded."""


class GenerationError(RAGError):
    """An answer backend failed."""


class InvalidQueryError(RAGError):
    """A question was empty, too long, or otherwise unusable."""


class NotReadyError(RAGError):
    """The index or the model is not loaded (yet, or loading failed)."""


class UnauthorizedError(RAGError):
    """A write was asked for without the API key."""


class ReadOnlyError(RAGError):
    """A write was asked of a read-only serving replica (``RAG_API__READ_ONLY``): writes go to the builder."""


class DocumentNotFoundError(RAGError):
    """No document with that id in the live index."""


class ConflictError(RAGError):
    """The change cannot be made on this index or corpus as they are (e.g. deleting a .jsonl record)."""


class KnowledgeBaseNotFoundError(RAGError):
    """No knowledge base of that name (``GET /kbs`` lists them)."""


class FileTooLargeError(RAGError):
    """An uploaded file is over the size limit."""


class UnsupportedFileError(RAGError):
    """An uploaded file's type cannot be loaded."""
