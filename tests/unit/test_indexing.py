"""Incremental, atomic index builds in-process, with the tiny hashing embedder (the real model is exercised
by tests/integration)."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

from rag.backends.hashing_embedder import HashingEmbedder
from rag.errors import IndexMismatchError, IndexNotFoundError
from rag.index import store
from rag.index.manifest import FORMAT_VERSION, MANIFEST, Manifest
from rag.indexing import build_index, index_status, verify_index
from rag.pipeline import build_pipeline
from rag.settings import Settings

if TYPE_CHECKING:
    from rag.protocols import FloatArray

DOCS = {
    "a.txt": "恒口示范区\n过去的一年,恒口示范区一般财政预算收入达到5341万元。新建标准化厂房3.1万平方米。",
    "b.txt": "衡水发展\n衡水湖蓄水量达到近20年最高水平,累计引调江水9000万立方米。",
    "c.md": "# 海陵区\n海陵区建设街头游园12个,解决融资需求24.46亿元。",
}


def _settings(tmp_path: Path) -> Settings:
    settings = Settings()
    settings.embedder.backend = "hashing"
    settings.index.dir = tmp_path / "index"
    settings.index.corpus = [tmp_path / "corpus"]
    return settings


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    root.mkdir()
    for name, text in DOCS.items():
        (root / name).write_text(text, encoding="utf-8")
    return root


def test_first_build_then_nothing_to_embed(tmp_path: Path, corpus: Path) -> None:
    settings = _settings(tmp_path)
    first = build_index(settings, progress=False)
    assert (first.added, first.changed, first.unchanged, first.documents) == (3, 0, 0, 3)
    assert first.embedded_chunks == first.chunks > 0
    second = build_index(settings, progress=False)
    assert (second.added, second.changed, second.removed, second.unchanged) == (0, 0, 0, 3)
    assert second.embedded_chunks == 0
    assert verify_index(settings.index.dir) == []


def test_changed_and_removed_documents(tmp_path: Path, corpus: Path) -> None:
    settings = _settings(tmp_path)
    build_index(settings, progress=False)
    (corpus / "a.txt").write_text(DOCS["a.txt"] + "培育五上企业5户。", encoding="utf-8")
    (corpus / "c.md").unlink()
    stale = index_status(settings.index.dir)["stale"]
    assert stale["changed"] == ["corpus/a.txt"] and stale["removed"] == ["corpus/c.md"]
    report = build_index(settings, progress=False)
    assert (report.changed, report.removed, report.unchanged) == (1, 1, 1)
    manifest = Manifest.read(store.current_build(settings.index.dir))
    assert report.embedded_chunks == manifest.documents[next(iter(manifest.documents))]["chunks"]
    assert sorted(d["source"] for d in manifest.documents.values()) == ["corpus/a.txt", "corpus/b.txt"]
    assert verify_index(settings.index.dir) == []


def test_reused_vectors_are_the_old_ones(tmp_path: Path, corpus: Path) -> None:
    settings = _settings(tmp_path)
    build_index(settings, progress=False)
    old = np.load(store.current_build(settings.index.dir) / store.VECTORS)
    (corpus / "0-first.txt").write_text("新文件\n汉滨区完成了68个安置社区党组织建设。", encoding="utf-8")
    build_index(settings, progress=False)
    new = np.load(store.current_build(settings.index.dir) / store.VECTORS)
    assert new.shape[0] > old.shape[0]
    # the new file sorts first, so every old vector moved down by its chunk count, unchanged
    assert np.array_equal(new[new.shape[0] - old.shape[0] :], old)


def test_unreadable_file_keeps_its_previous_version(tmp_path: Path, corpus: Path) -> None:
    settings = _settings(tmp_path)
    build_index(settings, progress=False)
    (corpus / "b.txt").write_bytes(b"")  # now empty: reported, and its indexed version is kept
    report = build_index(settings, progress=False)
    assert [s for s, _ in report.failed] == ["corpus/b.txt"]
    manifest = Manifest.read(store.current_build(settings.index.dir))
    assert "corpus/b.txt" in {d["source"] for d in manifest.documents.values()}


def _many_documents(corpus: Path, count: int) -> None:
    lines = [
        f"第{i}号水渠全长{i % 97 + 3}公里，灌溉农田{i * 7 % 1000 + 100}亩，由青山镇{i % 12 + 1}村实施。"
        for i in range(count)
    ]
    (corpus / "records.jsonl").write_text(
        "".join(json.dumps({"id": f"r{i}", "text": line}, ensure_ascii=False) + "\n" for i, line in enumerate(lines)),
        encoding="utf-8",
    )


def test_tokeniser_processes_build_the_same_lexical_index(tmp_path: Path, corpus: Path) -> None:
    _many_documents(corpus, 1200)  # over PARALLEL_TOKENIZE_FROM: two worker processes tokenise them
    results = []
    for processes in (1, 2):
        settings = _settings(tmp_path)
        settings.index.dir = tmp_path / f"index-{processes}"
        settings.index.tokenize_processes = processes
        report = build_index(settings, progress=False)
        assert report.chunks > 1000
        pipeline = build_pipeline(settings)
        results.append(
            [pipeline.retriever.index.lexical.search(q, 5) for q in ("第17号水渠全长多少公里", "青山镇3村", "游园")]
        )
    for (scores_1, rows_1), (scores_2, rows_2) in zip(*results, strict=True):
        assert rows_1.tolist() == rows_2.tolist() and np.allclose(scores_1, scores_2)
        assert len(rows_1) > 0


def test_a_failed_vector_pass_stops_the_lexical_build_and_keeps_the_live_index(tmp_path: Path, corpus: Path) -> None:
    settings = _settings(tmp_path)
    build_index(settings, progress=False)
    live = store.current_build(settings.index.dir)
    _many_documents(corpus, 1200)

    class Failing(HashingEmbedder):
        def embed(self, texts: Sequence[str], *, is_query: bool = False, show_progress: bool = False) -> FloatArray:
            raise RuntimeError("embedder crashed")

    with pytest.raises(RuntimeError, match="embedder crashed"):
        build_index(settings, embedder=Failing(), progress=False)
    assert not [t for t in threading.enumerate() if t.name == "lexical-index"], "the lexical build still runs"
    assert store.current_build(settings.index.dir) == live
    assert [p.name for p in store.builds_dir(settings.index.dir).iterdir()] == [live.name]


def test_builds_are_published_atomically_and_pruned(tmp_path: Path, corpus: Path) -> None:
    settings = _settings(tmp_path)
    settings.index.keep_builds = 2
    for _ in range(3):
        build_index(settings, rebuild=True, progress=False)
    builds = store.builds_dir(settings.index.dir)
    (builds / ".tmp-leftover").mkdir()  # what a killed build leaves behind
    build_index(settings, progress=False)
    names = sorted(p.name for p in builds.iterdir())
    assert len(names) == 2 and not any(n.startswith(".tmp-") for n in names)
    live = (settings.index.dir / store.CURRENT).read_text().strip()
    assert live == names[-1]


def test_loading_refuses_other_settings(tmp_path: Path, corpus: Path) -> None:
    settings = _settings(tmp_path)
    build_index(settings, progress=False)
    other = _settings(tmp_path)
    other.chunking.size = 500
    with pytest.raises(IndexMismatchError, match="rag index build --rebuild"):
        build_pipeline(other)
    with pytest.raises(IndexNotFoundError, match="rag index build"):
        store.current_build(tmp_path / "nowhere")


def test_manifest_describes_the_index(tmp_path: Path, corpus: Path) -> None:
    settings = _settings(tmp_path)
    build_index(settings, progress=False)
    build = store.current_build(settings.index.dir)
    manifest = json.loads((build / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["format_version"] == FORMAT_VERSION
    assert manifest["embedder"]["backend"] == "hashing" and manifest["embedder"]["dim"] == 256
    assert manifest["chunking"] == settings.chunking.model_dump()
    assert manifest["counts"]["documents"] == 3
    assert {"sha256", "size", "documents"} <= set(manifest["sources"]["corpus/a.txt"])


def test_documents_filtered_by_id_and_date(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    root.mkdir()
    (root / "a.txt").write_text("来源:甲报 日期: 2019-05-01\n甲文。收入5341万元。", encoding="utf-8")
    (root / "b.txt").write_text("来源:乙报 日期: 2021-09-09\n乙文。游园12个。", encoding="utf-8")
    (root / "c.txt").write_text("无日期的文章\n丙文。厂房3.1万平方米。", encoding="utf-8")
    settings = _settings(tmp_path)
    build_index(settings, progress=False)
    pipeline = build_pipeline(settings)
    chunks = pipeline.index.chunks
    by_source = {i.source: i.id for i in chunks.documents()}
    dates = {i.source: i.date for i in chunks.documents()}
    assert dates == {"corpus/a.txt": "2019-05-01", "corpus/b.txt": "2021-09-09", "corpus/c.txt": None}
    assert [i.source for i in chunks.filter_documents(date_from="2020-01-01")] == ["corpus/b.txt"]
    assert [i.source for i in chunks.filter_documents(date_to="2020-01-01")] == ["corpus/a.txt"]
    only = chunks.filter_documents(doc_ids=[by_source["corpus/c.txt"], by_source["corpus/b.txt"]], date_to="2030-01-01")
    assert [i.source for i in only] == ["corpus/b.txt"]
    assert chunks.filter_documents(doc_ids=[]) == []
    hits = pipeline.search("游园多少个", date_to="2020-01-01").hits
    assert hits and all(h.date == "2019-05-01" for h in hits)


def test_the_fidelity_check_passes_a_faithful_copy_and_fails_a_drifting_one() -> None:
    from rag.indexing.steps import fidelity_sample, measure_fidelity

    texts = [f"第{k}条：全县新建农村公路{k * 3}公里，改造危房{k}户，新增就业{k * 11}人。" for k in range(120)]
    sample = fidelity_sample(texts, size=50)
    assert len(sample) == 50 and sample[0] == texts[0] and len(set(sample)) == 50
    same = measure_fidelity(HashingEmbedder(), HashingEmbedder(), sample)
    assert same["passed"] and same["mean_cosine"] == pytest.approx(1.0) and same["top10_agreement"] == 1.0

    class Drifting(HashingEmbedder):
        def embed(self, texts, *, is_query=False, show_progress=False):  # type: ignore[no-untyped-def]
            vectors = super().embed(texts, is_query=is_query)
            noise = np.random.default_rng(0).normal(size=vectors.shape).astype(np.float32)
            mixed = vectors + 0.5 * noise / np.linalg.norm(noise, axis=1, keepdims=True)
            return mixed / np.linalg.norm(mixed, axis=1, keepdims=True)

    drift = measure_fidelity(Drifting(), HashingEmbedder(), sample)
    assert not drift["passed"] and drift["mean_cosine"] < 0.99, drift
