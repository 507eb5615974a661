"""Questions about table cells, over a corpus of a PDF with a ruled table, a DOCX with merged header cells, an
XLSX sheet with a unit line and a GBK-encoded CSV (all written here), indexed with the real default model:
each answer is the cell's figure with its unit, and the cited passage carries the row and column labels."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import docx
import openpyxl
import pytest

if TYPE_CHECKING:
    from rag.pipeline import Pipeline

pytestmark = pytest.mark.slow

# (question, short answer, what the cited passage must say: the labels and the figure)
QUESTIONS = [
    ("2023年石泉县固定资产投资是多少亿元？", "45亿元", "2023年固定资产投资 45亿元"),
    ("2022年石泉县社会消费品零售总额多少亿元？", "30.1亿元", "2022年社会消费品零售总额 30.1亿元"),
    ("石泉县社会消费品零售总额增速是多少？", "6.8%", "社会消费品零售总额增速 6.8%"),
    ("2023年汉阴县工业投资完成多少？", "18.3亿元", "2023年工业投资完成 18.3亿元"),
    ("2023年汉阴县基础设施投资增长多少？", "9.4%", "2023年基础设施投资增长 9.4%"),
    ("2023年紫阳县民生支出多少万元？", "3420万元", "2023年民生支出 3420万元"),
    ("2022年紫阳县财政收入是多少？", "5200万元", "2022年财政收入 5200万元"),
    ("2022年岚皋县城镇新增就业多少人？", "4380人", "2022年城镇新增就业 4380人"),
    ("2021年岚皋县农村劳动力转移就业多少人？", "2.1万人", "2021年农村劳动力转移就业 2.1万人"),
]


def _pdf(path: Path) -> None:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    style = ParagraphStyle("zh", fontName="STSong-Light", fontSize=11, leading=16, wordWrap="CJK")
    table = Table(
        [
            ["指标", "2022年", "2023年", "增速（%）"],
            ["固定资产投资", "40.2", "45", "11.2"],
            ["社会消费品零售总额", "30.1", "33.5", "6.8"],
        ]
    )
    table.setStyle(
        TableStyle([("FONTNAME", (0, 0), (-1, -1), "STSong-Light"), ("GRID", (0, 0), (-1, -1), 0.5, colors.black)])
    )
    story = [
        Paragraph("石泉县主要经济指标", style),
        Paragraph("全县经济运行稳中有进，主要指标见下表。", style),
        Spacer(1, 8),
        Paragraph("单位：亿元", style),
        table,
    ]
    SimpleDocTemplate(str(path), pagesize=A4, title="石泉县主要经济指标").build(story)


def _docx(path: Path) -> None:
    document = docx.Document()
    document.add_paragraph("汉阴县投资完成情况")
    table = document.add_table(rows=4, cols=3)
    rows = [
        ["指标", "2023年", ""],
        ["", "完成", "增长（%）"],
        ["工业投资", "18.3亿元", "15.1"],
        ["基础设施投资", "12.7亿元", "9.4"],
    ]
    for i, row in enumerate(rows):
        for j, text in enumerate(row):
            table.cell(i, j).text = text
    table.cell(0, 1).merge(table.cell(0, 2)).text = "2023年"  # a header merged across two columns
    table.cell(0, 0).merge(table.cell(1, 0)).text = "指标"  # and one merged down two header rows
    document.save(str(path))


def _xlsx(path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "紫阳县财政收支"
    for row in [["单位：万元"], ["项目", "2022年", "2023年"], ["财政收入", 5200, 5630], ["民生支出", 3100, 3420]]:
        sheet.append(row)
    workbook.save(path)


def _gbk_csv(path: Path) -> None:
    rows = [
        "岚皋县就业情况",
        "指标,2021年,2022年",
        "城镇新增就业（人）,4120,4380",
        "农村劳动力转移就业（万人）,2.1,2.3",
    ]
    path.write_bytes(("\n".join(rows) + "\n").encode("gbk"))


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Pipeline:
    from conftest import default_settings

    from rag.indexing import build_index
    from rag.pipeline import build_pipeline

    work = tmp_path_factory.mktemp("tables")
    corpus = work / "corpus"
    corpus.mkdir()
    _pdf(corpus / "石泉县指标.pdf")
    _docx(corpus / "汉阴县投资.docx")
    _xlsx(corpus / "紫阳县财政.xlsx")
    _gbk_csv(corpus / "岚皋县就业.csv")
    settings = default_settings()
    settings.index.dir = work / "index"
    settings.index.corpus = [corpus]
    report = build_index(settings, progress=False)
    assert report.documents == 4 and not report.failed, report.failed
    return build_pipeline(settings)


@pytest.mark.parametrize(("question", "expected", "labels"), QUESTIONS)
def test_a_cell_is_answered_with_its_figure_and_cited_with_its_labels(
    pipeline: Pipeline, question: str, expected: str, labels: str
) -> None:
    answer = pipeline.ask(question)
    assert answer.grounded and answer.short_answer == expected, answer
    assert labels in answer.citations[0].text, answer.citations[0].text
