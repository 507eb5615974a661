"""Settings into backends: the question encoder and its fallback."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from rag import registry
from rag.backends.hashing_embedder import HashingEmbedder
from rag.errors import ConfigError
from rag.factories import create_query_embedder
from rag.settings import EmbedderSettings


def test_without_a_query_backend_questions_use_the_documents_embedder() -> None:
    documents = HashingEmbedder()
    cfg = EmbedderSettings(backend="hashing", query_backend="")
    assert create_query_embedder(cfg, documents) is documents
    assert create_query_embedder(cfg.model_copy(update={"query_backend": "hashing"}), documents) is documents
    # only a sentence-transformers model has an ONNX copy: other backends encode their own questions
    assert create_query_embedder(cfg.model_copy(update={"query_backend": "onnx"}), documents) is documents


def test_a_query_backend_whose_library_is_missing_falls_back_with_a_warning(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = registry.BackendSpec("rag_no_such_module:Embedder", "pip install no-such")
    monkeypatch.setitem(registry._REGISTRY["embedder"], "missing-lib", spec)
    documents = HashingEmbedder()
    with caplog.at_level(logging.WARNING, logger="rag.factories"):
        cfg = EmbedderSettings(backend="sentence-transformers", query_backend="missing-lib")
        got = create_query_embedder(cfg, documents)
    assert got is documents
    assert "missing-lib" in caplog.text and "pip install no-such" in caplog.text


def test_an_unknown_query_backend_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="RAG_EMBEDDER__QUERY_BACKEND"):
        create_query_embedder(EmbedderSettings(backend="sentence-transformers", query_backend="onx"), HashingEmbedder())


def test_installed_backends_leave_out_those_whose_library_is_missing() -> None:
    from rag import registry

    registry.register(
        "generator", "toy-missing", "rag.backends.extractive:ExtractiveGenerator", requires=("no_such_mod",)
    )
    try:
        assert "toy-missing" in registry.available("generator")
        assert "toy-missing" not in registry.installed("generator")
        assert "extractive" in registry.installed("generator")
    finally:
        registry._REGISTRY["generator"].pop("toy-missing")


def test_exported_models_are_cached_per_user_not_per_index(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from rag.settings import EmbedderSettings as Cfg

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert Cfg().cache_dir == tmp_path / "xdg" / "rag" / "models"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert Cfg().cache_dir == tmp_path / "home" / ".cache" / "rag" / "models"


def test_the_export_key_follows_the_model_content_not_its_path(tmp_path: Path) -> None:
    from rag.backends.onnx_embedder import _model_key

    a, b = tmp_path / "a", tmp_path / "b"
    for folder in (a, b):
        folder.mkdir()
        (folder / "config.json").write_text('{"model_type": "bert"}', encoding="utf-8")
        (folder / "model.safetensors").write_bytes(b"\x00" * 64)
    assert _model_key(a, quantize=True) == _model_key(b, quantize=True) != _model_key(a, quantize=False)
    (b / "model.safetensors").write_bytes(b"\x01" + b"\x00" * 63)  # same size, other weights
    assert _model_key(a, quantize=True) != _model_key(b, quantize=True)
