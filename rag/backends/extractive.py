"""Extractive answers without an LLM: the evidence sentences that best cover the question, cited, plus the
exact span (figure, date, name, place) that answers it, or a refusal when the evidence is too weak."""

from __future__ import annotations

import re
from collections.abc import Generator as PieceStream
from collections.abc import Sequence

from rag.questions import (
    AnswerKind,
    QuestionAnalysis,
    SentenceSupport,
    analyse_question,
    answer_spans,
    evidence_texts,
    pick_span,
    score_sentences,
    term_weights,
)
from rag.types import Draft, Hit

NOT_FOUND_ZH = "语料中没有找到能回答这个问题的内容。"
NOT_FOUND_EN = "Nothing in the corpus answers this question."
# A source's own reference marks ("…项目[3][4]", "[注 9]", Wikipedia style) would read as citation markers in
# the answer, so the quoted sentence leaves them out.
_REFERENCE_MARK_RE = re.compile(r"\[(?:注\s?)?\d{1,3}\]")


class ExtractiveGenerator:
    """Answers with verbatim evidence sentences and ``[n]`` markers; no model, a few ms per question."""

    name = "extractive"

    def __init__(
        self,
        *,
        min_support: float = 0.65,
        max_sentences: int = 2,
        context_credit: float = 0.3,
        missing_penalty: float = 0.5,
        second_min_gain: float = 0.15,
    ) -> None:
        self.min_support = min_support
        self.max_sentences = max_sentences
        self.context_credit = context_credit
        self.missing_penalty = missing_penalty
        self.second_min_gain = second_min_gain

    def generate(self, question: str, hits: Sequence[Hit]) -> PieceStream[str, None, Draft]:
        """Yield the cited sentence(s) piece by piece; return the short answer and whether it is grounded."""
        qa = analyse_question(question)
        chosen = self.choose(question, qa, hits)
        if chosen is None:
            yield NOT_FOUND_EN if qa.english else NOT_FOUND_ZH
            reason = "no passages were retrieved" if not hits else "the passages do not cover the question"
            return Draft(short_answer=None, grounded=False, reason=reason)
        short: str | None = None
        for k, c in enumerate(chosen):
            sentence = hits[c.hit_index].chunk.text[c.start : c.end]
            if k == 0:
                picked = pick_span(sentence, answer_spans(sentence, qa, question), qa)
                short = sentence[picked[0][0] : picked[0][1]].strip() if picked else None
            elif short:
                break  # the exact span is found: a second sentence would only dilute the answer
            quoted = _REFERENCE_MARK_RE.sub("", sentence).strip()
            yield ("" if k == 0 else " ") + f"{quoted} [{c.hit_index + 1}]"
        return Draft(short_answer=short or None, grounded=True)

    def choose(self, question: str, qa: QuestionAnalysis, hits: Sequence[Hit]) -> list[SentenceSupport] | None:
        """The best sentence and at most one that adds coverage; None when support is below ``min_support``."""
        if not hits or not qa.terms:
            return None
        evidence = evidence_texts(hits)
        weights = term_weights(qa.terms, evidence)
        scored = score_sentences(
            qa, hits, evidence, weights, context_credit=self.context_credit, missing_penalty=self.missing_penalty
        )
        cands = [c for c in scored if c.end - c.start >= 4]
        if not cands:
            return None
        cands.sort(key=lambda c: c.score, reverse=True)
        if qa.kind not in (AnswerKind.OTHER, AnswerKind.LIST):
            # Among the near-best, prefer a sentence that holds a candidate of the expected kind.
            top = cands[:8]
            best_score = top[0].score

            def typed(c: SentenceSupport) -> float:
                if c.score < best_score - 0.2:
                    return c.score
                sentence = hits[c.hit_index].chunk.text[c.start : c.end]
                picked = pick_span(sentence, answer_spans(sentence, qa, question), qa)
                if picked is None:
                    return c.score
                return c.score + 0.1 + (0.05 if picked[1] >= 3.0 else 0.0)

            cands = sorted(top, key=typed, reverse=True) + cands[8:]
        first = cands[0]
        if first.support < self.min_support:
            return None
        chosen = [first]
        if self.max_sentences >= 2:
            total = sum(weights.values()) or 1.0
            for c in cands[1:20]:
                gain = sum(weights[t] for t in c.covered - first.covered) / total
                if gain >= self.second_min_gain and c.support >= 0.5 * first.support and not _same(c, first):
                    chosen.append(c)
                    break
        return chosen[: self.max_sentences]


def _same(a: SentenceSupport, b: SentenceSupport) -> bool:
    return a.hit_index == b.hit_index and a.start < b.end and b.start < a.end
