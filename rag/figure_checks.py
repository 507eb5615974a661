"""Whether a sentence's best figure may answer a figure question: the words a breakdown must carry itself, the
head noun said in the sentence before, and a qualifier that the passage names apart from the figure."""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.parallel_items import listed_items
from rag.quantities import FigureChoice
from rag.questions import Term, noun_words
from rag.text import split_sentences

_HAN_TAIL_RE = re.compile(r"[\u4e00-\u9fff]+$")
# Words before a noun that set its scope or time, not which item it is ("全县固定资产投资", "年末贷款余额").
_SCOPE_RE = re.compile(r"全[县市区省镇乡国年]|全社会|年[末底]|累计|共计|合计|其中|当年|今年|去年|本年|上年|全部|总计")


def own_focus(focus: list[Term], sentence: str, text: str, antecedent: tuple[int, int] | None) -> list[Term] | None:
    """The focus words a figure of ``sentence`` must carry in its own clause, or None when it cannot answer.

    A breakdown ("其中，铁路发送旅客696.3万人次；公路…") leaves the dates and names of the total it breaks down
    ("1月24日(春运第18天)") to that sentence; its content words it must carry itself. When the total lists its
    items ("铁路、公路、水路、民航共…"), the question must name something of the breakdown's own that the rest of
    the total's sentence does not hold, or it asks for the total."""
    if antecedent is None:
        return focus
    before = text[antecedent[0] : antecedent[1]].lower()
    lists = listed_items(before)
    low = sentence.lower()
    if lists:
        unlisted = _blank(before, [span for spans in lists for span in spans])
        if not any(t.match(low) > t.match(unlisted) for t in focus):
            return None
    return [t for t in focus if t.match(low) > 0 or not (t.specific and t.match(before) >= 1.0)]


def named_apart(question: str, choice: FigureChoice, focus: Sequence[Term], sentence: str, text: str) -> bool:
    """Whether the figure's clause names the asked noun with another qualifier while the passage names it with
    the question's qualifier elsewhere: 「各项贷款余额353.7亿元」 and 「绿色贷款稳步增长」 for 绿色贷款余额是多少 — the
    passage speaks of the asked item and this figure is another one's. The clause's own qualifier must be one the
    question does not write (「参加考试」 for 参加现场考试 is the same exam), and the question's qualifier must be
    missing from the clause and the clauses credited to it."""
    compact, low = question.replace(" ", "").lower(), text.lower()
    nouns = noun_words(question)
    own = sentence[choice.clause[0] : choice.clause[1]].lower()
    present = [t.text for t in focus if t.text not in choice.missing]
    for word in choice.missing:
        at = compact.find(word)
        if at < 0 or word not in nouns:  # a verb (完成) is no qualifier: another clause may put it with the noun
            continue
        after = compact[at + len(word) :]
        for noun in (t for t in present if after.startswith(t) and t in own):
            before = _HAN_TAIL_RE.search(own[: own.find(noun)])
            qualifier = before.group()[-2:] if before else ""
            if (
                qualifier
                and qualifier not in compact
                and not _SCOPE_RE.fullmatch(qualifier)
                and (word + noun in low or (noun in nouns and word in low))
            ):
                return True
            if (
                word not in low
                and noun in nouns
                and not _SCOPE_RE.search(word)
                and _qualified_apart(low, noun, compact)
            ):
                return True  # 服务业 asked, only 制造业's and the total given: the passage breaks it down otherwise
    return False


def _qualified_apart(low: str, noun: str, question: str) -> bool:
    """Whether the passage writes ``noun`` after a qualifier the question does not ("制造业实际使用外资")."""
    for m in re.finditer(re.escape(noun), low):
        tail = _HAN_TAIL_RE.search(low[: m.start()])
        qualifier = tail.group()[-2:] if tail else ""
        if qualifier and qualifier not in question and not _SCOPE_RE.fullmatch(qualifier):
            return True
    return False


def said_before(text: str, start: int, words: Sequence[str]) -> bool:
    """Whether one of ``words`` is in the sentence of ``text`` right before ``start`` (a heading-like lead,
    "正风反腐坚决有力。", or the ；-part before: "【工业】有规上企业28家；用电量1.86亿千瓦时")."""
    before = [(a, b) for a, b in split_sentences(text[:start]) if text[a:b].strip()]
    if not before:
        return False
    a, b = before[-1]
    previous = text[a:b].lower()
    return any(w in previous for w in words)


def _blank(text: str, spans: Sequence[tuple[int, int]]) -> str:
    chars = list(text)
    for a, b in spans:
        chars[a:b] = " " * (b - a)
    return "".join(chars)
