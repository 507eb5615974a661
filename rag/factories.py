"""The only place where settings become backend constructor calls, through the factory each backend
registered with its settings section (``rag.registry``)."""

from __future__ import annotations

import logging
from typing import Any

from rag import registry
from rag.errors import BackendUnavailableError, ConfigError
from rag.protocols import Embedder, Generator, Reader, Reranker
from rag.settings import EmbedderSettings, GeneratorSettings, ReaderSettings, RetrievalSettings

log = logging.getLogger(__name__)


# --- settings → backends --------------------------------------------------------------------------------------


def create_embedder(cfg: EmbedderSettings, *, threads: int = 0) -> Embedder:
    """The configured embedding backend, model loaded (``threads``: the onnx backend's intra-op threads)."""
    embedder: Embedder = registry.create("embedder", cfg.backend, cfg, threads=threads)
    return embedder


def create_reranker(cfg: RetrievalSettings) -> Reranker | None:
    """The configured reranker of the fused head, or None when re-ranking is off."""
    if not cfg.rerank_depth or not cfg.reranker:
        return None
    reranker: Reranker = registry.create("reranker", cfg.reranker, cfg)
    return reranker


def create_query_embedder(cfg: EmbedderSettings, documents: Embedder | None = None) -> Embedder:
    """The embedder for questions: ``documents`` (or a new one like it) unless ``query_backend`` names another
    backend for the same model; that one missing its library, the documents' embedder, with a warning. Only a
    sentence-transformers model has another runtime for its questions (the onnx backend exports that model)."""
    if not cfg.query_backend or cfg.query_backend == cfg.backend or cfg.backend != "sentence-transformers":
        return documents or create_embedder(cfg)
    if cfg.query_backend not in registry.available("embedder"):
        known = ", ".join(registry.available("embedder"))
        raise ConfigError(
            f"unknown query_backend {cfg.query_backend!r} (RAG_EMBEDDER__QUERY_BACKEND); use one of {known}"
        )
    try:
        return create_embedder(cfg.model_copy(update={"backend": cfg.query_backend}), threads=cfg.query_threads)
    except BackendUnavailableError as exc:
        log.warning("questions are encoded by the %r backend instead of %r: %s", cfg.backend, cfg.query_backend, exc)
        return documents or create_embedder(cfg)


def embedder_fingerprint(cfg: EmbedderSettings) -> dict[str, Any]:
    """What the index manifest records about the embedder (checked again at load time)."""
    fingerprint: dict[str, Any] = {"backend": cfg.backend, "model": cfg.model, "query_prefix": cfg.query_prefix}
    if cfg.backend == "onnx":
        fingerprint["quantize"] = cfg.quantize
    return fingerprint


def create_reader(cfg: ReaderSettings) -> Reader | None:
    """The learned reader (its model loads on first use), or None when it is switched off."""
    if not cfg.enabled:
        return None
    reader: Reader = registry.create("reader", cfg.backend, cfg)
    return reader


def create_generator(
    cfg: GeneratorSettings,
    *,
    backend: str | None = None,
    reader: Reader | None = None,
    reader_cfg: ReaderSettings | None = None,
) -> Generator:
    """The answer backend named by ``backend`` (default: the configured one), made by its registered factory;
    the reader goes to every factory, which may ignore it."""
    extra: dict[str, Any] = {}
    if reader is not None and reader_cfg is not None:
        extra = {"reader": reader, "reader_threshold": reader_cfg.threshold, "reader_passages": reader_cfg.passages}
    generator: Generator = registry.create("generator", backend or cfg.backend, cfg, **extra)
    return generator
