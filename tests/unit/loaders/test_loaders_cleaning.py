"""Cleaning, furniture removal and header-metadata extraction."""

from __future__ import annotations

import hashlib

import pytest

from rag.errors import IngestError
from rag.loaders.cleaning import build_document, clean_text, extract_metadata, parse_iso_date

FOOTER = (
    "回首过去,全市上下团结一心,开创了衡水发展新局面!(记者马路 通讯员信志锋)\n\n"
    "责任编辑:谭倩\n"
    "更多精彩内容请关注\n"
    "\t\t\t河北新闻网\n"
    "\t\t\t官方微信\n"
    "\t\t\t\n"
    "\t\t\t河北日报\n"
    "\t\t\t客户端\n"
    "\t\t\t\n"
    "电子报\n"
    "网站首页 我要评论 分享文章 回到顶部"
)


def test_clean_text_normalises_whitespace_and_newlines() -> None:
    raw = "\ufeff\r\n\r\n标题一行  \r\n正文第一段。\t \r\n\r\n\r\n\r\n\r\n正文第二段。\r旧式换行\n\n\n"
    assert clean_text(raw) == "标题一行\n正文第一段。\n\n正文第二段。\n旧式换行"


def test_clean_text_applies_nfc_but_keeps_fullwidth_punctuation() -> None:
    decomposed = "Cafe\u0301:增长6%,“加速度”。"
    assert clean_text(decomposed) == "Café:增长6%,“加速度”。"
    assert clean_text("恒口：跑出追赶超越“加速度”（一）") == "恒口：跑出追赶超越“加速度”（一）"


def test_clean_text_removes_footer_furniture_but_keeps_content() -> None:
    assert clean_text(FOOTER) == "回首过去,全市上下团结一心,开创了衡水发展新局面!(记者马路 通讯员信志锋)"


def test_clean_text_removes_glued_furniture_prefix_only() -> None:
    raw = "网站首页 我要评论 分享文章 回到顶部在三大攻坚战推进中,衡水坚持精准施策。\n下一段。"
    assert clean_text(raw) == "在三大攻坚战推进中,衡水坚持精准施策。\n下一段。"


def test_clean_text_removes_mobile_banner() -> None:
    raw = "2017-10-12 09:17:23 来源:河北新闻网\n进入移动版,省流量,体验好\n\n正文。"
    assert clean_text(raw) == "2017-10-12 09:17:23 来源:河北新闻网\n\n正文。"


@pytest.mark.parametrize(
    "sentence",
    [
        "河北新闻网记者从市委宣传部获悉,全市客户端用户突破百万。",
        "责任编辑要对稿件质量负总责,这是本报的一贯要求。",
        "电子报和官方微信成为群众获取信息的重要渠道。",
    ],
)
def test_clean_text_never_removes_content_sentences_mentioning_furniture_words(sentence: str) -> None:
    assert clean_text(f"标题\n{sentence}\n结尾。") == f"标题\n{sentence}\n结尾。"


def test_site_names_are_only_dropped_inside_a_follow_block() -> None:
    assert clean_text("河北日报\n\n正文。") == "河北日报\n\n正文。"


def test_metadata_from_source_and_date_line() -> None:
    text = "泰州海陵:大兴实干之风 建强中心城区\n来源:泰州日报 日期: 2021-09-09\n坚持服务大局,主动刀刃向内"
    meta = extract_metadata(text)
    assert (meta.title, meta.date, meta.publisher) == ("泰州海陵:大兴实干之风 建强中心城区", "2021-09-09", "泰州日报")


def test_metadata_skips_breadcrumb_and_reads_timestamped_source() -> None:
    title = "【喜迎十九大】衡水:凝心聚力 走好发展新路"
    meta = extract_metadata(f"河北新闻>>本网原创\n\n{title}\n\n2017-10-12 09:17:23 来源:河北新闻网\n\n正文。")
    assert (meta.title, meta.date, meta.publisher) == (title, "2017-10-12", "河北新闻网")


