"""The reader's sentence selection: the best-matching sentences, the one before each, the budget, passage order
and the map back from the joined text to the passages."""

from __future__ import annotations

from rag.focus import focus, sentence_scores

PASSAGES = [
    "市政府召开常务会议。会议由市长王海主持。会议研究了防汛工作。",
    "据气象部门预计，今年汛期降雨偏多。全市共转移群众1.2万人。其中老人和儿童3400人。",
]


def _chars(text: str) -> int:
    return len(text)


def test_the_sentence_holding_the_rare_question_words_scores_highest() -> None:
    sentences = ["会议由市长王海主持。", "会议研究了防汛工作。", "全市共转移群众1.2万人。"]
    scores = sentence_scores("全市转移了多少群众？", sentences)
    assert scores.index(max(scores)) == 2
    assert scores[1] == 0.0  # nothing of the question in it


def test_a_tight_budget_keeps_the_best_sentence_and_the_one_before_it_in_passage_order() -> None:
    focused = focus("其中老人和儿童有多少人？", PASSAGES, budget=32, length=_chars)
    texts = [PASSAGES[p.passage][p.start : p.end] for p in focused.pieces]
    assert texts == ["全市共转移群众1.2万人。", "其中老人和儿童3400人。"]
    assert focused.text == "全市共转移群众1.2万人。\n其中老人和儿童3400人。"
    assert sum(_chars(t) for t in texts) <= 32


def test_a_budget_that_holds_everything_keeps_every_sentence_in_order() -> None:
    focused = focus("谁主持了会议？", PASSAGES, budget=10_000, length=_chars)
    assert [(p.passage, p.start) for p in focused.pieces] == sorted((p.passage, p.start) for p in focused.pieces)
    assert len(focused.pieces) == 6
    assert focused.text.replace("\n", "") == "".join(PASSAGES)


def test_a_span_of_the_joined_text_maps_back_to_its_passage() -> None:
    focused = focus("其中老人和儿童有多少人？", PASSAGES, budget=32, length=_chars)
    at = focused.text.index("3400人")
    passage, start, end = focused.source(at, at + len("3400人")) or (-1, -1, -1)
    assert passage == 1
    assert PASSAGES[1][start:end] == "3400人"
    line = focused.text.index("\n")
    assert focused.source(line - 2, line + 3) is None  # across two pieces: no passage span


def test_nothing_to_read_gives_an_empty_text() -> None:
    focused = focus("谁？", ["", "   "], budget=100, length=_chars)
    assert focused.text == ""
    assert focused.pieces == ()
