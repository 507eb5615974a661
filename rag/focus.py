"""What the reader reads when the retrieved passages are longer than its budget: the sentences that share the
most (rare) question characters, with the sentence before each, packed into a token budget and kept in passage
order — a sentence selector in front of the reader (Min et al., 2018, "Efficient and Robust Question Answering
from Minimal Context over Documents"), so reading costs one window instead of one per passage window."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise

from rag.text import split_sentences

# Characters that every question holds: they say nothing about where the answer is.
_QUESTION_CHARS = frozenset("的了是在和与及吗呢吧啊么什多少几哪谁怎样如何为请问有个这那其中一于")
_WORD_RE = re.compile(r"[\u3400-\u9fff]|[A-Za-z]+|\d+")
# The sentence before a matching one often names what it is about ("他说…", "其中…"): it is read as context.
CONTEXT_BEFORE = 0.5


@dataclass(frozen=True, slots=True)
class Piece:
    """A sentence of passage ``passage`` (``start:end``), chosen to be read."""

    passage: int
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class FocusedText:
    """The chosen pieces joined into one text (a line break between two pieces), and where each piece sits in it:
    ``origins[k]`` is the offset of ``pieces[k]`` in ``text``."""

    text: str
    pieces: tuple[Piece, ...]
    origins: tuple[int, ...]

    def source(self, start: int, end: int) -> tuple[int, int, int] | None:
        """The passage and its character span for ``text[start:end]``; None when the span crosses two pieces."""
        for piece, origin in zip(self.pieces, self.origins, strict=True):
            length = piece.end - piece.start
            if origin <= start and end <= origin + length:
                return piece.passage, piece.start + start - origin, piece.start + end - origin
        return None


def _units(text: str) -> list[str]:
    """Han characters, Latin words and numbers of ``text``."""
    return _WORD_RE.findall(text)


def _grams(text: str) -> set[str]:
    """The characters (words, numbers) of ``text`` and its pairs of adjacent ones, minus question characters."""
    units = _units(text)
    pairs = {a + b for a, b in pairwise(units) if a not in _QUESTION_CHARS and b not in _QUESTION_CHARS}
    return {u for u in units if u not in _QUESTION_CHARS} | pairs


def sentence_scores(question: str, sentences: Sequence[str]) -> list[float]:
    """How well each sentence matches the question: the inverse document frequency (over these sentences) of the
    question's characters and character pairs that the sentence holds; a pair counts twice."""
    asked = _grams(question)
    held = [_grams(s) & asked for s in sentences]
    df = Counter(g for h in held for g in h)
    n = len(sentences)
    scores = []
    for h in held:
        scores.append(sum((2.0 if len(g) > 1 else 1.0) * math.log((n + 1) / (df[g] + 0.5)) for g in h))
    return scores


def focus(
    question: str,
    passages: Sequence[str],
    *,
    budget: int,
    length: Callable[[str], int],
) -> FocusedText:
    """The sentences of ``passages`` worth reading within ``budget`` tokens (``length`` counts a text's tokens):
    the best-matching sentences first (a tie goes to the earlier passage), each with the sentence before it
    at half its score, until the budget is spent; joined in passage order."""
    spans = [(k, a, b) for k, p in enumerate(passages) for a, b in split_sentences(p)]
    if not spans:
        return FocusedText("", (), ())
    scores = sentence_scores(question, [passages[k][a:b] for k, a, b in spans])
    wanted = {i: s for i, s in enumerate(scores)}
    for i, s in enumerate(scores):
        if i > 0 and spans[i - 1][0] == spans[i][0]:
            wanted[i - 1] = max(wanted[i - 1], CONTEXT_BEFORE * s)
    order = sorted(range(len(spans)), key=lambda i: (-wanted[i], i))
    chosen: list[int] = []
    left = budget
    for i in order:
        k, a, b = spans[i]
        cost = length(passages[k][a:b])
        if cost <= left:
            chosen.append(i)
            left -= cost
        if left <= 0:
            break
    pieces = tuple(Piece(*spans[i]) for i in sorted(chosen))
    parts: list[str] = []
    origins: list[int] = []
    at = 0
    for piece in pieces:
        origins.append(at)
        parts.append(passages[piece.passage][piece.start : piece.end])
        at += piece.end - piece.start + 1
    return FocusedText("\n".join(parts), pieces, tuple(origins))
