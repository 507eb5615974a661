"""Where a reader's span puts the short answer of a figure question (rag/span_figures.py), on sentences written
for these tests."""

from __future__ import annotations

import pytest

from rag.span_figures import span_figure

TEXT = (
    "北湾电影周将展映来自32个国家和地区的146部影片。标本采集于约820米深的海底。林晓在决赛中得了438.60分。"
    "男生1000米跑平均成绩为4分02秒。遗址的岩画可追溯到6000年前。"
)


def cut(span: str, question: str) -> str | None:
    start = TEXT.index(span)
    where = span_figure(TEXT, start, start + len(span), question)
    return TEXT[where[0] : where[1]] if where else None


@pytest.mark.parametrize(
    ("span", "question", "expected"),
    [
        ("32个国家和地区的146部", "北湾电影周将展映多少部影片？", "146部"),  # the one figure of the asked unit
        ("820米", "标本采集于多深的海底？", "约820米"),  # whole, with its qualifier
        ("438.60分", "林晓在决赛中得了多少分？", "438.60分"),  # a bare number keeps its short unit
        ("6000年前", "遗址的岩画可追溯到多少年前？", "6000年前"),  # a time ago, not a duration
        ("32个国家和地区的146部", "北湾电影周将展映多少辆汽车？", None),  # no figure of the asked kind
        ("4分02秒", "女生800米跑平均成绩是多少？", None),  # the clause is the other item's (男生)
    ],
)
def test_the_short_answer_is_the_one_figure_of_the_asked_kind_in_the_span(
    span: str, question: str, expected: str | None
) -> None:
    assert cut(span, question) == expected
