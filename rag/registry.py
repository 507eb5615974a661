"""Backends registered by name, imported lazily; built-ins register exactly like extensions."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal, TypeVar

from rag.errors import BackendUnavailableError

Kind = Literal["embedder", "vector", "lexical", "reranker", "reader", "generator"]
F = TypeVar("F", bound=Callable[..., Any])


Factory = Callable[..., Any]  # (cls, settings section, **extra) -> instance


@dataclass(frozen=True, slots=True)
class BackendSpec:
    """Where a backend lives (``module:attribute``), which install command provides it, and the factory that
    turns its settings section into a constructor call (``make(cls, cfg, **extra)``; default ``cls()``)."""

    target: str
    install: str
    requires: tuple[str, ...] = ()  # top-level modules it imports when used (lazily)
    make: Factory | None = None


Kinds = ("embedder", "vector", "lexical", "reranker", "reader", "generator")
_REGISTRY: dict[Kind, dict[str, BackendSpec]] = {kind: {} for kind in Kinds}  # type: ignore[misc]


def register(
    kind: Kind, name: str, target: str, *, install: str = "pip install -e .", requires: tuple[str, ...] = ()
) -> Callable[[F], F]:
    """Register ``target`` (``"package.module:Class"``) as backend ``name`` of ``kind``; ``requires`` names the
    modules it needs, so that ``installed`` can leave it out where they are missing. Used as a decorator, it
    also registers the decorated function as the backend's factory::

        @register("generator", "toy", "mypkg.toy:ToyGenerator")
        def make_toy(cls, cfg):  # cfg: the settings section (GeneratorSettings)
            return cls(model=cfg.model)

    The built-in backends below register this way too."""
    spec = BackendSpec(target, install, requires)
    _REGISTRY[kind][name] = spec

    def attach(make: F) -> F:
        _REGISTRY[kind][name] = replace(spec, make=make)
        return make

    return attach


def available(kind: Kind) -> list[str]:
    """Names registered for ``kind``."""
    return sorted(_REGISTRY[kind])


def installed(kind: Kind) -> list[str]:
    """Names registered for ``kind`` whose required modules are installed (found, not imported)."""
    import importlib.util

    return sorted(
        name
        for name, spec in _REGISTRY[kind].items()
        if all(importlib.util.find_spec(module) is not None for module in spec.requires)
    )


def load(kind: Kind, name: str) -> Any:
    """Import and return the class registered as ``name``; unknown names and missing dependencies
    raise ``BackendUnavailableError`` with the fix."""
    spec = _REGISTRY[kind].get(name)
    if spec is None:
        raise BackendUnavailableError(f"unknown {kind} backend {name!r}; available: {', '.join(available(kind))}")
    module_name, _, attr = spec.target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise BackendUnavailableError(
            f"{kind} backend {name!r} needs a package that is not installed ({exc.name or exc}); "
            f"install it with `{spec.install}`"
        ) from exc
    return getattr(module, attr)


def create(kind: Kind, name: str, cfg: Any, **extra: Any) -> Any:
    """An instance of backend ``name``, made by its registered factory from the settings section ``cfg``. The
    factory gets the ``extra`` keywords it names (or all, with ``**kwargs``): a generator factory that does not
    name ``reader`` never sees the learned reader, so older extensions keep working."""
    cls = load(kind, name)
    make = _REGISTRY[kind][name].make
    if make is None:
        return cls()
    params = inspect.signature(make).parameters
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        extra = {k: v for k, v in extra.items() if k in params}
    return make(cls, cfg, **extra)


# --- built-in backends: registered exactly as an extension registers its own (factories get the settings
# section as ``cfg``; this module never imports the settings) -------------------------

register("vector", "faiss", "rag.backends.faiss_index:FaissIndex", install="pip install faiss-cpu")
register("lexical", "bm25", "rag.backends.bm25:Bm25Index", install="pip install bm25s jieba")


@register(
    "embedder",
    "sentence-transformers",
    "rag.backends.sentence_transformer:SentenceTransformerEmbedder",
    install="pip install -e '.[torch]'",
    requires=("sentence_transformers",),
)
def _sentence_transformers(cls: Any, cfg: Any, **_: Any) -> Any:
    return cls(cfg.model, device=cfg.device, batch_size=cfg.batch_size, query_prefix=cfg.query_prefix)


@register("embedder", "onnx", "rag.backends.onnx_embedder:OnnxEmbedder", install="pip install -e '.[onnx]'")
def _onnx(cls: Any, cfg: Any, *, threads: int = 0) -> Any:
    return cls(
        cfg.model,
        cache_dir=cfg.cache_dir,
        quantize=cfg.quantize,
        batch_size=cfg.batch_size,
        batch_tokens=cfg.batch_tokens,
        query_prefix=cfg.query_prefix,
        threads=threads,
    )


@register("embedder", "hashing", "rag.backends.hashing_embedder:HashingEmbedder")
def _hashing(cls: Any, cfg: Any, **_: Any) -> Any:
    return cls(cfg.model)


@register("reranker", "evidence", "rag.ranking:EvidenceReranker")
def _evidence(cls: Any, cfg: Any) -> Any:
    return cls(coverage=cfg.coverage_weight, answer=cfg.answer_weight, consensus=cfg.consensus_weight)


@register("reader", "onnx", "rag.backends.onnx_reader:OnnxReader", install="pip install -e '.[onnx]'")
def _onnx_reader(cls: Any, cfg: Any) -> Any:
    options = {"threads": cfg.threads, "focus_windows": cfg.focus_windows}
    return cls(cfg.model_dir, **options) if cfg.model_dir else cls(**options)


# A generator factory that names ``reader`` gets the learned reader (or None) and its settings.
@register("generator", "extractive", "rag.backends.extractive:ExtractiveGenerator")
def _extractive(
    cls: Any,
    cfg: Any,
    *,
    reader: Any = None,
    reader_threshold: float | None = None,
    reader_passages: int = 2,
    reader_figure_floor: float = 0.7,
) -> Any:
    return cls(
        min_support=cfg.min_support,
        reader=reader,
        reader_threshold=reader_threshold,
        reader_passages=reader_passages,
        reader_figure_floor=reader_figure_floor,
    )


@register(
    "generator",
    "openai",
    "rag.backends.openai_compatible:OpenAICompatibleGenerator",
    install="pip install httpx",
    requires=("httpx",),
)
def _openai(cls: Any, cfg: Any) -> Any:
    return cls(
        base_url=cfg.base_url,
        model=cfg.model,
        api_key=cfg.api_key,
        temperature=cfg.temperature,
        max_tokens=cfg.max_tokens,
        timeout_s=cfg.timeout_s,
        max_retries=cfg.max_retries,
        context_tokens=cfg.context_tokens,
    )


@register(
    "generator",
    "llama-cpp",
    "rag.backends.llama_cpp:LlamaCppGenerator",
    install="pip install -e '.[llm]'",
    requires=("llama_cpp",),
)
def _llama_cpp(cls: Any, cfg: Any) -> Any:  # a local model: no server, key or retries
    return cls(cfg.model, temperature=cfg.temperature, max_tokens=cfg.max_tokens, context_tokens=cfg.context_tokens)
