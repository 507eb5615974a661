"""The final ranking of fused candidates: question coverage, an answer of the expected kind, and agreement
between candidates on that answer, on top of the fused retrieval rank."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace

from rag.evidence import evidence_texts, score_sentences, term_weights
from rag.questions import AnswerKind, analyse_question, answer_spans
from rag.types import Hit


@dataclass(frozen=True, slots=True)
class RankWeights:
    """How much each signal adds to the normalised fused score (which counts 1)."""

    coverage: float = 0.5
    answer: float = 0.2
    consensus: float = 0.2


DEFAULT_WEIGHTS = RankWeights()


class EvidenceReranker:
    """The default ``Reranker``: fused score plus question coverage, an answer of the asked kind and agreement
    between candidates (``rerank`` below)."""

    def __init__(
        self,
        *,
        coverage: float = DEFAULT_WEIGHTS.coverage,
        answer: float = DEFAULT_WEIGHTS.answer,
        consensus: float = DEFAULT_WEIGHTS.consensus,
    ) -> None:
        self.weights = RankWeights(coverage, answer, consensus)

    def rerank(self, question: str, hits: Sequence[Hit]) -> list[Hit]:
        return rerank(question, hits, weights=self.weights)


_WORD_CHARS = re.compile(r"\w+")  # letters, digits and CJK characters (str patterns are Unicode)


def _bigrams(text: str) -> set[str]:
    """Character bigrams within runs of word characters: what two candidates' answers share, for questions
    whose answer is not of a kind we can pick out (a figure, a date, a name), without segmenting words."""
    return {run[i : i + 2] for run in _WORD_CHARS.findall(text) for i in range(len(run) - 1)}


def rerank(question: str, hits: Sequence[Hit], *, weights: RankWeights | None = None) -> list[Hit]:
    """``hits`` (best first, scored by fusion) re-ordered by fused score plus evidence signals.

    Signals, each in [0, 1]: *coverage* — the weighted share of the question's words that the chunk holds
    plus that of its best sentence (specific words such as years and names weigh more, and a chunk missing
    one is penalised); *answer* — its best sentences hold a span of the kind the question asks for (a
    figure for 多少, a date for 何时, a person for 谁 …); *consensus* — other candidates hold the same
    answer span, as redundant sources of one fact tend to.
    """
    weights = weights or DEFAULT_WEIGHTS
    if len(hits) < 2:
        return list(hits)
    qa = analyse_question(question)
    if not qa.terms:
        return list(hits)
    evidence = evidence_texts(hits)
    w = term_weights(qa.terms, evidence)
    total = sum(w.values()) or 1.0
    sentences = score_sentences(qa, hits, evidence, w, context_credit=0.0, missing_penalty=0.5)
    by_hit: dict[int, list[tuple[float, int, int]]] = defaultdict(list)
    for s in sentences:
        by_hit[s.hit_index].append((s.support, s.start, s.end))

    answers: list[set[str]] = []
    best_support: list[float] = []
    question_grams = _bigrams(question)
    for i, hit in enumerate(hits):
        ranked = sorted(by_hit.get(i, []), reverse=True)[:2]
        best_support.append(ranked[0][0] if ranked else 0.0)
        found: set[str] = set()
        for _, start, end in ranked:
            sentence = hit.chunk.text[start:end]
            if qa.kind in (AnswerKind.OTHER, AnswerKind.LIST):
                found |= _bigrams(sentence) - question_grams
            else:
                found |= {sentence[s:e].replace(" ", "") for s, e in answer_spans(sentence, qa, question)}
        answers.append(found)

    support_of: dict[str, float] = defaultdict(float)
    for i, found in enumerate(answers):
        for a in found:
            support_of[a] += 1.0 / (i + 1)
    top = hits[0].score or 1.0
    out = []
    for i, (hit, ev) in enumerate(zip(hits, evidence, strict=True)):
        coverage = sum(w[t.text] * t.match(ev) for t in qa.terms) / total
        typed = float(qa.kind not in (AnswerKind.OTHER, AnswerKind.LIST) and bool(answers[i]))
        agree = max((support_of[a] - 1.0 / (i + 1) for a in answers[i]), default=0.0)
        agree = min(agree, 2.0) / 2.0
        score = (
            hit.score / top
            + weights.coverage * (coverage + best_support[i])
            + weights.answer * typed
            + weights.consensus * agree
        )
        signals = {**hit.signals, "fused": hit.score, "coverage": coverage, "sentence": best_support[i]}
        signals |= {"answer": typed, "consensus": agree}
        out.append(replace(hit, score=score, signals=signals))
    out.sort(key=lambda h: -h.score)
    return out
