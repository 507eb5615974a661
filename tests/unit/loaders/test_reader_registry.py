"""Readers are registered by suffix: one registered from outside the package (this module) makes the corpus
accept its files, and an unknown suffix names the supported ones."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rag import loaders
from rag.errors import IngestError
from rag.loaders import SourceFile, load_source, register_reader, supported_suffixes


def read_tsv(path: Path) -> str:
    """A table as sentences: 「列名：值」 joined, one row a line."""
    head, *rows = [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return "\n".join("，".join(f"{h}：{v}" for h, v in zip(head, row, strict=True)) + "。" for row in rows)


@pytest.fixture
def tsv_reader() -> Iterator[None]:
    register_reader(".tsv", f"{__name__}:read_tsv")
    yield
    del loaders._READERS[".tsv"]


def test_a_registered_reader_loads_its_files(tsv_reader: None, tmp_path: Path) -> None:
    path = tmp_path / "corpus" / "表.tsv"
    path.parent.mkdir()
    path.write_text("项目\t投资\n标准化厂房\t3.1亿元\n", encoding="utf-8")
    assert ".tsv" in supported_suffixes()
    assert [s.rel for s in loaders.discover_files([path.parent])] == ["corpus/表.tsv"]
    (doc,) = load_source(SourceFile(path, path.parent, "corpus/表.tsv"))
    assert "项目：标准化厂房，投资：3.1亿元。" in doc.text and doc.source == "corpus/表.tsv"


def test_an_unknown_suffix_names_the_supported_ones(tmp_path: Path) -> None:
    path = tmp_path / "a.xyz"
    path.write_text("x", encoding="utf-8")
    with pytest.raises(IngestError, match=r"\.docx.*\.txt"):
        list(load_source(SourceFile(path, tmp_path, "corpus/a.xyz")))
