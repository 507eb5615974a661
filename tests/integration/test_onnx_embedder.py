"""The ONNX Runtime embedder: exported from the real default model, int8, close to the original vectors."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import onnx
import pytest

from rag.backends.onnx_embedder import OnnxEmbedder
from rag.backends.sentence_transformer import SentenceTransformerEmbedder
from rag.batching import BatchingEmbedder
from rag.chunking import chunk_document
from rag.loaders import discover_files, load_source
from rag.pipeline import Pipeline, build_pipeline
from rag.settings import Settings

if TYPE_CHECKING:  # the fixtures' types, from tests/integration/conftest.py
    from conftest import SeedIndex

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="module")
def seed_chunks(repo_root: Path) -> list[str]:
    docs = [d for s in discover_files([repo_root / "corpus"]) for d in load_source(s)]
    return [c.text for d in docs for c in chunk_document(d)][:48]


def test_int8_vectors_stay_close_to_the_original(cache_dir: Path, seed_chunks: list[str]) -> None:
    onnx = OnnxEmbedder("m3e-small", cache_dir=cache_dir)
    reference = SentenceTransformerEmbedder("m3e-small").embed(seed_chunks)
    vectors = onnx.embed(seed_chunks)
    assert vectors.shape == reference.shape == (len(seed_chunks), 512)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    cosine = np.sum(vectors * reference, axis=1)
    assert cosine.min() >= 0.985, f"min cosine {cosine.min():.4f}"
    # the order of the output follows the input even though batches are sorted by length
    assert np.allclose(onnx.embed(seed_chunks[::-1]), vectors[::-1], atol=1e-5)


def test_the_export_is_cached_and_reused(cache_dir: Path, seed_chunks: list[str]) -> None:
    OnnxEmbedder("m3e-small", cache_dir=cache_dir)
    files = sorted(cache_dir.rglob("model.onnx"))
    assert len(files) == 1 and (files[0].parent / "source.json").is_file()
    mtime = files[0].stat().st_mtime_ns
    # BERT subgraphs were fused into ONNX Runtime's contrib ops before quantisation (the speed comes from that)
    ops = {node.op_type for node in onnx.load(str(files[0])).graph.node}
    assert {"QAttention", "MatMulInteger", "EmbedLayerNormalization", "SkipLayerNormalization", "BiasGelu"} <= ops, (
        sorted(ops)
    )
    again = OnnxEmbedder("m3e-small", cache_dir=cache_dir)
    assert files[0].stat().st_mtime_ns == mtime  # loaded, not exported again
    query = again.embed(["恒口示范区新建标准化厂房多少平方米？"], is_query=True)
    best = int(np.argmax(again.embed(seed_chunks) @ query[0]))
    assert "标准化厂房" in seed_chunks[best]


def test_int8_question_encoder_serves_an_index_built_with_the_original(
    seed_index: SeedIndex, seed_pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The default: questions through the int8 ONNX copy, documents through sentence-transformers.
    assert isinstance(seed_pipeline.query_embedder, BatchingEmbedder)
    assert isinstance(seed_pipeline.query_embedder.inner, OnnxEmbedder)
    assert isinstance(seed_pipeline.embedder, SentenceTransformerEmbedder)
    for name in [k for k in os.environ if k.startswith("RAG_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("RAG_EMBEDDER__QUERY_BACKEND", "")  # questions through the documents' own model
    same_model = build_pipeline(Settings(), index_dir=seed_index.workdir.index, embedder=seed_pipeline.embedder)
    try:
        assert isinstance(same_model.query_embedder, BatchingEmbedder)
        assert same_model.query_embedder.inner is seed_pipeline.embedder
        for question, expected in [
            ("恒口示范区新建标准化厂房多少平方米？", "3.1万平方米"),
            ("海陵区建设街头游园多少个？", "12个"),
        ]:
            answer = seed_pipeline.ask(question)
            assert answer.grounded and answer.short_answer == expected, answer.to_dict()
            int8 = [h.chunk.id for h in seed_pipeline.search(question).hits[:3]]
            assert [h.chunk.id for h in same_model.search(question).hits[:3]] == int8
    finally:
        same_model.index.close()
