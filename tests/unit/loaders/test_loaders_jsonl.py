"""The .jsonl loader: one document per line, bad lines reported with file and line number."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from rag.errors import IngestError
from rag.loaders import SourceFile, load_source
from rag.loaders.jsonl import iter_jsonl

GOOD_1 = {"id": "r1", "title": "泰州海陵高质量发展", "text": "来源:泰州日报 日期: 2021-09-09\n预计全年增长6%。"}
GOOD_2 = {"id": 42, "title": "", "text": "恒口示范区工作综述\n\n全年完成投资45亿元。", "source": "https://example.cn/a"}
GOOD_3 = {"id": "r3", "title": "安康", "text": "正文。", "date": "2021年3月5日", "publisher": "安康日报"}


def _fail(error: IngestError) -> None:
    raise AssertionError(f"unexpected error: {error}")


def _write(path: Path, lines: list[str]) -> SourceFile:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return SourceFile(path=path, root=path.parent, rel=path.name)


def _dump(record: object) -> str:
    return json.dumps(record, ensure_ascii=False)


def test_good_lines_load_and_broken_line_is_reported(tmp_path: Path) -> None:
    source = _write(tmp_path / "docs.jsonl", [_dump(GOOD_1), '{"id": "r2", "text": "断了', "", _dump(GOOD_2)])
    errors: list[IngestError] = []
    docs = load_source(source, on_error=errors.append)
    assert [d.id for d in docs] == ["r1", "42"]
    assert len(errors) == 1
    assert str(errors[0]).startswith(f"{source.path} line 2: invalid JSON")


def test_record_fields_and_derived_metadata(tmp_path: Path) -> None:
    source = _write(tmp_path / "docs.jsonl", [_dump(GOOD_1), _dump(GOOD_2), _dump(GOOD_3)])
    first, second, third = load_source(source, on_error=_fail)
    assert (first.title, first.source, first.date, first.publisher) == (
        "泰州海陵高质量发展",
        "docs.jsonl#r1",
        "2021-09-09",
        "泰州日报",
    )
    assert (second.title, second.source) == ("恒口示范区工作综述", "https://example.cn/a")
    assert (third.date, third.publisher) == ("2021-03-05", "安康日报")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("[1, 2]", "expected a JSON object"),
        (_dump({"title": "t", "text": "正文。"}), "missing or invalid 'id'"),
        (_dump({"id": True, "text": "正文。"}), "missing or invalid 'id'"),
        (_dump({"id": "x", "text": "  "}), "missing or empty 'text'"),
        (_dump({"id": "x", "text": "正文。", "publisher": 3}), "field 'publisher' must be a string"),
        (_dump({"id": "x", "text": "正文。", "date": "上周"}), "'date' '上周' is not a date"),
        (_dump({"id": "r1", "text": "重复。"}), "duplicate id 'r1'"),
    ],
)
def test_each_kind_of_bad_line_names_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(_dump(GOOD_1) + "\n" + line + "\n", encoding="utf-8")
    errors: list[IngestError] = []
    documents = list(iter_jsonl(path, rel="bad.jsonl", on_error=errors.append))
    assert [d.id for d in documents] == ["r1"]
    assert len(errors) == 1
    assert str(errors[0]).startswith(f"{path} line 2: ")
    assert message in str(errors[0])


def test_bad_lines_are_logged_without_a_callback(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    source = _write(tmp_path / "docs.jsonl", ["not json", _dump(GOOD_1)])
    with caplog.at_level(logging.WARNING, logger="rag.loaders"):
        docs = load_source(source)
    assert [d.id for d in docs] == ["r1"]
    assert "docs.jsonl line 1: invalid JSON" in caplog.text


def test_raw_line_separators_inside_strings_do_not_split_records(tmp_path: Path) -> None:
    record = {"id": "ls", "text": "第一句\u2028第二句。"}
    source = _write(tmp_path / "ls.jsonl", [json.dumps(record, ensure_ascii=False)])
    (doc,) = load_source(source, on_error=_fail)
    assert doc.text == "第一句\n第二句。"


def test_empty_jsonl_file_raises(tmp_path: Path) -> None:
    path = tmp_path / "none.jsonl"
    path.write_bytes(b"")
    with pytest.raises(IngestError, match=r"none\.jsonl: file is empty"):
        iter_jsonl(path, rel="none.jsonl", on_error=_fail)


def test_whitespace_only_jsonl_file_raises(tmp_path: Path) -> None:
    path = tmp_path / "blank.jsonl"
    path.write_bytes(b"\xef\xbb\xbf \n\n\t\n")
    with pytest.raises(IngestError, match=r"blank\.jsonl: file is empty"):
        iter_jsonl(path, rel="blank.jsonl", on_error=_fail)


def test_a_binary_file_fails_before_any_record_is_read(tmp_path: Path) -> None:
    path = tmp_path / "data.jsonl"
    path.write_bytes(_dump(GOOD_1).encode() + b"\n\x00\x01\x02\x03")
    with pytest.raises(IngestError, match="binary"):
        iter_jsonl(path, rel="data.jsonl", on_error=_fail)  # raised by the call itself, not while iterating


@pytest.mark.parametrize("encoding", ["gb18030", "utf-16", "utf-8-sig"])
def test_other_encodings_load_too(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / f"{encoding}.jsonl"
    path.write_bytes(("\n".join(_dump(r) for r in (GOOD_1, GOOD_3)) + "\n").encode(encoding))
    docs = list(iter_jsonl(path, rel=path.name, on_error=_fail))
    assert [d.id for d in docs] == ["r1", "r3"]
    assert docs[0].title == "泰州海陵高质量发展" and "预计全年增长6%" in docs[0].text and docs[1].text == "正文。"


def test_a_large_file_is_read_line_by_line_in_the_same_order(tmp_path: Path) -> None:
    """Several MiB, so the UTF-8 check crosses block boundaries inside multi-byte characters."""
    path = tmp_path / "big.jsonl"
    n = 6000
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            fh.write(_dump({"id": f"d{i}", "title": f"报告{i}", "text": f"第{i}篇。" + "全年完成固定资产投资。" * 40}))
            fh.write("\n")
    assert path.stat().st_size > 3 * (1 << 20)
    docs = iter_jsonl(path, rel="big.jsonl", on_error=_fail)
    first = next(docs)
    assert first.id == "d0" and "第0篇" in first.text
    rest = list(docs)
    assert len(rest) == n - 1 and rest[-1].id == f"d{n - 1}"
