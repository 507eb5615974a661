"""PDF and HTML loaders on small fixtures (see tests/fixtures/loaders/make_fixtures.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.errors import IngestError
from rag.loaders import SourceFile, load_source
from rag.loaders.html import decode_html, read_html
from rag.loaders.pdf import read_pdf

FIXTURES = Path(__file__).parents[2] / "fixtures" / "loaders"


def test_pdf_text_of_all_pages_joined_with_blank_line() -> None:
    raw = read_pdf(FIXTURES / "report.pdf")
    assert raw.text == "Annual report 2021: GDP grew 6.1 percent.\n\nExports reached 1.81 billion USD."
    assert raw.title == "Annual Report 2021"


def test_pdf_document_uses_metadata_title() -> None:
    path = FIXTURES / "report.pdf"
    (doc,) = load_source(SourceFile(path=path, root=FIXTURES, rel="report.pdf"))
    assert doc.title == "Annual Report 2021"
    assert doc.source == "report.pdf"


def test_corrupt_pdf_raises() -> None:
    with pytest.raises(IngestError, match=r"corrupt\.pdf: corrupt or unreadable PDF"):
        read_pdf(FIXTURES / "corrupt.pdf")


def test_pdf_without_text_layer_raises() -> None:
    with pytest.raises(IngestError, match=r"scanned\.pdf: .*no extractable text \(scanned PDF\? no text layer\)"):
        read_pdf(FIXTURES / "scanned.pdf")


def test_not_a_pdf_at_all_raises(tmp_path: Path) -> None:
    path = tmp_path / "fake.pdf"
    path.write_text("hello, I am not a PDF", encoding="utf-8")
    with pytest.raises(IngestError, match=r"fake\.pdf: corrupt or unreadable PDF"):
        read_pdf(path)


def test_html_keeps_article_and_drops_navigation() -> None:
    raw = read_html(FIXTURES / "article.html")
    assert "粼粼的衡水湖畔" in raw.text
    assert "主要经济指标增速均位居全省第一" in raw.text
    assert "10.3%" in raw.text  # table cells are kept
    for boilerplate in ("时政要闻", "体育频道", "登录注册", "特价机票", "冀ICP备", "联系我们"):
        assert boilerplate not in raw.text
    assert raw.title == "衡水:凝心聚力 走好发展新路"


def test_html_document_metadata() -> None:
    path = FIXTURES / "article.html"
    (doc,) = load_source(SourceFile(path=path, root=FIXTURES, rel="article.html"))
    assert (doc.title, doc.date, doc.publisher) == ("衡水:凝心聚力 走好发展新路", "2017-10-12", "河北新闻网")


def test_html_declared_gbk_charset(tmp_path: Path) -> None:
    page = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">'
        "<title>安康产业振兴</title></head><body><article><p>"
        + "全年策划储备乡村振兴项目4468个,总投资68亿元,其中产业项目2491个。" * 4
        + "</p></article></body></html>"
    )
    path = tmp_path / "gbk.htm"
    path.write_bytes(page.encode("gbk"))
    assert "乡村振兴项目4468个" in decode_html(path.read_bytes(), name="gbk.htm")
    raw = read_html(path)
    assert "乡村振兴项目4468个" in raw.text
    assert raw.title == "安康产业振兴"


def test_html_fragment_falls_back_to_plain_text(tmp_path: Path) -> None:
    path = tmp_path / "tiny.html"
    path.write_text("<p>短讯:恒口示范区新建标准化厂房3.1万平方米。</p>", encoding="utf-8")
    assert "3.1万平方米" in read_html(path).text


def test_html_without_text_raises(tmp_path: Path) -> None:
    path = tmp_path / "blank.html"
    path.write_text("<html><body><script>var x = 1;</script></body></html>", encoding="utf-8")
    with pytest.raises(IngestError, match=r"blank\.html: no text found"):
        read_html(path)
