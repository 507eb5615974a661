"""Backends registered by name, imported lazily; built-ins register exactly like extensions."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Literal

from rag.errors import BackendUnavailableError

Kind = Literal["embedder", "vector", "lexical", "generator"]


@dataclass(frozen=True, slots=True)
class BackendSpec:
    """Where a backend lives (``module:attribute``) and which install command provides it."""

    target: str
    install: str
    requires: tuple[str, ...] = ()  # top-level modules it imports when used (lazily)


_REGISTRY: dict[Kind, dict[str, BackendSpec]] = {"embedder": {}, "vector": {}, "lexical": {}, "generator": {}}


def register(
    kind: Kind, name: str, target: str, *, install: str = "pip install -e .", requires: tuple[str, ...] = ()
) -> None:
    """Register ``target`` (``"package.module:Class"``) as backend ``name`` of ``kind``; ``requires`` names the
    modules it needs, so that ``installed`` can leave it out where they are missing."""
    _REGISTRY[kind][name] = BackendSpec(target, install, requires)


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


register("embedder", "sentence-transformers", "rag.backends.sentence_transformer:SentenceTransformerEmbedder")
register("embedder", "onnx", "rag.backends.onnx_embedder:OnnxEmbedder", install="pip install -e '.[onnx]'")
register("embedder", "hashing", "rag.backends.hashing_embedder:HashingEmbedder")
register("vector", "faiss", "rag.backends.faiss_index:FaissIndex", install="pip install faiss-cpu")
register("lexical", "bm25", "rag.backends.bm25:Bm25Index", install="pip install bm25s jieba")
register("generator", "extractive", "rag.backends.extractive:ExtractiveGenerator")
register(
    "generator",
    "openai",
    "rag.backends.openai_compatible:OpenAICompatibleGenerator",
    install="pip install httpx",
    requires=("httpx",),
)
register(
    "generator",
    "llama-cpp",
    "rag.backends.llama_cpp:LlamaCppGenerator",
    install="pip install -e '.[llm]'",
    requires=("llama_cpp",),
)
