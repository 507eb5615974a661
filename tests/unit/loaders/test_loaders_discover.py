"""discover_files and load_source across formats, and the metadata of the seed corpus."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from rag.errors import IngestError
from rag.loaders import SUPPORTED_SUFFIXES, SourceFile, discover_files, load_source

CORPUS = Path(__file__).parents[3] / "corpus"


def _tree(root: Path) -> None:
    for rel in ["b.txt", "a.md", "sub/deep/c.html", "sub/d.jsonl", "sub/e.PDF", "x.pptx", ".hidden.txt", ".git/f.txt"]:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("内容", encoding="utf-8")


def test_discover_walks_nested_folders_sorted_and_skips_hidden_and_unsupported(tmp_path: Path) -> None:
    _tree(tmp_path)
    found = discover_files([tmp_path])
    top = tmp_path.name
    assert [s.rel for s in found] == [
        f"{top}/{r}" for r in ["a.md", "b.txt", "sub/d.jsonl", "sub/e.PDF", "sub/deep/c.html"]
    ]
    assert all(s.root == tmp_path for s in found)
    assert found[-1].path == tmp_path / "sub" / "deep" / "c.html"


def test_discover_single_file_uses_parent_as_root_and_dedupes(tmp_path: Path) -> None:
    _tree(tmp_path)
    single = tmp_path / "sub" / "d.jsonl"
    found = discover_files([single, tmp_path / "sub"])
    assert found[0] == SourceFile(path=single, root=tmp_path / "sub", rel="sub/d.jsonl")
    assert [s.rel for s in found] == ["sub/d.jsonl", "sub/e.PDF", "sub/deep/c.html"]


def test_discover_rejects_missing_and_unsupported_paths(tmp_path: Path) -> None:
    _tree(tmp_path)
    with pytest.raises(IngestError, match=r"nope: no such file or directory"):
        discover_files([tmp_path / "nope"])
    with pytest.raises(IngestError, match=r"x\.pptx: unsupported file type '\.pptx'"):
        discover_files([tmp_path / "x.pptx"])


def test_supported_suffixes() -> None:
    text = {".txt", ".md", ".html", ".htm", ".pdf", ".docx", ".csv", ".xlsx", ".jsonl"}
    legacy_office, scans = {".doc", ".wps", ".xls"}, {".png", ".jpg", ".jpeg", ".tif", ".tiff"}
    assert set(SUPPORTED_SUFFIXES) == text | legacy_office | scans


def test_file_document_id_is_sha1_of_rel_path(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.txt").write_text("安康市产业振兴意见\n正文。", encoding="utf-8")
    (source,) = discover_files([tmp_path])
    (doc,) = load_source(source)
    rel = f"{tmp_path.name}/sub/a.txt"
    assert doc.id == hashlib.sha1(rel.encode()).hexdigest()[:16]
    assert doc.source == rel
    # The source starts at the root folder's name, so the same file found from another root has another id.
    (again,) = load_source(discover_files([tmp_path / "sub" / "a.txt"])[0])
    assert again.source == "sub/a.txt"
    assert again.id == hashlib.sha1(b"sub/a.txt").hexdigest()[:16]


SEED_EXPECTED = {
    "000": ("恒口：跑出追赶超越“加速度”", "2020-05-14", None),
    "001": ("改革潮头勇争先 奋楫扬帆谱新篇", None, None),
    "002": ("泰州海陵:大兴实干之风 建强中心城区 致力实现人民满意的高质量发展", "2021-09-09", "泰州日报"),
    "003": ("【喜迎十九大】衡水:凝心聚力 走好发展新路", "2017-10-12", "河北新闻网"),
    "004": ("中共安康市委关于以高质量产业项目建设保障高水平产业振兴的意见", None, None),
}


def test_seed_corpus_metadata() -> None:
    docs = {Path(s.rel).name[:3]: load_source(s)[0] for s in discover_files([CORPUS])}
    assert {k: (d.title, d.date, d.publisher) for k, d in docs.items()} == SEED_EXPECTED
    footer = docs["003"].text
    for furniture in ("进入移动版", "责任编辑", "更多精彩内容请关注", "官方微信", "电子报", "回到顶部"):
        assert furniture not in footer
    assert footer.endswith("必将迎来新跨越!(记者马路 通讯员信志锋、张洪静、赵栋)")
