"""The evidence re-ranking on hand-made hits: coverage, answers of the expected kind, and consensus."""

from __future__ import annotations

from rag.ranking import RankWeights, _bigrams, rerank
from rag.types import Chunk, Hit


def make_hit(text: str, n: int, *, score: float = 1.0) -> Hit:
    chunk = Chunk(id=f"c{n}", doc_id=f"d{n}", text=text, start=0, end=len(text), position=n)
    return Hit(chunk=chunk, score=score, title="", source=f"corpus/{n:03d}.txt")


def order(question: str, hits: list[Hit], **weights: float) -> list[str]:
    return [h.chunk.id for h in rerank(question, hits, weights=RankWeights(**weights) if weights else None)]


def test_bigrams_stay_inside_runs_of_word_characters() -> None:
    assert _bigrams("恒口，示范区GDP") == {"恒口", "示范", "范区", "区G", "GD", "DP"}
    assert _bigrams("，。") == set() and _bigrams("恒") == set()


def test_a_passage_holding_the_figure_asked_for_outranks_one_that_only_repeats_the_words() -> None:
    question = "恒口示范区新建标准化厂房多少平方米？"
    words_only = make_hit("恒口示范区高度重视新建标准化厂房工作，多次召开专题会议研究部署。", 0, score=1.0)
    figure = make_hit("恒口示范区新建标准化厂房3.1万平方米，引进企业12家。", 1, score=0.9)
    assert order(question, [words_only, figure]) == ["c1", "c0"]
    ranked = rerank(question, [words_only, figure])
    assert ranked[0].signals["answer"] == 1.0 and ranked[1].signals["answer"] == 0.0


def test_a_passage_missing_the_year_asked_about_is_pushed_down() -> None:
    question = "2021年安康新开工产业项目多少个？"
    other_year = make_hit("2019年安康新开工产业项目86个，完成投资120亿元。", 0, score=1.0)
    right_year = make_hit("2021年安康新开工产业项目102个，完成投资150亿元。", 1, score=0.95)
    assert order(question, [other_year, right_year]) == ["c1", "c0"]


def test_agreeing_candidates_lift_each_other_on_an_open_question() -> None:
    question = "恒口示范区如何推进乡村振兴？"
    # equal fused scores and equal coverage: only the consensus signal can separate them
    lone = make_hit("恒口示范区推进乡村振兴，举办了一场文艺演出活动。", 0, score=1.0)
    agreeing = make_hit("恒口示范区推进乡村振兴，发展富硒茶叶种植产业。", 1, score=1.0)
    support = make_hit("示范区各村发展富硒茶叶种植产业，带动群众增收。", 2, score=1.0)
    ranked = rerank(question, [lone, agreeing, support], weights=RankWeights(coverage=0.0, answer=0.0))
    by_id = {h.chunk.id: h for h in ranked}
    assert by_id["c1"].signals["consensus"] > by_id["c0"].signals["consensus"]
    assert [h.chunk.id for h in ranked].index("c1") < [h.chunk.id for h in ranked].index("c0")


def test_one_hit_or_a_question_without_content_words_keeps_the_order() -> None:
    hits = [make_hit("第一段。", 0, score=1.0), make_hit("第二段。", 1, score=0.5)]
    assert order("恒口示范区？", hits[:1]) == ["c0"]
    assert [h.score for h in rerank("？", hits)] == [1.0, 0.5]
