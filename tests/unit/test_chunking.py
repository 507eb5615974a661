"""Unit tests for the Chinese-aware chunker: sentences, headings, packing, offsets and ids."""

from __future__ import annotations

import random
import re
from itertools import pairwise
from pathlib import Path

import pytest

from rag.chunking import chunk_document, chunk_id, detect_heading, split_sentences
from rag.errors import ConfigError
from rag.types import Chunk, Document

CORPUS = Path(__file__).resolve().parents[2] / "corpus"
SEED_FILES = sorted(CORPUS.glob("*.txt"))


def make_doc(text: str, doc_id: str = "d") -> Document:
    return Document(id=doc_id, title=doc_id, text=text, source=f"{doc_id}.txt", content_hash="test")


def seed_doc(prefix: str) -> Document:
    (path,) = [p for p in SEED_FILES if p.name.startswith(prefix)]
    return make_doc(path.read_text(encoding="utf-8"), doc_id=prefix)


def assert_invariants(doc: Document, chunks: list[Chunk], *, size: int, min_size: int) -> None:
    covered = bytearray(len(doc.text))
    for position, c in enumerate(chunks):
        assert doc.text[c.start : c.end] == c.text
        assert c.text.strip(), "empty or whitespace-only chunk"
        assert c.end - c.start <= size + min_size
        assert c.position == position and c.doc_id == doc.id
        covered[c.start : c.end] = b"\x01" * (c.end - c.start)
    assert [c.start for c in chunks] == sorted({c.start for c in chunks}), "chunks must advance"
    missed = [i for i, ch in enumerate(doc.text) if not ch.isspace() and not covered[i]]
    assert not missed, f"uncovered characters at {missed[:5]}"


def sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in split_sentences(text)]


# --- sentence splitting -------------------------------------------------------------------------------------


def test_closing_quote_stays_with_its_sentence() -> None:
    assert sentences("他说：“好。”然后走了。") == ["他说：“好。”", "然后走了。"]


def test_sentence_ends_and_ellipsis() -> None:
    text = "增长14.5%。真的?是!好……走吧;再见；完"
    assert sentences(text) == ["增长14.5%。", "真的?", "是!", "好……", "走吧;", "再见；", "完"]


@pytest.mark.parametrize("number", ["15.75亿元", "3.1万平方米", "14.5%", "2017-10-12", "1-8月", "1,200"])
def test_numbers_and_commas_are_not_sentence_ends(number: str) -> None:
    text = f"全年完成{number},同比增长,超额完成任务。下一句"
    assert sentences(text) == [f"全年完成{number},同比增长,超额完成任务。", "下一句"]


def test_short_quotes_and_brackets_are_not_split() -> None:
    assert sentences("（一）实施项目谋划提升行动") == ["（一）实施项目谋划提升行动"]
    assert sentences("深化“放管服”改革。下一句") == ["深化“放管服”改革。", "下一句"]
    assert sentences("他说：“我们要干。要快干！”然后") == ["他说：“我们要干。要快干！”", "然后"]


def test_lines_are_boundaries_and_spans_index_the_original_text() -> None:
    text = "\n  第一行没有句号\n\n\t第二行。第三句  \r\n"
    spans = split_sentences(text)
    assert [text[s:e] for s, e in spans] == ["第一行没有句号", "第二行。", "第三句"]
    assert all("\n" not in text[s:e] for s, e in spans)


def test_blank_text_has_no_sentences() -> None:
    assert split_sentences("") == []
    assert split_sentences(" \n\u3000\t\n") == []


# --- headings ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "* 产业上突破,项目上加力,打造经济发展新引擎",
        "●“放管服”改革持续深化",
        "（一）实施项目谋划提升行动",
        "(二)实施精准招商提升行动",
        "三、重点任务",
        "谋发展:应势而为,保持稳中向好发展态势",
        "2020年展望",
        "第一章 总则",
        "1. 加强领导",
        "1、加强领导",
    ],
)
def test_headings_are_detected(line: str) -> None:
    assert detect_heading(line)


