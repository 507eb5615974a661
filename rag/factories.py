"""The only place where settings become backend constructor calls, through the factory each backend
registered with its settings section (``rag.registry``)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rag import registry
from rag.errors import BackendUnavailableError, ConfigError
from rag.protocols import Embedder, Generator, Reader, Reranker
from rag.settings import EmbedderSettings, GeneratorSettings, ReaderSettings, RetrievalSettings

if TYPE_CHECKING:
    from rag.protocols import FloatArray

log = logging.getLogger(__name__)


# --- settings → backends --------------------------------------------------------------------------------------


def create_embedder(cfg: EmbedderSettings, *, threads: int = 0) -> Embedder:
    """The configured embedding backend, model loaded (``threads``: the onnx backend's intra-op threads)."""
    embedder: Embedder = registry.create("embedder", cfg.backend, cfg, threads=threads)
    return embedder


class LazyEmbedder:
    """An embedder made on first use: serving encodes questions with ONNX Runtime and needs the documents'
    model (torch, for the reference backend) only when a document is uploaded."""

    def __init__(self, cfg: EmbedderSettings) -> None:
        self._cfg = cfg
        self._embedder: Embedder | None = None
        self.name = cfg.model
        self.backend = cfg.backend
        self.quantize = cfg.quantize

    @property
    def loaded(self) -> bool:
        return self._embedder is not None

    def _get(self) -> Embedder:
        if self._embedder is None:
            self._embedder = create_embedder(self._cfg)
        return self._embedder

    @property
    def dim(self) -> int:
        return self._get().dim

    @dim.setter
    def dim(self, value: int) -> None:  # the Embedder protocol declares a plain attribute
        raise AttributeError("the dimension is the model's")

    def embed(self, texts: Sequence[str], *, is_query: bool = False) -> FloatArray:
        return self._get().embed(texts, is_query=is_query)


def serving_embedders(cfg: EmbedderSettings, built_with: dict[str, Any]) -> tuple[Embedder, Embedder]:
    """The documents' and the questions' embedders for serving an index whose vectors ``built_with`` made
    (the manifest's embedder): documents (uploads) go through the same path, so an index never mixes paths;
    an int8 ONNX index needs no torch at all — one ONNX Runtime session encodes both, with the question
    encoder's threads. A sentence-transformers index loads torch only at the first upload."""
    backend = str(built_with.get("backend") or cfg.backend)
    docs_cfg = cfg.model_copy(update={"backend": backend, "quantize": bool(built_with.get("quantize", cfg.quantize))})
    if backend == "onnx":
        embedder = create_embedder(docs_cfg, threads=cfg.query_threads)
        return embedder, embedder
    documents = LazyEmbedder(docs_cfg)
    return documents, create_query_embedder(docs_cfg, documents)


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


def embedder_fingerprint(cfg: EmbedderSettings, embedder: Embedder | None = None) -> dict[str, Any]:
    """What the index manifest records about the embedder that makes its vectors (``embedder``, else the one
    ``cfg`` names): the path (backend, and int8 or not) and the model. Builds reuse vectors only of the same
    fingerprint, so one index never mixes paths."""
    backend = getattr(embedder, "backend", None) or cfg.backend
    fingerprint: dict[str, Any] = {"backend": backend, "model": cfg.model, "query_prefix": cfg.query_prefix}
    if backend == "onnx":
        fingerprint["quantize"] = bool(getattr(embedder, "quantize", cfg.quantize))
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
        extra = {
            "reader": reader,
            "reader_threshold": reader_cfg.threshold,
            "reader_passages": reader_cfg.passages,
            "reader_figure_floor": reader_cfg.figure_floor,
        }
    generator: Generator = registry.create("generator", backend or cfg.backend, cfg, **extra)
    return generator
