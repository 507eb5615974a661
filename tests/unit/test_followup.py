"""Follow-up questions: the carry-over rule, chains of follow-ups, and the LLM rewrite prompt and reply."""

from __future__ import annotations

import pytest

from rag.followup import (
    clean_rewrite,
    looks_like_followup,
    previous_question,
    rewrite_followup,
    rewrite_messages,
    standalone_question,
)

PREVIOUS = "恒口示范区2019年完成固定资产投资多少？"


@pytest.mark.parametrize(
    ("question", "standalone"),
    [
        ("那2020年呢？", "恒口示范区2020年完成固定资产投资多少？"),
        ("2020年的呢", "恒口示范区2020年完成固定资产投资多少？"),
        ("那么2020呢?", "恒口示范区2020年完成固定资产投资多少？"),
        ("那海陵区呢？", "海陵区2019年完成固定资产投资多少？"),
        ("那海陵区2020年呢？", "海陵区2020年完成固定资产投资多少？"),
        ("那规模以上工业增加值呢？", "恒口示范区2019年规模以上工业增加值多少？"),
    ],
)
def test_slots_are_replaced_or_the_fragment_carried_over(question: str, standalone: str) -> None:
    assert rewrite_followup(question, PREVIOUS) == standalone


def test_english_year_follow_up() -> None:
    assert rewrite_followup("What about 2020?", "How much did Hengkou invest in 2019?") == (
        "How much did Hengkou invest in 2020?"
    )


def test_standalone_questions_are_left_alone() -> None:
    assert not looks_like_followup("恒口示范区新建标准化厂房多少平方米？")
    assert rewrite_followup("恒口示范区新建标准化厂房多少平方米？", PREVIOUS) is None
    assert rewrite_followup("那2020年呢？", "") is None
    assert looks_like_followup("它的面积多大？") and looks_like_followup("那2020年呢？")


def test_history_chains_are_resolved() -> None:
    history = [
        {"role": "user", "content": PREVIOUS},
        {"role": "assistant", "content": "完成固定资产投资45亿元[1]。"},
        {"role": "user", "content": "那2020年呢？"},
        {"role": "assistant", "content": "语料中没有找到能回答这个问题的内容。"},
    ]
    assert previous_question(history) == "恒口示范区2020年完成固定资产投资多少？"
    assert standalone_question("那2021年呢？", history) == "恒口示范区2021年完成固定资产投资多少？"
    assert standalone_question("那2021年呢？", []) is None
    assert standalone_question("那2021年呢？", [{"role": "assistant", "content": "你好"}]) is None


def test_rewrite_prompt_holds_the_conversation_and_the_question() -> None:
    history = [{"role": "user", "content": PREVIOUS}, {"role": "assistant", "content": "45亿元[1]"}]
    system, user = rewrite_messages("那2020年呢？", history)
    assert system["role"] == "system" and "改写" in system["content"]
    assert f"用户: {PREVIOUS}" in user["content"] and "助手: 45亿元[1]" in user["content"]
    assert user["content"].rstrip().endswith("最后一个问题：那2020年呢？\n改写后的问题：")
    english = rewrite_messages("What about 2020?", [{"role": "user", "content": "How much in 2019?"}])
    assert "standalone" in english[0]["content"] and "User: How much in 2019?" in english[1]["content"]


def test_model_replies_are_cleaned() -> None:
    assert clean_rewrite("改写后的问题：“恒口示范区2020年完成固定资产投资多少？”\n说明") == (
        "恒口示范区2020年完成固定资产投资多少？"
    )
    assert clean_rewrite("\n  Standalone question: How much in 2020?") == "How much in 2020?"
    assert clean_rewrite("   ") is None
    assert clean_rewrite("很" * 400) is None


@pytest.mark.parametrize(
    ("question", "previous", "expected"),
    [
        ("那农村居民呢？", "城镇居民人均可支配收入增长多少？", "农村居民人均可支配收入增长多少？"),
        ("那农村呢？", "城镇居民人均可支配收入增长多少？", "农村居民人均可支配收入增长多少？"),
        ("竣工的呢？", "凤山县2021年新开工项目多少个？", "凤山县2021年新竣工项目多少个？"),
        ("那县级呢？", "市级财政收入多少？", "县级财政收入多少？"),
        ("那出口呢？", "1-8月进口总额多少？", "1-8月出口总额多少？"),
        ("那10亿元以上的呢？", "签约5亿元以上项目多少个？", "签约10亿元以上项目多少个？"),
    ],
)
def test_an_elliptical_follow_up_keeps_the_measured_quantity(question: str, previous: str, expected: str) -> None:
    assert rewrite_followup(question, previous) == expected


def test_a_new_subject_keeps_the_question_word_and_its_measure_word() -> None:
    assert rewrite_followup("那高校毕业生呢？", "桐城县全年新增就业多少人？") == "桐城县高校毕业生多少人？"
