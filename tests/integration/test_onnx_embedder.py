"""The ONNX Runtime embedder: exported from the real default model, int8, close to the original vectors."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import onnx
import pytest

from rag.backends.onnx_embedder import OnnxEmbedder
from rag.backends.sentence_transformer import SentenceTransformerEmbedder
from rag.batching import BatchingEmbedder
from rag.chunking import chunk_document
from rag.factories import LazyEmbedder
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
    # BERT subgraphs were fused into ONNX Runtime's contrib ops before quantisation (the speed comes from that),
    # except the skip layer-norms, split back into Add + LayerNormalization (faster: rag.backends.onnx_graph)
    ops = {node.op_type for node in onnx.load(str(files[0])).graph.node}
    assert {"QAttention", "MatMulInteger", "EmbedLayerNormalization", "LayerNormalization", "BiasGelu"} <= ops, sorted(
        ops
    )
    assert "SkipLayerNormalization" not in ops
    again = OnnxEmbedder("m3e-small", cache_dir=cache_dir)
    assert files[0].stat().st_mtime_ns == mtime  # loaded, not exported again
    query = again.embed(["恒口示范区新建标准化厂房多少平方米？"], is_query=True)
    best = int(np.argmax(again.embed(seed_chunks) @ query[0]))
    assert "标准化厂房" in seed_chunks[best]


def _env(cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    return env | {"HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "RAG_EMBEDDER__CACHE_DIR": str(cache)}


def test_the_default_build_is_int8_checked_and_serving_needs_no_torch(
    seed_index: SeedIndex, seed_pipeline: Pipeline, seed_settings: Settings
) -> None:
    # The default: documents and questions through one int8 ONNX session; the manifest says which path made the
    # vectors, and the export's fidelity check (run once per model, kept beside it) passed.
    embedder = seed_index.workdir.manifest()["embedder"]
    assert embedder["backend"] == "onnx" and embedder["quantize"] is True
    assert isinstance(seed_pipeline.embedder, OnnxEmbedder)
    assert isinstance(seed_pipeline.query_embedder, BatchingEmbedder)
    assert seed_pipeline.query_embedder.inner is seed_pipeline.embedder
    record = seed_pipeline.embedder.fidelity()
    assert record is not None and record["passed"], record
    assert record["mean_cosine"] >= 0.99 and record["top10_agreement"] >= 0.8 and record["sample"] >= 50
    # a fresh `rag serve`-like process loads no torch for an int8 index (checked in a subprocess: this one has it)
    code = (
        "import sys; from rag.settings import Settings; from rag.pipeline import build_pipeline; "
        f"p = build_pipeline(Settings(), index_dir={str(seed_index.workdir.index)!r}); "
        "print(p.ask('恒口示范区新建标准化厂房多少平方米？').short_answer, "
        "any(m in sys.modules for m in ('torch', 'transformers', 'sentence_transformers')))"
    )
    env = _env(seed_settings.embedder.cache_dir)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[-2:] == ["3.1万平方米", "False"], out.stdout


def test_an_index_built_by_the_reference_path_is_served_by_it(
    seed_index: SeedIndex, seed_pipeline: Pipeline, seed_settings: Settings, tmp_path: Path
) -> None:
    work = seed_index.workdir.copy_to(tmp_path / "reference")
    built = work.build("--rebuild", env={"RAG_EMBEDDER__BACKEND": "sentence-transformers"})
    assert built.returncode == 0, built.describe()
    assert work.manifest()["embedder"]["backend"] == "sentence-transformers"
    # the settings' default (onnx) does not matter: uploads follow the manifest, loaded only when one comes
    reference = build_pipeline(seed_settings, index_dir=work.index)
    try:
        assert isinstance(reference.embedder, LazyEmbedder) and reference.embedder.backend == "sentence-transformers"
        assert not reference.embedder.loaded  # no torch until a document is uploaded
        assert isinstance(reference.query_embedder, BatchingEmbedder)
        assert isinstance(reference.query_embedder.inner, OnnxEmbedder)
        for question, expected in [
            ("恒口示范区新建标准化厂房多少平方米？", "3.1万平方米"),
            ("海陵区建设街头游园多少个？", "12个"),
        ]:
            answer = reference.ask(question)
            assert answer.grounded and answer.short_answer == expected, answer.to_dict()
            int8 = [h.chunk.text for h in seed_pipeline.search(question).hits[:3]]
            assert [h.chunk.text for h in reference.search(question).hits[:3]] == int8
        assert reference.embedder.dim == 512 and reference.embedder.loaded
        assert isinstance(reference.embedder._get(), SentenceTransformerEmbedder)
    finally:
        reference.index.close()


def test_an_export_on_record_as_too_far_is_not_used_for_documents(
    seed_index: SeedIndex, seed_settings: Settings, tmp_path: Path
) -> None:
    # A model whose int8 export failed its check: documents go through the original, and the build says so.
    cache = tmp_path / "cache"
    shutil.copytree(seed_settings.embedder.cache_dir, cache)
    (record,) = [
        p for p in cache.rglob("fidelity.json") if json.loads((p.parent / "source.json").read_text())["quantized"]
    ]
    failed = json.loads(record.read_text()) | {"passed": False, "top10_agreement": 0.5}
    record.write_text(json.dumps(failed))
    work = seed_index.workdir.copy_to(tmp_path / "work")
    built = work.build("--rebuild", env={"RAG_EMBEDDER__CACHE_DIR": str(cache)})
    assert built.returncode == 0, built.describe()
    assert work.manifest()["embedder"]["backend"] == "sentence-transformers"
    again = work.build(env={"RAG_EMBEDDER__CACHE_DIR": str(cache)})  # nothing changed: every vector reused
    assert again.returncode == 0 and "0 chunks embedded" in again.stderr + again.stdout, again.describe()
