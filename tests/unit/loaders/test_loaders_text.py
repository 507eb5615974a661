"""Text decoding: UTF-8 (with and without BOM), GBK, Big5, and the errors for empty/binary/undecodable input."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from rag.errors import IngestError
from rag.loaders import SourceFile, load_source
from rag.loaders.text import decode_bytes, read_text_file

FIXTURES = Path(__file__).parents[2] / "fixtures" / "loaders"


def _load(path: Path) -> SourceFile:
    return SourceFile(path=path, root=path.parent, rel=path.name)


def test_utf8_fast_path() -> None:
    assert decode_bytes("泰州日报 2021".encode(), name="x") == "泰州日报 2021"


def test_utf8_with_bom() -> None:
    text = read_text_file(FIXTURES / "utf8_bom.txt")
    assert text.startswith("海陵区经济运行报告\n")
    assert "\ufeff" not in text


def test_gbk_file_is_detected_and_decoded() -> None:
    text = read_text_file(FIXTURES / "gbk.txt")
    assert text.startswith("海陵区经济运行报告\n来源:泰州日报")
    assert "实际利用外资1.81亿美元" in text


def test_gb18030_only_characters_decode() -> None:
    # 㐀 and 𠀀 exist in GB18030 but not in GBK; decoding with gb18030 keeps them.
    text = "海陵区的经济运行情况良好,㐀𠀀二字为扩展汉字,全年地区生产总值增长百分之六。" * 3
    assert decode_bytes(text.encode("gb18030"), name="x") == text


def test_big5_file_is_detected_and_decoded() -> None:
    text = read_text_file(FIXTURES / "big5.txt")
    assert text.startswith("臺灣經濟發展報告\n")
    assert "出口貿易額創下歷史新高" in text


def test_loaded_gbk_document_has_metadata() -> None:
    (doc,) = load_source(_load(FIXTURES / "gbk.txt"))
    assert (doc.title, doc.date, doc.publisher) == ("海陵区经济运行报告", "2021-09-09", "泰州日报")


def test_empty_file_raises() -> None:
    with pytest.raises(IngestError, match=r"empty\.txt: file is empty"):
        read_text_file(FIXTURES / "empty.txt")


def test_whitespace_only_file_raises(tmp_path: Path) -> None:
    path = tmp_path / "blank.txt"
    path.write_bytes(b" \n\t\r\n")
    with pytest.raises(IngestError, match=r"blank\.txt: file is empty"):
        read_text_file(path)


def test_binary_junk_with_nul_bytes_raises() -> None:
    with pytest.raises(IngestError, match=r"binary_junk\.txt: looks like binary data"):
        read_text_file(FIXTURES / "binary_junk.txt")


def test_random_bytes_without_nul_raise(tmp_path: Path) -> None:
    rng = random.Random(7)
    path = tmp_path / "noise.md"
    path.write_bytes(bytes(rng.randrange(1, 256) for _ in range(4096)))
    with pytest.raises(IngestError, match=r"noise\.md: (cannot decode|decoded text is mostly)"):
        read_text_file(path)


def test_control_character_soup_raises(tmp_path: Path) -> None:
    path = tmp_path / "ctl.txt"
    path.write_bytes(bytes(range(1, 32)) * 50)
    with pytest.raises(IngestError, match=r"ctl\.txt: .*binary"):
        read_text_file(path)


def test_missing_file_raises(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match=r"gone\.txt: cannot read file"):
        read_text_file(tmp_path / "gone.txt")


def test_markdown_heading_becomes_title(tmp_path: Path) -> None:
    path = tmp_path / "notes.md"
    path.write_text("# 二〇二一年工作总结\n\n全年完成投资45亿元。\n", encoding="utf-8")
    (doc,) = load_source(_load(path))
    assert doc.title == "二〇二一年工作总结"
    assert doc.text.startswith("# 二〇二一年工作总结")
