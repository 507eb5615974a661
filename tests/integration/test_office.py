"""Legacy Office files (.doc, .xls) converted by a real LibreOffice (installed by `.ci/run`), and the message
a user gets when LibreOffice is missing."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import docx
import openpyxl
import pytest

from rag.errors import IngestError
from rag.loaders import ReadOptions, SourceFile, load_source

SOFFICE = shutil.which("soffice")


def _legacy(path: Path, target: str, *, via: str | None = None) -> Path:
    """``path`` saved by LibreOffice in the legacy format ``target`` (doc, xls), as an old report would be;
    ``via`` an intermediate format (LibreOffice drops a python-docx table going from .docx to .doc directly,
    not through .odt)."""
    assert SOFFICE, "LibreOffice is missing: `.ci/run` installs it (apt-get install libreoffice-writer-nogui …)"
    if via is not None:
        path = _legacy(path, via)
    profile = (path.parent / "lo-profile").as_uri()
    subprocess.run(
        [
            SOFFICE,
            f"-env:UserInstallation={profile}",
            "--headless",
            "--convert-to",
            target,
            "--outdir",
            str(path.parent),
            str(path),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    return path.with_suffix(f".{target}")


def test_a_doc_file_with_a_merged_cell_table_is_read_with_its_labels(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_paragraph("2023年恒口示范区完成固定资产投资45.6亿元，同比增长11.2%。")
    table = document.add_table(rows=3, cols=3)
    for i, row in enumerate([["指标", "2023年", ""], ["", "完成", "增长（%）"], ["工业投资", "18.3亿元", "15.1"]]):
        for j, text in enumerate(row):
            table.cell(i, j).text = text
    table.cell(0, 1).merge(table.cell(0, 2)).text = "2023年"
    table.cell(0, 0).merge(table.cell(1, 0)).text = "指标"
    source = tmp_path / "报告.docx"
    document.save(str(source))
    legacy = _legacy(source, "doc", via="odt")
    source.unlink()
    (doc,) = load_source(SourceFile(legacy, tmp_path, "corpus/报告.doc"))
    assert "完成固定资产投资45.6亿元" in doc.text
    assert "2023年工业投资完成 18.3亿元；2023年工业投资增长 15.1%。" in doc.text


def test_an_xls_sheet_with_a_unit_line_is_read_as_sentences(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in [["单位：万元"], ["项目", "2022年", "2023年"], ["财政收入", 5200, 5630]]:
        sheet.append(row)
    source = tmp_path / "财政.xlsx"
    workbook.save(source)
    legacy = _legacy(source, "xls")
    source.unlink()
    (doc,) = load_source(SourceFile(legacy, tmp_path, "corpus/财政.xls"))
    assert "2023年财政收入 5630万元" in doc.text


def test_without_libreoffice_the_message_says_how_to_install_it(tmp_path: Path) -> None:
    path = tmp_path / "旧报告.doc"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512))  # an OLE header, as .doc files start
    options = ReadOptions(office="no-such-soffice")
    with pytest.raises(IngestError, match=r"旧报告\.doc: \.doc files are converted by LibreOffice.*apt-get install"):
        list(load_source(SourceFile(path, tmp_path, "corpus/旧报告.doc"), options=options))
