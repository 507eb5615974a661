"""FAISS index kinds (exact, IVF-SQ8, HNSW), the automatic choice by size, and slice-wise vector files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rag.backends.faiss_index import KINDS, FaissIndex
from rag.index import store
from rag.index.manifest import Manifest
from rag.indexing import VectorFile, build_index, choose_vector_index, verify_index
from rag.pipeline import build_pipeline
from rag.settings import IndexSettings, Settings


def _unit_vectors(n: int, dim: int, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_finds_the_vectors_and_survives_save_and_load(tmp_path: Path, kind: str) -> None:
    data = _unit_vectors(2000, 32)
    index = FaissIndex(32, kind=kind, nlist=16, nprobe=16)
    if index.needs_training:
        index.train(data)
    assert not index.needs_training
    index.add(data[:1000])
    index.add(data[1000:])
    assert len(index) == 2000
    scores, ids = index.search(data[:50], 5)
    assert ids.shape == (50, 5) and scores.dtype == np.float32
    assert np.mean(ids[:, 0] == np.arange(50)) >= 0.98  # each vector finds itself (8-bit kinds are approximate)
    index.save(tmp_path)
    loaded = FaissIndex.load(tmp_path)
    assert (loaded.kind, loaded.dim, len(loaded)) == (kind, 32, 2000)
    _, again = loaded.search(data[:50], 5)
    assert np.array_equal(again, ids)  # search parameters (nprobe, efSearch) are saved with the index


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown FAISS index kind"):
        FaissIndex(8, kind="lsh")


def test_empty_index_searches_to_nothing() -> None:
    scores, ids = FaissIndex(8).search(_unit_vectors(2, 8), 5)
    assert scores.shape == ids.shape == (2, 0)


def test_kind_is_chosen_by_size() -> None:
    default = IndexSettings()
    assert choose_vector_index(default.approximate_from - 1, default) == ("flat", {})
    assert choose_vector_index(1_000_000, default) == ("hnsw_sq8", {"hnsw_m": 32, "ef_search": default.ef_search})
    ivf = IndexSettings(approximate_from=200_000, approximate_kind="ivf_sq8", nprobe=32)
    assert choose_vector_index(199_999, ivf) == ("flat", {})
    assert choose_vector_index(1_000_000, ivf) == ("ivf_sq8", {"nlist": 2048, "nprobe": 32})
    assert choose_vector_index(200_000, ivf)[1]["nlist"] == 1024
    small = IndexSettings(approximate_from=1, approximate_kind="ivf_sq8")
    assert choose_vector_index(100, small) == ("ivf_sq8", {"nlist": 2, "nprobe": 2})  # ≥ 39 points per cell
    assert choose_vector_index(10, small) == ("ivf_sq8", {"nlist": 1, "nprobe": 1})


def test_vector_file_reads_and_writes_slices(tmp_path: Path) -> None:
    data = _unit_vectors(10, 4)
    vf = VectorFile.create(tmp_path / "v.npy", rows=10, dim=4)
    vf.write(0, data[:6])
    vf.write_rows([8, 6, 9, 7], data[[8, 6, 9, 7]])
    assert vf.shape == (10, 4)
    assert np.array_equal(np.load(tmp_path / "v.npy"), data)
    assert np.array_equal(vf.read(2, 5), data[2:5])
    assert np.array_equal(vf.take(np.array([1, 7])), data[[1, 7]])


@pytest.mark.parametrize("kind", ["ivf_sq8", "hnsw_sq8"])
def test_build_picks_the_approximate_kind_above_the_threshold(tmp_path: Path, kind: str) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in range(60):
        (corpus / f"{i:02d}.txt").write_text(f"第{i}号报告\n{i}号园区新建标准化厂房{i}.5万平方米。", encoding="utf-8")
    settings = Settings()
    settings.embedder.backend = "hashing"
    settings.index.dir = tmp_path / "index"
    settings.index.corpus = [corpus]
    settings.index.approximate_from = 50
    settings.index.approximate_kind = kind  # type: ignore[assignment]
    report = build_index(settings, progress=False)
    assert report.vector_kind == kind and report.chunks == 60
    assert set(report.phase_seconds) == {"load", "chunk", "store", "embed", "vectors", "lexical"}
    assert Manifest.read(store.current_build(settings.index.dir)).vector["kind"] == kind
    assert verify_index(settings.index.dir) == []
    pipeline = build_pipeline(settings)
    try:
        assert pipeline.index.vectors.kind == kind
        hits = pipeline.search("17号园区新建标准化厂房多少平方米？").hits
        assert "17号园区" in hits[0].chunk.text
    finally:
        pipeline.close()