@pytest.mark.parametrize(
    "line",
    [
        "一是加强组织领导,压实工作责任",
        "1. 高点策划。准确把握国家产业发展方向,打破封闭僵化思维。",
        "妇女儿童之家是留守人员温暖的家。",
        "记者 王拥 通讯员 王福友",
        "2017-10-12 09:17:23 来源:河北新闻网",
        "(上接一版)",
        "",
        "地方要振兴,经济是基础,经济要发展,产业和项目是关键,全区坚持把产业发展作为第一要务,不断做大做强实体经济",
    ],
)
def test_non_headings_are_rejected(line: str) -> None:
    assert not detect_heading(line)


def test_unmarked_heading_needs_a_paragraph_after_it() -> None:
    assert detect_heading("保生态:治修结合,走好绿色发展之路", next_line="绿水青山就是金山银山。" * 5)
    assert not detect_heading("四通八达的公路网", next_line="记者 王拥 通讯员 王福友")
    assert detect_heading("●行政体制改革扎实推进", next_line="短")  # a marker needs no context


def test_heading_attached_in_seed_003() -> None:
    chunks = chunk_document(seed_doc("003"))
    hits = [c for c in chunks if "衡水湖蓄水量" in c.text]
    assert hits
    assert {c.heading for c in hits} == {"保生态:治修结合,走好绿色发展之路"}


def test_headings_attached_under_numbered_section_in_seed_004() -> None:
    doc = seed_doc("004")
    heading = next(line.strip() for line in doc.text.splitlines() if "实施项目谋划提升行动" in line)
    section_start = doc.text.index(heading)
    section_end = doc.text.index(next(line.strip() for line in doc.text.splitlines() if "实施精准招商" in line))
    chunks = chunk_document(doc)
    under = [c for c in chunks if section_start <= c.start < section_end]
    assert len(under) >= 2
    assert {c.heading for c in under} == {heading}
    # "三、重点任务" directly precedes it and opens a chunk: the innermost heading of the run wins.
    (opening,) = [c for c in chunks if c.text.startswith("三、重点任务")]
    assert heading in opening.text and opening.heading == heading


def test_heading_starts_a_new_chunk_and_chunks_before_any_heading_have_none() -> None:
    body = "这是一段正文内容,用来填充章节。" * 6
    doc = make_doc(f"前言没有标题的一句话,写得长一点。\n\n●第一部分\n\n{body}\n\n●第二部分\n\n{body}")
    chunks = chunk_document(doc, size=120, overlap=20, min_size=10)
    assert chunks[0].heading is None
    second = [c for c in chunks if "第二部分" in c.text]
    assert len(second) == 1 and second[0].text.startswith("●第二部分")
    assert all(c.heading == "●第二部分" for c in chunks if c.start >= second[0].start)


def test_seed_corpus_headings() -> None:
    found = {c.heading for c in chunk_document(seed_doc("001"))} - {None}
    assert "●“放管服”改革持续深化" in found and len(found) == 10
    found = {c.heading for c in chunk_document(seed_doc("002"))}
    assert {"坚持服务大局,主动刀刃向内", "2020年展望"} <= found
    assert not any(h and h.startswith("在新旧动能转换") for h in found)  # a lead-in line, not a heading


# --- packing, sizes, overlap -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", SEED_FILES, ids=lambda p: p.name[:3])
@pytest.mark.parametrize(("size", "overlap", "min_size"), [(300, 60, 40), (120, 30, 20), (800, 0, 100)])
def test_seed_corpus_invariants(path: Path, size: int, overlap: int, min_size: int) -> None:
    doc = make_doc(path.read_text(encoding="utf-8"), doc_id=path.name[:3])
    chunks = chunk_document(doc, size=size, overlap=overlap, min_size=min_size)
    assert chunks
    assert_invariants(doc, chunks, size=size, min_size=min_size)


