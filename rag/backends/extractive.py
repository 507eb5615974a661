"""Extractive answers without an LLM: the evidence sentences that best cover the question, cited, plus the
exact span (figure, date, name, place) that answers it, or a refusal when the evidence is too weak."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Generator as PieceStream
from collections.abc import Sequence

from rag.evidence import (
    SentenceSupport,
    chain_focus,
    evidence_texts,
    names_another_of_kind,
    score_sentences,
    term_weights,
    title_topic,
)
from rag.figure_checks import named_apart, own_focus, said_before
from rag.protocols import Reader
from rag.quantities import (
    MIN_FOCUS,
    FigureChoice,
    asked_quantity,
    best_figure,
    clause_focus,
    counted_term,
    focus_terms,
)
from rag.questions import (
    AnswerKind,
    QuestionAnalysis,
    analyse_question,
    answer_spans,
    fits_kind,
    pick_span,
)
from rag.span_figures import span_figure
from rag.text import split_sentences
from rag.types import Draft, Hit, ReaderSpan

NOT_FOUND_ZH = "语料中没有找到能回答这个问题的内容。"
NOT_FOUND_EN = "Nothing in the corpus answers this question."
# A source's own reference marks ("…项目[3][4]", "[注 9]", Wikipedia style) would read as citation markers in
# the answer, so the quoted sentence leaves them out.
# The kinds of question that get a short answer from these rules. Names picked by part-of-speech tags (谁, 哪家,
# 哪里) were right for 12 of 69 person and 4 of 15 organisation questions of tests/fixtures/news_dev (often the
# reporter of the byline): such questions get the quoted sentence and no short answer.
SHORT_KINDS = frozenset({AnswerKind.FIGURE, AnswerKind.DATE, AnswerKind.TITLE})
# Kinds whose short answer the rules give when they find one (the clause figure, the date of the asked event);
# the reader answers every other question, and these when the rules find nothing.
RULE_KINDS = frozenset({AnswerKind.FIGURE, AnswerKind.DATE})
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
        subject_credit: float = 0.8,
        missing_penalty: float = 0.5,
        second_min_gain: float = 0.15,
        figure_margin: float = 0.25,
        figure_floor: float = 0.8,
        figure_pool: int = 12,
        figure_weight: float = 0.6,
        date_window: float = 0.5,
        date_weight: float = 0.6,
        short_kinds: frozenset[AnswerKind] = SHORT_KINDS,
        reader: Reader | None = None,
        reader_threshold: float | None = None,
        reader_passages: int = 2,
        rule_kinds: frozenset[AnswerKind] = RULE_KINDS,
        reader_refusal_floor: float = 0.7,
        reader_rule_floor: float = 0.8,
        reader_figure_floor: float = 0.7,
        reader_quote_floor: float = 0.4,
    ) -> None:
        self.min_support = min_support
        self.max_sentences = max_sentences
        self.context_credit = context_credit
        self.subject_credit = subject_credit
        self.missing_penalty = missing_penalty
        self.second_min_gain = second_min_gain
        self.figure_margin = figure_margin  # figure questions: sentences this close to the best support compete
        self.figure_floor = figure_floor  # … and at least this share of ``min_support``
        self.figure_pool = figure_pool
        self.figure_weight = figure_weight  # how much the best clause figure counts against sentence support
        self.date_window = date_window  # date questions: sentences this close to the best support compete
        self.date_weight = date_weight  # … and how much the asked event in the date's clause counts
        self.short_kinds = short_kinds
        self.reader = reader
        # The reader's own threshold (reader.json) unless one is set.
        default = getattr(reader, "threshold", None)
        self.reader_threshold = (
            reader_threshold if reader_threshold is not None else (default if default is not None else 0.5)
        )
        self.reader_passages = reader_passages
        self.rule_kinds = rule_kinds
        # Chosen on the dev sets (BENCHMARKS.md, "The learned reader"): at P ≥ 0.5 alone the reader gave 6 of 22
        # unanswerable RGB questions, 5 of 25 unanswerable seed questions and 11 more no-figure questions of
        # figure_dev a short answer.
        self.reader_refusal_floor = reader_refusal_floor
        self.reader_rule_floor = reader_rule_floor
        self.reader_figure_floor = reader_figure_floor
        # A span below the threshold but at least this likely still has its sentence quoted (no short answer).
        self.reader_quote_floor = reader_quote_floor

    def generate(self, question: str, hits: Sequence[Hit]) -> PieceStream[str, None, Draft]:
        """Yield the cited sentence(s) piece by piece; return the short answer and whether it is grounded."""
        qa = analyse_question(question)
        chosen = self.choose(question, qa, hits)
        probability: float | None = None
        if self.reader is not None and hits and not (qa.kind in self.rule_kinds and chosen and chosen[1]):
            chosen, probability = self._with_reader(question, qa, hits, chosen)
        if chosen is None:
            yield NOT_FOUND_EN if qa.english else NOT_FOUND_ZH
            reason = "no passages were retrieved" if not hits else "the passages do not cover the question"
            return Draft(short_answer=None, grounded=False, reason=reason)
        sentences, short = chosen
        for k, c in enumerate(sentences):
            sentence = hits[c.hit_index].chunk.text[c.start : c.end]
            quoted = _REFERENCE_MARK_RE.sub("", sentence).strip()
            yield ("" if k == 0 else " ") + f"{quoted} [{c.hit_index + 1}]"
        no_figure = qa.kind is AnswerKind.FIGURE and not short
        return Draft(short_answer=short or None, grounded=True, no_figure=no_figure, reader_probability=probability)

    def choose(
        self, question: str, qa: QuestionAnalysis, hits: Sequence[Hit]
    ) -> tuple[list[SentenceSupport], str | None] | None:
        """The evidence sentence(s) to quote and the short answer (an exact span of the first); None when the
        best support is below ``min_support``. A figure question takes the sentence whose best clause holds
        a figure of the asked kind for the asked quantity; when none does, it gets no short answer."""
        if not hits or not qa.terms:
            return None
        evidence = evidence_texts(hits)
        weights = term_weights(qa.terms, evidence)
        scored = score_sentences(
            qa,
            hits,
            evidence,
            weights,
            context_credit=self.context_credit,
            missing_penalty=self.missing_penalty,
            subject_credit=self.subject_credit,
            question=question,
        )
        cands = [c for c in scored if c.end - c.start >= 4]
        if not cands:
            return None
        cands.sort(key=lambda c: c.score, reverse=True)
        if cands[0].support < self.min_support:
            return None
        short: str | None = None
        if qa.kind is AnswerKind.FIGURE:
            cands, short = self._by_figure(question, qa, hits, cands, weights)
            if not cands:
                return None
        elif qa.kind not in (AnswerKind.OTHER, AnswerKind.LIST):
            cands, short = self._by_span(question, qa, hits, cands, weights)
            if qa.kind not in self.short_kinds:
                short = None  # the sentence is quoted; a name picked by rules would too often be the wrong one
        first = cands[0]
        chosen = [first]
        if self.max_sentences >= 2 and not short:
            total = sum(weights.values()) or 1.0
            for c in cands[1:20]:
                gain = sum(weights[t] for t in c.covered - first.covered) / total
                if gain >= self.second_min_gain and c.support >= 0.5 * first.support and not _same(c, first):
                    chosen.append(c)
                    break
        return chosen[: self.max_sentences], short

    def _with_reader(
        self,
        question: str,
        qa: QuestionAnalysis,
        hits: Sequence[Hit],
        chosen: tuple[list[SentenceSupport], str | None] | None,
    ) -> tuple[tuple[list[SentenceSupport], str | None] | None, float | None]:
        """The rules' choice revised by the reader: its span answers when confident; when unsure but not
        hopeless, the sentence it would answer from is quoted after the rules' one, with no short answer."""
        assert self.reader is not None
        # The reader needs more confidence to answer where the rules refused (the passages hardly cover the
        # question: unanswerable questions look like that) or where the figure rules found no figure (the
        # passage names the subject but states no figure: the reader then tends to pick another one).
        floor = self.reader_rule_floor if qa.kind in self.rule_kinds else 0.0
        if qa.kind is AnswerKind.FIGURE:
            # A figure question's span must hold a figure of the asked kind whose clause names no other item
            # (``rag.span_figures``), so it may answer at less: at 0.7, 8 more news_dev questions right and no
            # other answer of any dev set changed but fh-q013, 城镇 income answered with 农村's, and nd-u10, 女生
            # asked and 男生's time given, which that clause check then ruled out (BENCHMARKS.md, 2026-12-04).
            floor = self.reader_figure_floor
        if chosen is None:
            floor = max(floor, self.reader_refusal_floor)
        span = self.reader.read(question, [h.chunk.text for h in hits[: self.reader_passages]])
        read = self.accept(span, qa, hits, floor=floor, question=question)
        if read is not None:
            return ([read[0]], read[1]), read[2]
        if span is not None and chosen is not None and not chosen[1] and span.probability >= self.reader_quote_floor:
            where = _sentence_of(hits[span.passage].chunk.text, span)
            if not any(_same(where, c) for c in chosen[0]):
                return ([chosen[0][0], where], None), None
        return chosen, None

    def accept(
        self,
        span: ReaderSpan | None,
        qa: QuestionAnalysis,
        hits: Sequence[Hit],
        *,
        question: str,
        floor: float = 0.0,
    ) -> tuple[SentenceSupport, str, float] | None:
        """The reader's span when its calibrated probability reaches the threshold (and ``floor``) and it fits
        the question's kind: the sentence(s) holding it (to quote), the span (the short answer) and its
        probability; else None. A figure question's span must hold one figure of the asked kind, and the short
        answer is that figure whole (``rag.span_figures``)."""
        if span is None or span.probability < max(self.reader_threshold, floor) or not span.text.strip():
            return None
        if qa.kind is AnswerKind.FIGURE and not _has_digit(span.text):
            return None  # a figure question's short answer is a figure, never a phrase
        if not fits_kind(span.text, qa.kind):
            return None  # 哪家公司 answered with a person or a place
        text = hits[span.passage].chunk.text
        short = span.text.strip()
        if qa.kind is AnswerKind.FIGURE:
            figure = span_figure(text, span.start, span.end, question)
            if figure is None:
                return None
            span = dataclasses.replace(span, start=figure[0], end=figure[1], text=text[figure[0] : figure[1]])
            short = span.text
        return _sentence_of(text, span), short, span.probability

    def _by_figure(
        self,
        question: str,
        qa: QuestionAnalysis,
        hits: Sequence[Hit],
        cands: list[SentenceSupport],
        weights: dict[str, float],
    ) -> tuple[list[SentenceSupport], str | None]:
        """Sentences near the best support re-ordered by their best clause figure; the short answer is that
        figure when its clause carries the question's focus words (``MIN_FOCUS``)."""
        asked = asked_quantity(question)
        focus = focus_terms(qa.terms)
        floor = max(self.min_support * self.figure_floor, cands[0].support - self.figure_margin)
        pool = [c for c in cands[: self.figure_pool] if c.support >= floor]
        best: tuple[float, SentenceSupport, FigureChoice] | None = None
        for c in pool:
            text = hits[c.hit_index].chunk.text
            sentence = text[c.start : c.end]
            own = own_focus(focus, sentence, text, c.antecedent)
            if own and c.antecedent is None:
                own = chain_focus(own, sentence, text, c.start)
            topic = title_topic(qa.terms, question, hits[c.hit_index].title)
            if own and topic and not names_another_of_kind(topic, sentence.lower()):
                # the document's topic ("青柳半程马拉松"), named in its title
                own = [t for t in own if t.text not in topic]
            choice = best_figure(sentence, asked, own, weights, question) if own else None
            if choice is None or choice.focus < MIN_FOCUS:
                continue
            if choice.alone and not said_before(text, c.start, choice.alone):
                continue
            if choice.missing and named_apart(question, choice, own or [], sentence, text):
                continue
            rank = c.score + self.figure_weight * choice.strength
            if best is None or rank > best[0]:
                best = (rank, c, choice)
        if best is None:
            # "获得了多少枚金牌": no near-best sentence names the thing counted, so none is about the asked
            # quantity; a quote "without a figure" would be of something else.
            counted_word = counted_term(focus, question)
            counted = next((t for t in focus if t.text == counted_word), None)
            if counted is not None and not any(
                counted.match(hits[c.hit_index].chunk.text[c.start : c.end].lower()) >= 1.0 for c in pool
            ):
                return [], None
            return cands, None
        _, c, choice = best
        # The figure whole, as written, every qualifier kept ("几个工作日内办结" → "3个工作日内").
        short = choice.figure.text.strip()
        return [c] + [x for x in cands if x is not c], short or None

    def _by_span(
        self,
        question: str,
        qa: QuestionAnalysis,
        hits: Sequence[Hit],
        cands: list[SentenceSupport],
        weights: dict[str, float],
    ) -> tuple[list[SentenceSupport], str | None]:
        """Among the near-best, prefer a sentence that holds a candidate of the expected kind (date, name…). A
        date also needs the asked event in its own clause: the sentence with the most question words is often
        the dateline's ("新华社合肥3月12日电…"), while the asked date sits in a later one ("预计2026年6月建成投产")."""
        top = cands[:8]
        best_score = top[0].score
        picks: dict[int, tuple[tuple[int, int], float] | None] = {}
        dated = qa.kind is AnswerKind.DATE
        # The asked event: the question's words right around its question word ("预计什么时候建成投产").
        around = (*qa.left, *qa.right)
        focus = [t for t in focus_terms(qa.terms) if any(w in t.text for w in around)] if dated else []

        def typed(c: SentenceSupport) -> float:
            if c.score < best_score - (self.date_window if dated else 0.2):
                return c.score
            sentence = hits[c.hit_index].chunk.text[c.start : c.end]
            spans = answer_spans(sentence, qa, question)
            fit = 0.0
            if dated and spans and focus:
                fits = [clause_focus(sentence, s, focus, weights) for s, _ in spans]
                fit = max(fits)
                spans = [span for span, f in zip(spans, fits, strict=True) if f == fit]
            picked = picks[id(c)] = pick_span(sentence, spans, qa)
            if picked is None:
                return c.score
            return c.score + 0.1 + (0.05 if picked[1] >= 3.0 else 0.0) + self.date_weight * fit

        ordered = sorted(top, key=typed, reverse=True) + cands[8:]
        first = ordered[0]
        picked = picks.get(id(first))
        if picked is None:
            sentence = hits[first.hit_index].chunk.text[first.start : first.end]
            picked = pick_span(sentence, answer_spans(sentence, qa, question), qa)
        sentence = hits[first.hit_index].chunk.text[first.start : first.end]
        short = sentence[picked[0][0] : picked[0][1]].strip() if picked else None
        return ordered, short or None


def _sentence_of(text: str, span: ReaderSpan) -> SentenceSupport:
    """The sentence(s) of the passage that hold the span, as the quoted evidence."""
    bounds = [(a, b) for a, b in split_sentences(text) if a < span.end and span.start < b]
    start = min((a for a, _ in bounds), default=span.start)
    end = max((b for _, b in bounds), default=span.end)
    return SentenceSupport(span.passage, start, end, span.probability, frozenset(), span.probability)


_DIGIT_RE = re.compile(r"[\d〇零一二三四五六七八九十百千万亿两]")


def _has_digit(text: str) -> bool:
    return bool(_DIGIT_RE.search(text))


def _same(a: SentenceSupport, b: SentenceSupport) -> bool:
    return a.hit_index == b.hit_index and a.start < b.end and b.start < a.end
