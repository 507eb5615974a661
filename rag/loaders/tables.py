"""Tables as text in which every figure carries its labels.

A table row on its own (``固定资产投资 | 45 | 11.2``) no longer says that 45 is 亿元 in 2020 and 11.2 is growth
in %. ``table_lines`` writes one sentence per data row, a clause per cell, as report prose says it: the
column's period, the row's label, the column's measure (all header rows, merged cells filled in), then the
figure with its unit — ``2020年固定资产投资 45亿元；固定资产投资同比增长 11.2%。`` The unit comes from the
column header (``增速（%）``), the row label (``人口（万人）``), a ``单位`` column, or the table's ``单位：亿元``
line. A sentence holds one whole row, so no chunk separates a figure from its labels. The readers of .csv and
.xlsx files are here too; .docx tables come through ``rag.loaders.docx``.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from pathlib import Path

from rag.errors import IngestError
from rag.loaders.cleaning import RawText
from rag.loaders.text import read_text_file

_NUMBER = r"[-+−]?(?:\d[\d,，]*(?:\.\d+)?|\.\d+)"  # 45, -3.2, 1,234.5, .5
# A cell that is a bare number (what needs a unit from elsewhere).
_NUMBER_RE = re.compile(f"^{_NUMBER}$")
# The table's unit, on a line of its own: 单位：亿元 / （单位：万元）/ 计量单位:吨
TABLE_UNIT_RE = re.compile(r"^[（(]?\s*(?:计量)?单位\s*[：:]\s*([^）)\s]+)\s*[）)]?$")
# A header's unit in brackets at its end: 增速（%）, 投资额(亿元), 面积（万平方米）
_HEADER_UNIT_RE = re.compile(r"^(.*?)\s*[（(]\s*([^（()）]{1,8})\s*[)）]\s*$")
_UNIT_COLUMN = {"单位", "计量单位"}
# A figure with at most a short unit after it; a year (2020年, 2020年1-6月) is a header, not a figure.
_VALUE_RE = re.compile(f"^{_NUMBER}[^\\d]{{0,6}}$")
_YEAR_RE = re.compile(r"^(?:19|20)\d{2}(?:年|$)")
# A header naming a period (2020年, 2021年1-6月, 上半年, 一季度, 年末): said before the row's subject.
_TIME_RE = re.compile(r"^(?:(?:19|20)\d{2}.*|.*(?:年|月|季度|半年|年末|年初|年底))$")


def table_lines(rows: Sequence[Sequence[str | None]], *, unit: str | None = None) -> list[str]:
    """The sentences of one table (a grid of cells; ``None`` marks a cell covered by a merged one to its left,
    or in the first column by the label above, ``_covered``). Header rows are the first row and the rows after
    it that hold no bare number; a title row (one cell) is kept as its own line; ``unit`` is the table's unit
    when the text around it gives one."""
    grid = [[(c or "").strip() if c is not None else None for c in row] for row in rows]
    grid = [row for row in grid if any(row)]
    lines: list[str] = []
    while grid and _single(grid[0]):  # a title or unit line above the table
        text = _single(grid[0])
        found = TABLE_UNIT_RE.match(text)
        if found:
            unit = found.group(1)
        else:
            lines.append(text)
        grid = grid[1:]
    kept = []
    for row in grid:  # a unit line below or inside the table
        found = TABLE_UNIT_RE.match(_single(row))
        if found:
            unit = unit or found.group(1)
        else:
            kept.append(row)
    grid = kept
    if not grid:
        return lines
    width = max(len(row) for row in grid)
    grid = [[*row, *[""] * (width - len(row))] for row in grid]
    if len(grid) == 1:
        return [*lines, " ".join(c for c in grid[0] if c)]
    n_header = 1
    while n_header < len(grid) - 1 and not any(_is_value(c) for c in grid[n_header][1:]):
        n_header += 1
    headers, units = _column_headers(grid[:n_header])
    unit_column = next((j for j, h in enumerate(headers) if " ".join(h) in _UNIT_COLUMN), None)
    # Said as report prose says it: the column's period first, then the row, then the column's measure
    # (2020年 + 固定资产投资 + 同比增长), so the figure's governing words sit right before it.
    when = ["".join(h for h in header if _TIME_RE.match(h)) for header in headers]
    what = ["".join(h for h in header if not _TIME_RE.match(h)) for header in headers]
    label = ""
    for row in grid[n_header:]:
        first = row[0]
        label = label if first is None else first  # a label merged down over several rows
        row_unit = (row[unit_column] or "") if unit_column is not None else ""
        shown, found = label, _HEADER_UNIT_RE.match(label)
        if found and found.group(1):  # 人口（万人）: the row's own unit
            shown, row_unit = found.group(1), found.group(2).strip()
        subject = "" if _is_number(shown) else shown
        parts: list[str] = []
        for j in range(1, width):
            cell = row[j]
            if not cell or j == unit_column:
                continue
            value = cell + (units[j] or row_unit or unit or "") if _is_number(cell) else cell
            words = f"{when[j]}{subject}{what[j]}"
            parts.append(f"{words} {value}" if words else value)
        if parts:
            lead = [shown] if shown and not subject else []  # a row labelled by a number keeps it in front
            lines.append("；".join([*lead, *parts]) + "。")
        elif shown:
            lines.append(shown)
    return lines


def _single(row: Sequence[str | None]) -> str:
    """The text of a row that holds exactly one non-empty cell, else ''."""
    filled = [c for c in row if c]
    return filled[0] if len(filled) == 1 and len(row) > 1 else ""


def _is_value(cell: str | None) -> bool:
    """Whether a cell reads as a figure (``45``, ``3.2万元``, ``-1.5%``) rather than a header (``2020年``)."""
    text = (cell or "").replace(" ", "")
    return bool(_VALUE_RE.match(text)) and not _YEAR_RE.match(text)


def _is_number(cell: str | None) -> bool:
    return bool(cell and _NUMBER_RE.match(cell.replace(" ", "")))


def _column_headers(rows: Sequence[Sequence[str | None]]) -> tuple[list[list[str]], list[str | None]]:
    """Each column's header (its header rows' texts, merged cells filled from the left) and its unit."""
    width = len(rows[0])
    filled: list[list[str]] = []
    for row in rows:
        out: list[str] = []
        for j, cell in enumerate(row):
            out.append(out[j - 1] if cell is None and j > 0 else cell or "")
        filled.append(out)
    headers: list[list[str]] = []
    units: list[str | None] = []
    for j in range(width):
        parts: list[str] = []
        column_unit: str | None = None
        for row in filled:
            text = row[j]
            found = _HEADER_UNIT_RE.match(text)
            if found and found.group(1):  # 增速（%）: the column's unit
                text, column_unit = found.group(1), found.group(2).strip()
            if text and text not in parts:
                parts.append(text)
        units.append(column_unit.removeprefix("单位：").removeprefix("单位:") if column_unit else None)
        headers.append(parts)
    return headers, units


_MD_ROW_RE = re.compile(r"^\s*\|.*\|\s*$")
_MD_RULE_RE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)*\|?\s*$")


def markdown_tables(text: str) -> str:
    """``text`` with each Markdown table (a ``| a | b |`` header row, a ``|---|---|`` rule, its rows) replaced by
    the table's sentences, one paragraph each; a ``单位：…`` line just above a table gives it its unit. What
    trafilatura writes for an HTML table, and what .md reports hold."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        if _MD_ROW_RE.match(lines[i]) and i + 1 < len(lines) and _MD_RULE_RE.match(lines[i + 1]):
            block = [lines[i]]
            j = i + 2
            while j < len(lines) and _MD_ROW_RE.match(lines[j]):
                block.append(lines[j])
                j += 1
            above = next((line.strip() for line in reversed(out) if line.strip()), "")
            found = TABLE_UNIT_RE.match(above)
            rows = [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in block]
            out.extend(["", "\n\n".join(table_lines(rows, unit=found.group(1) if found else None)), ""])
            i = j
        else:
            out.append(lines[i])
            i += 1
    return "\n".join(out)


