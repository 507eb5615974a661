"""The typed manifest: it reads and writes back a build's manifest.json byte for byte, refuses another format
or other settings with the command that fixes it, and summarises the build."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.errors import IndexMismatchError
from rag.index import Manifest, store
from rag.index.manifest import MANIFEST
from rag.indexing import build_index
from rag.settings import Settings


@pytest.fixture
def build(tmp_path: Path) -> Path:
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "a.txt").write_text("恒口示范区\n新建标准化厂房3.1万平方米。", encoding="utf-8")
    settings = Settings()
    settings.embedder.backend = "hashing"
    settings.index.dir, settings.index.corpus = tmp_path / "index", [tmp_path / "corpus"]
    build_index(settings, progress=False)
    return store.current_build(settings.index.dir)


def test_a_manifest_reads_and_writes_back_the_same_bytes(build: Path, tmp_path: Path) -> None:
    manifest = Manifest.read(build)
    assert manifest.counts.documents == 1 and manifest.dim == 256 and "store.sqlite" in manifest.artifacts
    (tmp_path / "copy").mkdir()
    manifest.write(tmp_path / "copy")
    assert (tmp_path / "copy" / MANIFEST).read_bytes() == (build / MANIFEST).read_bytes()
    assert manifest.summary() == {
        "build": build.name,
        "built_at": manifest.built_at,
        "documents": 1,
        "chunks": manifest.counts.chunks,
        "embedder": manifest.embedder,
    }


def test_another_format_is_refused_with_the_fix(build: Path) -> None:
    data = json.loads((build / MANIFEST).read_text(encoding="utf-8"))
    (build / MANIFEST).write_text(json.dumps({**data, "format_version": 0}), encoding="utf-8")
    with pytest.raises(IndexMismatchError, match="rag index build --rebuild"):
        Manifest.read(build)


def test_other_settings_are_refused_with_the_fix(build: Path) -> None:
    manifest = Manifest.read(build)
    manifest.check(embedder=manifest.embedder, chunking=manifest.chunking)
    with pytest.raises(IndexMismatchError, match="RAG_EMBEDDER__MODEL"):
        manifest.check(embedder={**manifest.embedder, "model": "other-model"}, chunking=manifest.chunking)
    with pytest.raises(IndexMismatchError, match="RAG_CHUNKING"):
        manifest.check(embedder=manifest.embedder, chunking={**manifest.chunking, "size": 1})
    # the path that ran the model (int8 ONNX or sentence-transformers) is the manifest's: serving follows it
    manifest.check(embedder={**manifest.embedder, "backend": "onnx", "quantize": True}, chunking=manifest.chunking)


def test_a_build_from_before_checksums_has_no_artifacts_to_check(build: Path) -> None:
    data = json.loads((build / MANIFEST).read_text(encoding="utf-8"))
    del data["artifacts"]
    manifest = Manifest.from_dict(data)
    assert manifest.artifacts == {} and store.check_artifacts(build, manifest, hash_limit=None) == []


def test_an_unsharded_manifest_is_format_2_without_shards_and_unknown_fields_are_left_out(build: Path) -> None:
    data = json.loads((build / MANIFEST).read_text(encoding="utf-8"))
    assert data["format_version"] == 2 and "shards" not in data  # what a release from before shards reads
    (build / MANIFEST).write_text(json.dumps({**data, "added_by_a_later_release": [1]}), encoding="utf-8")
    assert Manifest.read(build).shards == []


def test_a_sharded_build_is_format_3(tmp_path: Path) -> None:
    (tmp_path / "corpus").mkdir()
    for i in range(6):
        (tmp_path / "corpus" / f"{i}.txt").write_text(f"第{i}号报告\n新建标准化厂房{i}万平方米。", encoding="utf-8")
    settings = Settings()
    settings.embedder.backend = "hashing"
    settings.index.dir, settings.index.corpus, settings.index.shards = tmp_path / "index", [tmp_path / "corpus"], 3
    build_index(settings, progress=False)
    manifest = Manifest.read(store.current_build(settings.index.dir))
    assert manifest.format_version == 3 and manifest.shards[0]["start"] == 0
    assert len(manifest.shards) == 3 and manifest.shards[-1]["stop"] == manifest.counts.chunks
