"""The .docx loader on documents generated with python-docx."""

from __future__ import annotations

from pathlib import Path

import docx
import pytest

from rag.errors import IngestError
from rag.loaders import SourceFile, load_source
from rag.loaders.docx import read_docx


def _write_report(path: Path, *, title: str = "") -> None:
    document = docx.Document()
    document.core_properties.title = title
    document.add_paragraph("安康市二〇二一年产业项目建设情况")
    document.add_paragraph("全年开工建设产业项目2280个,建成产业项目1869个,完成投资25.95亿元。")
    table = document.add_table(rows=2, cols=3)
    for cell, value in zip(table.rows[0].cells, ["指标", "数量", "单位"], strict=True):
        cell.text = value
    for cell, value in zip(table.rows[1].cells, ["储备项目", "4468", "个"], strict=True):
        cell.text = value
    document.add_paragraph("表后说明:数据来源于市发改委。")
    document.save(str(path))


def test_docx_paragraphs_and_table_cells_in_order(tmp_path: Path) -> None:
    path = tmp_path / "report.docx"
    _write_report(path)
    raw = read_docx(path)
    assert raw.text == (
        "安康市二〇二一年产业项目建设情况\n\n"
        "全年开工建设产业项目2280个,建成产业项目1869个,完成投资25.95亿元。\n\n"
        "储备项目数量 4468个。\n\n"  # the row with its header and its 单位 column (rag.loaders.tables)
        "表后说明:数据来源于市发改委。"
    )


def test_docx_title_from_core_properties_or_first_line(tmp_path: Path) -> None:
    with_title = tmp_path / "a.docx"
    _write_report(with_title, title="产业振兴年度报告")
    without_title = tmp_path / "b.docx"
    _write_report(without_title)
    (doc_a,) = load_source(SourceFile(path=with_title, root=tmp_path, rel="a.docx"))
    (doc_b,) = load_source(SourceFile(path=without_title, root=tmp_path, rel="b.docx"))
    assert doc_a.title == "产业振兴年度报告"
    assert doc_b.title == "安康市二〇二一年产业项目建设情况"


def test_merged_cells_are_not_repeated(tmp_path: Path) -> None:
    document = docx.Document()
    table = document.add_table(rows=1, cols=3)
    merged = table.cell(0, 0).merge(table.cell(0, 1))
    merged.text = "合并单元格"
    table.cell(0, 2).text = "右侧"
    path = tmp_path / "merged.docx"
    document.save(str(path))
    assert read_docx(path).text == "合并单元格 右侧"


def test_corrupt_docx_raises(tmp_path: Path) -> None:
    path = tmp_path / "broken.docx"
    path.write_bytes(b"PK\x03\x04 this is not really a zip archive")
    with pytest.raises(IngestError, match=r"broken\.docx: corrupt or unreadable \.docx"):
        read_docx(path)


def test_empty_docx_raises(tmp_path: Path) -> None:
    path = tmp_path / "empty.docx"
    docx.Document().save(str(path))
    with pytest.raises(IngestError, match=r"empty\.docx: \.docx file contains no text"):
        read_docx(path)


def test_a_zip_bomb_is_refused_before_it_is_inflated(tmp_path: Path) -> None:
    import zipfile

    path = tmp_path / "bomb.docx"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", b"<w:t>" + b"0" * (300 * 1024 * 1024) + b"</w:t>")
    assert path.stat().st_size < 2 * 1024 * 1024
    with pytest.raises(IngestError, match="zip bomb"):
        read_docx(path)