def read_markdown(path: Path) -> str:
    """A .md file: decoded as text, its tables as sentences (``markdown_tables``)."""
    return markdown_tables(read_text_file(path))


def read_csv(path: Path) -> RawText:
    """A .csv file (its encoding detected as for text files; comma, tab or semicolon separated) as one table."""
    text = read_text_file(path)
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(text[:4096], delimiters=",\t;，")
    except csv.Error:
        dialect = csv.excel
    rows = list(csv.reader(io.StringIO(text), dialect))
    lines = table_lines(rows)
    if not lines:
        raise IngestError(f"{path}: .csv file holds no cells")
    return RawText(text="\n\n".join(lines))


def read_xlsx(path: Path) -> RawText:
    """Every sheet of an .xlsx workbook (cached values, not formulas), each as a table under its sheet name."""
    import openpyxl

    from rag.loaders.docx import check_zip

    check_zip(path, kind=".xlsx")
    try:
        workbook = openpyxl.load_workbook(path, read_only=False, data_only=True)
    except Exception as exc:  # BadZipFile, KeyError, InvalidFileException, lxml errors, ...
        raise IngestError(f"{path}: corrupt or unreadable .xlsx file ({type(exc).__name__}: {exc})") from exc
    blocks: list[str] = []
    for sheet in workbook.worksheets:
        rows: list[list[str | None]] = [
            [_cell_text(c.value, c.number_format) for c in row] for row in sheet.iter_rows()
        ]
        for merged in sheet.merged_cells.ranges:  # a merged cell's value is in its top-left cell only
            for r in range(merged.min_row, merged.max_row + 1):
                for c in range(merged.min_col, merged.max_col + 1):
                    if (r, c) != (merged.min_row, merged.min_col) and r - 1 < len(rows) and c - 1 < len(rows[r - 1]):
                        rows[r - 1][c - 1] = _covered(below=r > merged.min_row, first_column=c == 1)
        lines = table_lines(rows)
        if lines:
            blocks.append("\n\n".join([sheet.title, *lines]) if len(workbook.worksheets) > 1 else "\n\n".join(lines))
    workbook.close()
    if not blocks:
        raise IngestError(f"{path}: .xlsx workbook holds no cells")
    title = workbook.properties.title if workbook.properties is not None else None
    return RawText(text="\n\n".join(blocks), title=title or None)


def _covered(*, below: bool, first_column: bool) -> str | None:
    """What ``table_lines`` takes for a cell covered by a merged one: ``None`` (the cell to the left goes on,
    or, in the first column, the label above does) or, under a header that spans rows, nothing."""
    return None if not below or first_column else ""


def _cell_text(value: object, number_format: str) -> str:
    """A cell's value as written in a report: integral floats without ``.0``, percent-formatted cells in %."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        if "%" in number_format:
            return f"{_number(float(value) * 100)}%"
        return _number(float(value))
    return str(value).strip()


def _number(value: float) -> str:
    if value.is_integer():
        return str(int(value))
    return f"{round(value, 10):.10f}".rstrip("0").rstrip(".")
