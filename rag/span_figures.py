"""Where the short answer to a figure question lies inside a span another reader picked: the one figure of the
asked kind the span overlaps, whole as the figure rules write it."""

from __future__ import annotations

import re

from rag.figure_text import asked_quantity, find_figures
from rag.parallel_items import names_another_item
from rag.text import split_sentences

_BEFORE_NOW = frozenset({"前", "以前", "之前"})
_HAN_ONLY_RE = re.compile(r"[\u4e00-\u9fff]+")


def span_figure(text: str, start: int, end: int, question: str) -> tuple[int, int] | None:
    """The character span in ``text`` of the one figure of the asked kind that ``text[start:end]`` overlaps,
    whole ("820米" → "约820米"; "32个国家和地区的146部" → "146部" for 多少部影片), or None when the span holds none
    ("156亿元" for 多少辆, "31支" for 多少名), several, or one whose clause names another item of a parallel pair
    than the question ("男生…4分02秒" for 女生). A bare number keeps the span's tail (a unit the figure rules do
    not know: "438.60分"), a time its "前" ("6000年前")."""
    bounds = [(a, b) for a, b in split_sentences(text) if a < end and start < b]
    if not bounds:
        return None
    a, b = min(x for x, _ in bounds), max(y for _, y in bounds)
    asked = asked_quantity(question)
    compact = question.replace(" ", "")
    found = [
        f
        for f in find_figures(text[a:b])
        if a + f.start < end
        and start < a + f.end  # overlaps the span
        and asked.accepts(f) >= 1.0
        and f.text.replace(" ", "") not in compact  # not a figure the question itself writes
    ]
    if len(found) != 1 or names_another_item(text[a:b], found[0].start, question):
        return None
    f = found[0]
    first, last = a + f.start, a + f.end
    tail = text[last:end]
    if (not f.unit and 0 < len(tail) <= 2 and _HAN_ONLY_RE.fullmatch(tail)) or (
        f.family == "time" and tail in _BEFORE_NOW
    ):
        last = end
    return first, last
