"""The benchmark scoring rules (shared/bench/README.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.errors import ConfigError
from rag.tools.evaluation import (
    AnswerScores,
    Question,
    RetrievalScores,
    answer_spans,
    cmrc_scores,
    contains_all,
    load_questions,
    normalize_answer,
    short_answer_ok,
)
from rag.types import Chunk, Hit


def test_cmrc_normalisation_and_scores() -> None:
    assert normalize_answer("「战史演武」&「争霸演武」 ") == "战史演武争霸演武"
    assert cmrc_scores("光荣和ω-force", ["光荣和ω-force"]) == (1.0, 1.0)
    em, f1 = cmrc_scores("光荣公司", ["光荣和ω-force"])
    assert em == 0.0 and f1 == pytest.approx(2 * (2 / 4) * (2 / 9) / (2 / 4 + 2 / 9))  # "光荣和ωforce": 9 characters
    assert cmrc_scores("无关", ["光荣"]) == (0.0, 0.0)


def test_containment_needs_every_group() -> None:
    groups = [["东盟"], ["中国", "我国"]]
    assert contains_all("东盟和我国", groups)
    assert not contains_all("东盟", groups)


def test_answer_span_is_the_occurrence_nearest_the_recorded_start() -> None:
    q = Question("q", "?", ["北京"], answer_starts=[9])
    assert answer_spans(q, "北京很大。我去过北京。") == [(8, 10)]


def test_retrieval_scores_hit_at_k_mrr_and_chunk_level() -> None:
    q = Question("q", "?", ["5341万元"], gold_docs={"gold"}, answer_starts=[3])
    text = "收入为5341万元。其他内容。"
    doc_text = {"gold": text}.get
    hits = [
        Hit(Chunk("x", "other", "别的", 0, 2), 1.0),
        Hit(Chunk("g2", "gold", text[10:], 10, len(text)), 0.9),
        Hit(Chunk("g1", "gold", text[:10], 0, 10), 0.8),
    ]
    scores = RetrievalScores()
    scores.add(q, hits, doc_text)
    s = scores.summary()
    assert (s["hit@1"], s["hit@5"], s["mrr@10"]) == (0.0, 1.0, 0.5)
    assert (s["chunk_hit@1"], s["chunk_hit@5"]) == (0.0, 1.0)  # only the chunk holding the answer span counts


def test_short_answer_ok_needs_the_whole_figure() -> None:
    assert short_answer_ok("1205件", ["1205件"])
    assert short_answer_ok("约3.1万平方米", ["3.1万平方米"])  # a qualifier more is still the figure
    assert not short_answer_ok("1205", ["1205件"])  # the unit dropped
    assert not short_answer_ok("2.6万", ["2.6万户"])
    assert not short_answer_ok("全年办理各类案件1205件", ["1205件"])  # a sentence is not a short answer
    assert not short_answer_ok(None, ["1205件"])


def answer(text: str, short: str | None, *, grounded: bool = True) -> dict[str, object]:
    return {"answer": text, "short_answer": short, "grounded": grounded}


def test_answer_scores_count_what_a_user_sees() -> None:
    scores = AnswerScores()
    q = Question("q", "?", ["1350人"], answer_groups=[["1350人"]])
    scores.add(q, answer("其中高校毕业生就业1350人 [1]", "1350人"))  # right
    scores.add(q, answer("全年新增城镇就业4120人 [1]", "4120人"))  # wrong, and grounded with a real citation
    scores.add(q, answer("其中高校毕业生就业1350人 [1]", "4120人"))  # wrong short answer, right sentence
    scores.add(q, answer("语料中没有找到能回答这个问题的内容。", None, grounded=False))  # refused
    no_figure = Question("n", "?", [])
    scores.add(no_figure, answer("蓄水量达到近20年最高水平 [1]", None))  # right: no figure given
    scores.add(no_figure, answer("蓄水量达到近20年最高水平 [1]", "近20年"))  # wrong
    scores.error(q, "question is empty")
    s = scores.summary()
    assert s["answerable"] == 5 and s["unanswerable"] == 2 and s["errors"] == 1
    assert s["short_ok"] == 1 / 5 and s["false_refusals"] == 2 / 5
    assert s["wrong_but_grounded"] == 1 / 5  # of the five grounded answers, one holds no gold string
    assert s["short_wrong"] == pytest.approx(3 / 7, abs=1e-4)
    assert s["refused_unanswerable"] == 0.0


def test_unreadable_question_lines_are_reported_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "questions.jsonl"
    good = json.dumps({"id": "a", "question": "多少?", "answers": ["1个"], "passage_id": "p"})
    path.write_text(f"{good}\n{{broken\n" + json.dumps({"id": "b"}) + "\n", encoding="utf-8")
    errors: list[str] = []
    assert [q.id for q in load_questions(path, errors=errors)] == ["a"]
    assert len(errors) == 2 and errors[0].startswith("line 2:") and errors[1].startswith("line 3:")
    with pytest.raises(ConfigError, match="line 2"):
        load_questions(path)
