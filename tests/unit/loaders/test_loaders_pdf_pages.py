"""PDFs with a text layer, written here with reportlab's built-in Chinese font: page numbers and running heads
dropped, a paragraph's lines rejoined, a ruled table as labelled sentences with the unit line above it, and
every page's place in the document's text, down to the chunks and a cited answer."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from rag.chunking import chunk_document
from rag.loaders import SourceFile, load_source
from rag.loaders.pdf import read_pdf

if TYPE_CHECKING:
    from rag.pipeline import Pipeline

FONT = "STSong-Light"  # an Adobe CID font every PDF reader knows: nothing to embed, nothing to install
PROSE = (
    "2023年，全县上下坚持稳中求进工作总基调，经济运行总体平稳。全年完成地区生产总值128.6亿元，比上年增长7.3%。"
    "其中第一产业增加值18.2亿元，增长4.1%；第二产业增加值52.3亿元，增长9.0%。全年新建农村公路186公里，"
    "改造农村危房32户，办理各类案件1205件。"
)
TABLE = [
    ["指标", "2022年", "2023年", "增速（%）"],
    ["固定资产投资", "40.2", "45", "11.2"],
    ["社会消费品零售总额", "30.1", "33.5", "6.8"],
]


def write_pdf(path: Path, pages: Sequence[Sequence[Any]], *, title: str = "石泉县2023年统计公报") -> Path:
    """A PDF of ``pages`` (each a list of paragraphs as str, or a table as a list of rows), with the page number
    and a running head printed on every page, as report PDFs have."""
    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    style = ParagraphStyle("zh", fontName=FONT, fontSize=11, leading=16, wordWrap="CJK")
    story: list[Any] = []
    for k, blocks in enumerate(pages):
        if k:
            story.append(PageBreak())
        for block in blocks:
            if isinstance(block, str):
                story.append(Paragraph(block, style))
            else:
                table = Table(block)
                grid = [("FONTNAME", (0, 0), (-1, -1), FONT), ("GRID", (0, 0), (-1, -1), 0.5, colors.black)]
                table.setStyle(TableStyle(grid))
                story.append(table)
            story.append(Spacer(1, 8))

    def furniture(canvas: Any, doc: Any) -> None:
        canvas.setFont(FONT, 9)
        canvas.drawString(72, A4[1] - 40, "石泉县统计局 统计公报")
        canvas.drawString(A4[0] / 2, 30, f"- {doc.page} -")

    SimpleDocTemplate(str(path), pagesize=A4, title=title).build(story, onFirstPage=furniture, onLaterPages=furniture)
    return path


@pytest.fixture
def report(tmp_path: Path) -> Path:
    return write_pdf(
        tmp_path / "公报.pdf",
        [
            ["石泉县2023年国民经济和社会发展统计公报", PROSE, "单位：亿元", TABLE, "表中增速按可比价格计算。"],
            ["二、就业和社会保障", "全年城镇新增就业4120人，其中高校毕业生就业1350人，返乡创业620人。"],
            ["三、交通", "全年完成交通建设投资3.5亿元。"],
        ],
    )


def test_pages_keep_their_numbers_without_page_numbers_or_running_heads(report: Path) -> None:
    raw = read_pdf(report)
    assert [p.number for p in raw.pages] == [1, 2, 3] and not any(p.ocr for p in raw.pages)
    assert raw.title == "石泉县2023年统计公报"
    (doc,) = load_source(SourceFile(report, report.parent, "corpus/公报.pdf"))
    assert "- 1 -" not in doc.text and "- 3 -" not in doc.text
    assert "石泉县统计局" not in doc.text  # the running head, on every page
    assert [p.number for p in doc.pages] == [1, 2, 3]
    assert doc.text[doc.pages[1].start : doc.pages[1].end].startswith("二、就业和社会保障")
    assert doc.text[doc.pages[2].start : doc.pages[2].end] == "三、交通\n全年完成交通建设投资3.5亿元。"


def test_a_paragraph_is_one_line_again_and_its_figures_whole(report: Path) -> None:
    (doc,) = load_source(SourceFile(report, report.parent, "corpus/公报.pdf"))
    assert PROSE in doc.text  # the PDF broke it over five lines, inside figures too


def test_a_ruled_table_reads_as_sentences_with_the_unit_of_the_line_above(report: Path) -> None:
    text = read_pdf(report).pages[0].text
    assert "2023年固定资产投资 45亿元；固定资产投资增速 11.2%。" in text
    assert "2022年社会消费品零售总额 30.1亿元" in text
    assert "单位：亿元" not in text
    assert text.index("办理各类案件") < text.index("2023年固定资产投资") < text.index("表中增速按可比价格计算")


def test_chunks_and_citations_name_their_pages(
    report: Path, tmp_path: Path, quick_pipeline: Callable[..., Pipeline]
) -> None:
    (doc,) = load_source(SourceFile(report, report.parent, "corpus/公报.pdf"))
    chunks = chunk_document(doc, size=120, overlap=0)
    assert {c.pages for c in chunks} == {(1,), (2, 3)}  # the short pages 2 and 3 share a passage
    assert all(c.pages and not c.ocr for c in chunks)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    report.rename(corpus / report.name)
    pipeline = quick_pipeline(corpus)
    answer = pipeline.ask("2023年高校毕业生就业多少人？")
    assert answer.grounded and answer.short_answer == "1350人", answer
    assert answer.citations[0].pages == (2, 3) and answer.to_dict()["citations"][0]["pages"] == [2, 3]
    stored = pipeline.index.chunks.document(doc.id)
    assert stored is not None and stored.pages == doc.pages  # kept for incremental builds and the UI


def test_a_sentence_running_over_a_page_break_is_joined(tmp_path: Path) -> None:
    first = "全年完成固定资产投资45.6亿元，同比增长11.2%，其中工业投资"
    path = write_pdf(tmp_path / "跨页.pdf", [[first], ["18.3亿元，增长15.1%。"]])
    (doc,) = load_source(SourceFile(path, tmp_path, "跨页.pdf"))
    assert "其中工业投资18.3亿元，增长15.1%。" in doc.text
    assert doc.pages[1].start == doc.text.index("18.3亿元")


def test_a_pdf_table_with_merged_header_cells(tmp_path: Path) -> None:
    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    rows = [
        ["指标", "2023年", ""],
        ["", "完成", "增长（%）"],
        ["工业投资", "18.3亿元", "15.1"],
        ["基础设施投资", "12.7亿元", "9.4"],
    ]
    table = Table(rows)
    spans = [("SPAN", (1, 0), (2, 0)), ("SPAN", (0, 0), (0, 1))]  # 2023年 over two columns, 指标 over two rows
    table.setStyle(
        TableStyle([("FONTNAME", (0, 0), (-1, -1), FONT), ("GRID", (0, 0), (-1, -1), 0.5, colors.black), *spans])
    )
    path = tmp_path / "合并.pdf"
    SimpleDocTemplate(str(path), pagesize=A4).build([table])
    assert read_pdf(path).text == (
        "2023年工业投资完成 18.3亿元；2023年工业投资增长 15.1%。\n"
        "2023年基础设施投资完成 12.7亿元；2023年基础设施投资增长 9.4%。"
    )