def test_random_slices_of_the_corpus_keep_offsets_and_coverage() -> None:
    rng = random.Random(20240501)
    texts = [p.read_text(encoding="utf-8") for p in SEED_FILES]
    for _ in range(300):
        text = rng.choice(texts)
        a = rng.randrange(len(text))
        b = min(len(text), a + rng.randrange(1, 1500))
        size = rng.randrange(20, 400)
        overlap, min_size = rng.randrange(0, size), rng.randrange(0, size // 2 + 1)
        doc = make_doc(text[a:b])
        assert_invariants(
            doc, chunk_document(doc, size=size, overlap=overlap, min_size=min_size), size=size, min_size=min_size
        )


@pytest.mark.parametrize("number", ["15.75亿元", "3.1万平方米", "14.5%", "1,200人", "2017-10-12"])
def test_hard_cuts_never_fall_inside_a_number(number: str) -> None:
    size = 30
    for pad in range(1, size + 5):  # move the number across the would-be cut position
        text = "前面还有一句话。" + "甲" * pad + number + "乙" * 40  # the long sentence starts mid-text
        doc = make_doc(text)
        chunks = chunk_document(doc, size=size, overlap=0, min_size=0)
        assert_invariants(doc, chunks, size=size, min_size=0)
        assert len(chunks) > 1
        assert any(number in c.text for c in chunks), f"{number} was cut with pad={pad}"


def test_long_sentence_splits_at_a_comma_first() -> None:
    text = "甲" * 20 + "," + "乙" * 20 + "、" + "丙" * 20 + "。"
    pieces = [c.text for c in chunk_document(make_doc(text), size=30, overlap=0, min_size=0)]
    assert pieces[0] == "甲" * 20 + ","


def test_overlap_repeats_whole_trailing_sentences() -> None:
    sentence = [f"第{i:02d}句话写满二十个字符的内容呀呀呀呀。" for i in range(12)]
    assert {len(s) for s in sentence} == {20}
    doc = make_doc("".join(sentence))
    chunks = chunk_document(doc, size=100, overlap=45, min_size=0)
    assert_invariants(doc, chunks, size=100, min_size=0)
    for prev, nxt in pairwise(chunks):
        shared = doc.text[nxt.start : prev.end]
        # Two whole sentences (40 chars) fit in the 45-char overlap; three would not.
        assert nxt.start % 20 == 0 and len(shared) == 40
        assert prev.text.endswith(shared) and nxt.text.startswith(shared)


def test_no_overlap_when_the_last_sentence_is_longer_than_overlap() -> None:
    doc = make_doc("".join(f"第{i}句" + "字" * 45 + "。" for i in range(8)))
    chunks = chunk_document(doc, size=120, overlap=40, min_size=0)
    assert len(chunks) > 1
    assert all(nxt.start >= prev.end for prev, nxt in pairwise(chunks))


def test_short_trailing_chunk_is_merged_into_the_previous_one() -> None:
    doc = make_doc("前面的句子写满二十个字符内容呀呀。" * 5 + "尾巴。")
    chunks = chunk_document(doc, size=60, overlap=0, min_size=10)
    assert chunks[-1].text.endswith("尾巴。") and len(chunks[-1].text) > 10
    assert chunks[-1].end - chunks[-1].start <= 70


def test_quotes_are_kept_whole_in_chunks() -> None:
    doc = make_doc("他说：“好。”然后走了。" * 20)
    for c in chunk_document(doc, size=40, overlap=10, min_size=5):
        assert c.text.count("“") == c.text.count("”")


def test_blank_documents_have_no_chunks() -> None:
    assert chunk_document(make_doc("")) == []
    assert chunk_document(make_doc(" \n\n\u3000\t\n")) == []


def test_invalid_parameters_raise_config_error() -> None:
    with pytest.raises(ConfigError, match="size"):
        chunk_document(make_doc("好。"), size=0)


# --- ids ---------------------------------------------------------------------------------------------------


def test_ids_are_stable_and_follow_content() -> None:
    doc = seed_doc("000")
    first, second = chunk_document(doc), chunk_document(doc)
    assert [c.id for c in first] == [c.id for c in second]
    assert len({c.id for c in first}) == len(first)
    assert all(re.fullmatch(r"000:[0-9a-f]{12}", c.id) for c in first)

    target = first[len(first) // 2]
    edited = make_doc(doc.text[: target.start] + "改" + doc.text[target.start + 1 :], doc_id="000")
    after = {(c.start, c.end): c.id for c in chunk_document(edited)}
    assert after[(target.start, target.end)] != target.id
    assert after[(first[0].start, first[0].end)] == first[0].id


def test_chunk_id_depends_on_doc_position_and_text() -> None:
    base = chunk_id("a", 0, 2, "好的")
    assert base == chunk_id("a", 0, 2, "好的")
    assert len({base, chunk_id("b", 0, 2, "好的"), chunk_id("a", 1, 3, "好的"), chunk_id("a", 0, 2, "好了")}) == 4
