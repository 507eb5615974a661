"""The benchmark scoring rules (shared/bench/README.md)."""

from __future__ import annotations

import pytest

from rag.evaluation import Question, RetrievalScores, answer_spans, cmrc_scores, contains_all, normalize_answer
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
