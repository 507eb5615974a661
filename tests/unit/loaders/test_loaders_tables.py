"""Tables as sentences whose figures carry their row label, column headers and unit: the grid logic, .csv
(encoding detected), .xlsx (merged cells, percent formats) and .docx tables, and a figure asked of one."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import docx
import openpyxl
import pytest

from rag.errors import IngestError
from rag.loaders import SUPPORTED_SUFFIXES, discover_files, load_source
from rag.loaders.docx import read_docx
from rag.loaders.tables import read_csv, read_xlsx, table_lines

if TYPE_CHECKING:
    from rag.pipeline import Pipeline

REPORT_TABLE = [
    ["主要经济指标完成情况", "", ""],
    ["单位：亿元", "", ""],
    ["指标", "2020年", "同比增长（%）"],
    ["固定资产投资", "45", "11.2"],
    ["地区生产总值", "128.6", "7.3"],
]


def test_each_row_carries_its_headers_and_units() -> None:
    assert table_lines(REPORT_TABLE) == [
        "主要经济指标完成情况",
        "2020年固定资产投资 45亿元；固定资产投资同比增长 11.2%。",  # the table's unit; the column's own wins
        "2020年地区生产总值 128.6亿元；地区生产总值同比增长 7.3%。",
    ]


def test_a_unit_column_a_unit_in_the_row_label_and_figures_that_already_have_one() -> None:
    assert table_lines([["指标", "数量", "单位"], ["储备项目", "4468", "个"]]) == ["储备项目数量 4468个。"]
    assert table_lines([["年份", "2019", "2020"], ["人口（万人）", "12.1", "12.4"]]) == [
        "2019人口 12.1万人；2020人口 12.4万人。"
    ]
    assert table_lines([["项目", "金额"], ["专项债券", "3.5亿元"]], unit="万元") == ["专项债券金额 3.5亿元。"]


def test_two_header_rows_with_a_merged_cell_and_a_label_merged_down() -> None:
    rows: list[list[str | None]] = [
        ["指标", "2020年", None, "备注"],  # 2020年 spans two columns
        ["", "总量", "增速", ""],
        ["居民人均可支配收入", "3.2万元", "6.5%", "城镇"],
        [None, "1.1万元", "8.1%", "农村"],  # the label is merged down over this row
    ]
    assert table_lines(rows) == [
        "2020年居民人均可支配收入总量 3.2万元；2020年居民人均可支配收入增速 6.5%；居民人均可支配收入备注 城镇。",
        "2020年居民人均可支配收入总量 1.1万元；2020年居民人均可支配收入增速 8.1%；居民人均可支配收入备注 农村。",
    ]


def test_a_gbk_csv_is_one_table(tmp_path: Path) -> None:
    path = tmp_path / "指标.csv"
    path.write_bytes(
        "指标,2021年,增长（%）\n一般公共预算收入（亿元）,14.26,5.1\n税收收入（亿元）,10.03,6.2\n".encode("gbk")
    )
    assert read_csv(path).text == (
        "2021年一般公共预算收入 14.26亿元；一般公共预算收入增长 5.1%。\n\n2021年税收收入 10.03亿元；税收收入增长 6.2%。"
    )


def test_an_xlsx_sheet_with_merged_cells_and_percent_formats(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "2022年"
    sheet.append(["农业生产情况", None, None])
    sheet.merge_cells("A1:C1")
    sheet.append(["指标", "产量（万吨）", "增速"])
    sheet.append(["粮食", 12.5, 0.031])
    sheet["C3"].number_format = "0.0%"
    sheet.append([None, 3.0, 0.02])
    sheet.append(["蔬菜", 40, None])
    path = tmp_path / "农业.xlsx"
    workbook.save(path)
    assert read_xlsx(path).text == (
        "农业生产情况\n\n粮食产量 12.5万吨；粮食增速 3.1%。\n\n产量 3万吨；增速 0.02。\n\n蔬菜产量 40万吨。"
    )


def test_a_broken_xlsx_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "坏.xlsx"
    path.write_bytes(b"PK\x03\x04 not a workbook")
    with pytest.raises(IngestError, match=r"坏\.xlsx: corrupt or unreadable \.xlsx"):
        read_xlsx(path)


def test_a_docx_table_with_a_header_merged_across_columns(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_paragraph("附表")
    table = document.add_table(rows=3, cols=3)
    table.cell(0, 0).text = "指标"
    table.cell(0, 1).merge(table.cell(0, 2)).text = "2021年"
    for j, text in enumerate(["", "开工（个）", "竣工（个）"]):
        table.cell(1, j).text = text
    for j, text in enumerate(["产业项目", "2280", "1869"]):
        table.cell(2, j).text = text
    path = tmp_path / "项目.docx"
    document.save(str(path))
    assert read_docx(path).text == "附表\n\n2021年产业项目开工 2280个；2021年产业项目竣工 1869个。"


def test_csv_and_xlsx_are_corpus_files_and_a_table_figure_is_answered(
    tmp_path: Path, quick_pipeline: Callable[..., Pipeline]
) -> None:
    assert {".csv", ".xlsx"} <= set(SUPPORTED_SUFFIXES)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "指标.csv").write_text("\n".join(",".join(r) for r in REPORT_TABLE) + "\n", encoding="utf-8")
    assert [s.rel for s in discover_files([corpus])] == ["corpus/指标.csv"]
    (doc,) = load_source(discover_files([corpus])[0])
    assert "2020年固定资产投资 45亿元" in doc.text
    answer = quick_pipeline(corpus).ask("2020年固定资产投资是多少亿元？")
    assert answer.grounded and answer.short_answer == "45亿元", answer


def test_markdown_and_html_tables_become_sentences(tmp_path: Path) -> None:
    from rag.loaders.html import read_html
    from rag.loaders.tables import read_markdown

    md = tmp_path / "公报.md"
    md.write_text(
        "# 公报\n\n全年经济运行稳中向好。\n\n单位：亿元\n\n| 指标 | 2022年 | 增长（%） |\n|---|:---:|---|\n"
        "| 固定资产投资 | 45 | 11.2 |\n\n表后文字。\n",
        encoding="utf-8",
    )
    text = read_markdown(md)
    assert "2022年固定资产投资 45亿元；固定资产投资增长 11.2%。" in text and "|" not in text
    assert text.index("全年经济运行") < text.index("2022年固定资产投资") < text.index("表后文字")
    page = tmp_path / "公报.html"
    page.write_text(
        "<html><head><title>公报</title></head><body><article><p>全年经济运行稳中向好，主要指标见下表，"
        "各项指标均完成年度目标任务。</p><table><tr><th>指标</th><th>2022年</th></tr>"
        "<tr><td>粮食产量（万吨）</td><td>12.5</td></tr></table></article></body></html>",
        encoding="utf-8",
    )
    assert "2022年粮食产量 12.5万吨。" in read_html(page).text
