"""The only place where settings become backend constructor calls."""

from __future__ import annotations

import logging
from typing import Any

from rag import registry
from rag.errors import BackendUnavailableError, ConfigError
from rag.protocols import Embedder, Generator
from rag.settings import EmbedderSettings, GeneratorSettings

log = logging.getLogger(__name__)


def create_embedder(cfg: EmbedderSettings, *, threads: int = 0) -> Embedder:
    """The configured embedding backend, model loaded (``threads``: the onnx backend's intra-op threads)."""
    cls = registry.load("embedder", cfg.backend)
    kwargs: dict[str, Any] = {}
    if cfg.backend == "sentence-transformers":
        kwargs = {"device": cfg.device, "batch_size": cfg.batch_size, "query_prefix": cfg.query_prefix}
    elif cfg.backend == "onnx":
        kwargs = {
            "cache_dir": cfg.cache_dir,
            "quantize": cfg.quantize,
            "batch_size": cfg.batch_size,
            "query_prefix": cfg.query_prefix,
            "threads": threads,
        }
    embedder: Embedder = cls(cfg.model, **kwargs)
    return embedder


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


def create_generator(cfg: GeneratorSettings, *, backend: str | None = None) -> Generator:
    """The answer backend named by ``backend`` (default: the configured one)."""
    name = backend or cfg.backend
    cls = registry.load("generator", name)
    generator: Generator
    if name == "extractive":
        generator = cls(min_support=cfg.min_support)
    elif name == "llama-cpp":  # a local model: no server, key, timeout or retries
        generator = cls(
            cfg.model, temperature=cfg.temperature, max_tokens=cfg.max_tokens, context_tokens=cfg.context_tokens
        )
    else:
        generator = cls(
            base_url=cfg.base_url,
            model=cfg.model,
            api_key=cfg.api_key,
            temperature=cfg.temperature,
            max_tokens=cfg.max_tokens,
            timeout_s=cfg.timeout_s,
            max_retries=cfg.max_retries,
            context_tokens=cfg.context_tokens,
        )
    return generator
