"""The only place where settings become backend constructor calls."""

from __future__ import annotations

from typing import Any

from rag import registry
from rag.protocols import Embedder, Generator
from rag.settings import EmbedderSettings, GeneratorSettings


def create_embedder(cfg: EmbedderSettings) -> Embedder:
    """The configured embedding backend, model loaded."""
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
        }
    embedder: Embedder = cls(cfg.model, **kwargs)
    return embedder


def create_query_embedder(cfg: EmbedderSettings, documents: Embedder | None = None) -> Embedder:
    """The embedder for questions: ``documents`` (or a new one like it) unless ``query_backend`` names another
    backend for the same model."""
    if not cfg.query_backend or cfg.query_backend == cfg.backend:
        return documents or create_embedder(cfg)
    return create_embedder(cfg.model_copy(update={"backend": cfg.query_backend}))


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
