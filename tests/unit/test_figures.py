"""The figure guard: numbers compared by value across Arabic and Chinese numerals, units, scales, percentages."""

from __future__ import annotations

import re

import pytest

from rag.figures import extract_figures, parse_chinese_number, unsupported_figures

PASSAGE = (
    "过去的一年,恒口示范区一般财政预算收入达到5341万元,完成固定资产投资45亿元,同比增长11.2%;"
    "规模以上工业增加值增长14.5%。"
)


@pytest.mark.parametrize(
    ("numeral", "value"),
    [
        ("五千三百四十一万", 53_410_000),
        ("十四点五", 14.5),
        ("十四", 14),
        ("二十", 20),
        ("一百零五", 105),
        ("两千", 2000),
        ("四十五亿", 4_500_000_000),
        ("一亿二千万", 120_000_000),
        ("三万亿", 3e12),
        ("二〇二〇", 2020),
        ("零点五", 0.5),
    ],
)
def test_chinese_numerals_are_parsed(numeral: str, value: float) -> None:
    assert parse_chinese_number(numeral) == pytest.approx(value)


def test_not_a_chinese_numeral() -> None:
    assert parse_chinese_number("恒口") is None
    assert parse_chinese_number("点五") is None


@pytest.mark.parametrize(
    ("text", "value", "kind"),
    [
        ("收入5341万元", 53_410_000, ""),
        ("收入五千三百四十一万元", 53_410_000, ""),
        ("收入53,410,000元", 53_410_000, ""),
        ("revenue of 53.41 million yuan", 53_410_000, ""),
        ("投资45亿元", 4.5e9, ""),
        ("增长14.5%", 14.5, "%"),
        ("增长14.5 %", 14.5, "%"),
        ("增长１４．５％", 14.5, "%"),
        ("增长百分之十四点五", 14.5, "%"),
        ("增长14.5个百分点", 14.5, "%"),
        ("grew 14.5 percent", 14.5, "%"),
        ("厂房3.1万平方米", 31_000, ""),
    ],
)
def test_figures_are_normalised(text: str, value: float, kind: str) -> None:
    (figure,) = extract_figures(text, claims_only=True)
    assert figure.value == pytest.approx(value) and figure.kind == kind
    assert text[figure.start : figure.end] == figure.text


def test_equal_values_in_different_notations_are_supported() -> None:
    answer = "收入五千三百四十一万元[1]，即53,410,000元，投资四十五亿元，增长百分之十四点五和11.2%。"
    assert unsupported_figures(answer, [PASSAGE]) == []
    english = "Revenue was 53.41 million yuan [1], investment 4.5 billion, growth 14.5 percent."
    assert unsupported_figures(english, [PASSAGE]) == []


def test_invented_and_rescaled_figures_are_flagged_with_their_spans() -> None:
    answer = "收入5341元[1]，投资46亿元，增长14.5万，增长百分之十二。"
    flagged = unsupported_figures(answer, [PASSAGE])
    assert [f.text for f in flagged] == ["5341", "46亿", "14.5万", "百分之十二"]
    for f in flagged:
        assert answer[f.start : f.end] == f.text
    assert flagged[0].to_dict() == {"text": "5341", "start": 2, "end": 6}


def test_a_percentage_does_not_match_a_plain_number() -> None:
    assert [f.text for f in unsupported_figures("增长5341%", [PASSAGE])] == ["5341%"]
    assert [f.text for f in unsupported_figures("共11.2个", [PASSAGE])] == ["11.2"]


def test_only_the_given_passages_count() -> None:
    assert [f.text for f in unsupported_figures("收入5341万元[1]", ["另一段资料，没有数字。"])] == ["5341万"]
    assert [f.text for f in unsupported_figures("收入5341万元", [])] == ["5341万"]


def test_citation_markers_ordinals_and_numeral_words_are_not_figures() -> None:
    answer = (
        "1. 统一规划[1][2]\n2、千万不要停[3]\n(3) 第一项和第2项\n- 4. 十分重要，一家企业，5G网络\n"
        "二〇二〇年收入5341万元"
    )
    texts = [f.text for f in extract_figures(answer, claims_only=True)]
    assert texts == ["二〇二〇", "5341万"]
    assert [f.text for f in unsupported_figures(answer, [PASSAGE])] == ["二〇二〇"]


def test_a_verbatim_clause_is_always_supported() -> None:
    clauses = re.split(r"[,;。]", PASSAGE)
    for k in range(len(clauses)):
        quoted = "，".join(clauses[k : k + 2]) + " [1]"
        assert unsupported_figures(quoted, [PASSAGE]) == [], quoted


def test_years_and_decimals() -> None:
    assert unsupported_figures("2019年增长11.2%", ["2019年同比增长11.2%"]) == []
    assert [f.text for f in unsupported_figures("2020年增长11.2%", ["2019年同比增长11.2%"])] == ["2020"]