def test_metadata_skips_editor_lists_dates_and_bylines() -> None:
    text = (
        "总策划 张思成 刘云 编辑 吴昌勇 王拥\n校对 吴苏 美编 刘永涛 答进\n\n2020年5月14日 15\n\n"
        "恒口：跑出追赶超越“加速度”\n\n记者 王拥 通讯员 王福友\n\n过去的一年,恒口示范区一般财政预算收入达到5341万元。"
    )
    meta = extract_metadata(text)
    assert (meta.title, meta.date, meta.publisher) == ("恒口：跑出追赶超越“加速度”", "2020-05-14", None)


def test_metadata_skips_continuation_marker_and_short_lines() -> None:
    meta = extract_metadata("图一\n(上接一版)\n中共安康市委关于产业振兴的意见\n正文。")
    assert meta.title == "中共安康市委关于产业振兴的意见"


def test_metadata_ignores_dates_inside_body_sentences() -> None:
    body = "2020年5月14日,市委召开全体会议,研究部署下一阶段经济社会发展的重点工作,会议强调要坚持稳中求进。"
    meta = extract_metadata(f"改革潮头勇争先\n\n{body}")
    assert meta.date is None


def test_long_first_line_title_is_capped() -> None:
    meta = extract_metadata("很" * 200)
    assert meta.title is not None
    assert len(meta.title) == 80
    assert meta.title.endswith("…")


@pytest.mark.parametrize(
    ("value", "expected"),
    [("2021-09-09", "2021-09-09"), ("2021/9/9", "2021-09-09"), ("2020年5月14日", "2020-05-14"), ("2021-02-30", None)],
)
def test_parse_iso_date(value: str, expected: str | None) -> None:
    assert parse_iso_date(value) == expected


def test_build_document_hashes_cleaned_text_and_prefers_explicit_title() -> None:
    doc = build_document(
        "标题行\r\n正文。  \r\n", doc_id="d1", source="a.txt", name="a.txt", fallback_title="a", title="元数据标题"
    )
    assert doc.text == "标题行\n正文。"
    assert doc.content_hash == hashlib.sha256("标题行\n正文。".encode()).hexdigest()
    assert doc.title == "元数据标题"


def test_build_document_rejects_text_that_is_only_furniture() -> None:
    with pytest.raises(IngestError, match=r"only\.txt: no text left after cleaning"):
        build_document("责任编辑:谭倩\n电子报\n", doc_id="d", source="s", name="only.txt", fallback_title="x")


def test_pages_are_cleaned_apart_and_joined_with_their_places_recorded() -> None:
    from rag.loaders.cleaning import RawPage, join_pages

    pages = [
        RawPage(1, "政府工作报告\n一、过去一年的工作\n全年完成固定资产投资45.6亿元，\n第 1 页 共 3 页"),
        RawPage(2, "政府工作报告\n同比增长11.2%。\n— 2 —"),
        RawPage(3, "   \n\n- 3 -"),  # blank but for its number: not listed
        RawPage(4, "政府工作报告\n二、今年的主要任务\n4", ocr=True),  # a lone figure at the foot is a page number
    ]
    text, spans = join_pages(pages)
    assert text == "一、过去一年的工作\n全年完成固定资产投资45.6亿元，同比增长11.2%。\n\n二、今年的主要任务"
    assert [(p.number, text[p.start : p.end], p.ocr) for p in spans] == [
        (1, "一、过去一年的工作\n全年完成固定资产投资45.6亿元，", False),
        (2, "同比增长11.2%。", False),
        (4, "二、今年的主要任务", True),
    ]
    doc = build_document("", doc_id="d", source="r.pdf", name="r.pdf", fallback_title="r", pages=pages)
    assert doc.text == text and doc.pages == spans
    assert doc.pages_of(text.index("45.6"), text.index("11.2") + 5) == ((1, 2), False)
    assert doc.pages_of(len(text) - 2, len(text)) == ((4,), True)
