"""Evidence scoring shared by re-ranking and answering: how well each sentence of the retrieved chunks covers
the question's words, with IDF-like weights estimated from the hits themselves."""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePath

from rag.figure_text import HAN_RE as _HAN_RE
from rag.figure_text import find_figures
from rag.quantities import GENERIC_MEASURES
from rag.questions import AnswerKind, QuestionAnalysis, Term
from rag.text import split_sentences
from rag.types import Hit


@functools.lru_cache(maxsize=4096)
def _sentences(text: str) -> tuple[tuple[int, int], ...]:
    """``split_sentences`` of a chunk, cached: re-ranking and the answer backend both read the same chunks."""
    return tuple(split_sentences(text))


@dataclass(frozen=True, slots=True)
class SentenceSupport:
    """One evidence sentence with its support (weighted question coverage, in [0, 1])."""

    hit_index: int
    start: int
    end: int
    support: float
    covered: frozenset[str]
    score: float
    # The sentence this one continues ("其中，…" after the total it breaks down): its words are this one's too.
    antecedent: tuple[int, int] | None = None


# A sentence opening with 其中 breaks down the one before it: "年末共有971个气象站。其中，无人值守气象站931个。"
CONTINUES_RE = re.compile(r"\s*其中")
CONTINUED_CREDIT = 0.9
# The parts of a ；-chain share the subject its first part names before its first figure ("江城市市属国有企业实现
# 营业收入1,268.5亿元…；利润总额84.3亿元…；上缴税费61.9亿元"): a later part holds those words at this credit.
LEAD_CREDIT = 0.6


def _context(hit: Hit) -> str:
    """What a hit says about itself beyond its chunk text: title, date and file name (years, places)."""
    return " ".join(x for x in (hit.title, hit.date or "", PurePath(hit.source).stem, hit.chunk.heading or "") if x)


def evidence_texts(hits: Sequence[Hit]) -> list[str]:
    """Each hit as the scorer sees it: lower-cased chunk text plus its context."""
    return [(hit.chunk.text + " " + _context(hit)).lower() for hit in hits]


def term_weights(terms: Sequence[Term], evidence: Sequence[str]) -> dict[str, float]:
    """IDF-like weights estimated from the hits themselves: a word the evidence rarely holds tells most."""
    n = len(evidence)
    weights = {}
    for term in terms:
        df = sum(term.match(e) >= 1.0 for e in evidence)
        idf = math.log(1.0 + (n + 1) / (df + 0.5))
        weights[term.text] = (
            idf
            * (1.5 if term.specific else 1.0)
            * (0.5 if len(term.text) == 1 else 1.0)
            * (0.3 if term.category else 1.0)
        )
    return weights


def score_sentences(
    qa: QuestionAnalysis,
    hits: Sequence[Hit],
    evidence: Sequence[str],
    weights: dict[str, float],
    *,
    context_credit: float,
    missing_penalty: float,
    subject_credit: float = 0.0,
    question: str = "",
) -> list[SentenceSupport]:
    """Every sentence of every hit with its support: the weighted share of the question's words it holds
    (words found only elsewhere in its hit count ``context_credit``), times ``missing_penalty`` for each
    specific word (year, name) that its hit lacks. The question's subject (its year and leading place) found
    elsewhere in the hit counts ``subject_credit``: a report states them once for all its sentences; so do the
    words after them that the hit's title writes as one phrase (``title_topic``, given the ``question``). A sentence
    that opens with 其中 holds the words of the sentence it breaks down at ``CONTINUED_CREDIT``."""
    total = sum(weights.values()) or 1.0
    out: list[SentenceSupport] = []
    # A report states its year and place once, in its opening chunk: a later chunk of the same document that
    # was retrieved with it has them too ("【运输】全年完成…货运量1,180万吨" of 峡口县's 2019 yearbook entry).
    documents: dict[str, str] = {}
    for hit, ev in zip(hits, evidence, strict=True):
        documents[hit.chunk.doc_id] = documents.get(hit.chunk.doc_id, "") + " " + ev
    for i, (hit, ev) in enumerate(zip(hits, evidence, strict=True)):
        text = hit.chunk.text
        document = documents[hit.chunk.doc_id]
        in_hit = {t.text: t.match(ev) or (t.match(document) if t.specific else 0.0) for t in qa.terms}
        missing = sum(1 for t in qa.terms if t.specific and in_hit[t.text] == 0.0)
        penalty = missing_penalty**missing
        prior = 0.02 * (len(hits) - i) / len(hits)
        # each word's weight, and the credit it gets in any sentence of this hit from being elsewhere in it
        # (figure questions: a date or a name in a sentence without the topic answers something else too often)
        topic = title_topic(qa.terms, question, hit.title) if question and qa.kind is AnswerKind.FIGURE else ()
        floors = [
            (t, weights[t.text], (subject_credit if t.subject or t.text in topic else context_credit) * in_hit[t.text])
            for t in qa.terms
        ]
        plain = [(t, w, context_credit * in_hit[t.text] if t.text in topic else f) for t, w, f in floors]
        previous: tuple[int, int] | None = None
        antecedent: tuple[int, int] | None = None
        lead = ""
        for start, end in _sentences(text):
            chained = antecedent is not None
            sentence = text[start:end].lower()
            in_chain = previous is not None and text[previous[0] : previous[1]].rstrip()[-1:] in ("；", ";")
            if not in_chain:
                lead = sentence_lead(sentence)
            if previous is not None and CONTINUES_RE.match(sentence):
                antecedent = previous
            elif not (
                chained and previous is not None and text[previous[0] : previous[1]].rstrip()[-1:] in ("；", ";")
            ):
                antecedent = None  # … and so do the ；-separated parts that follow it, up to the sentence end
            before = text[antecedent[0] : antecedent[1]].lower() if antecedent else ""
            got = 0.0
            covered = set()
            for t, weight, floor in plain if topic and names_another_of_kind(topic, sentence) else floors:
                m = t.match(sentence)
                if m > 0:
                    covered.add(t.text)
                elif before:
                    m = CONTINUED_CREDIT * t.match(before)
                elif in_chain and lead:
                    m = LEAD_CREDIT * t.match(lead)
                got += weight * max(m, floor)
            support = penalty * got / total
            out.append(SentenceSupport(i, start, end, support, frozenset(covered), support + prior, antecedent))
            previous = (start, end)
    return out


def sentence_lead(sentence: str) -> str:
    """What a sentence says before its first figure: the subject that the later parts of its ；-chain share."""
    figures = find_figures(sentence)
    return sentence[: figures[0].start] if figures else ""


def chain_head(text: str, start: int) -> tuple[int, int] | None:
    """The first part of the ；-chain whose later part starts at ``start`` of ``text``; None when the sentence there
    starts a sentence of its own."""
    spans = _sentences(text)
    k = next((i for i, (a, _) in enumerate(spans) if a == start), None)
    if not k:
        return None
    first = k
    while first > 0 and text[spans[first - 1][0] : spans[first - 1][1]].rstrip()[-1:] in ("；", ";"):
        first -= 1
    return spans[first] if first < k else None


def chain_focus(focus: list[Term], sentence: str, text: str, start: int) -> list[Term]:
    """A later part of a ；-chain ("…市属国有企业实现营业收入…；利润总额84.3亿元，增长9.2%；…") has the subject its
    first part names before its first figure: when the part names something asked that the first part does not
    (利润总额), the subject's words need not be in its own clauses."""
    head = chain_head(text, start)
    if head is None:
        return focus
    first = text[head[0] : head[1]].lower()
    low = sentence.lower()
    if not any(t.match(low) >= 1.0 and t.match(first) == 0.0 for t in focus):
        return focus
    lead = sentence_lead(first)
    return [t for t in focus if t.match(low) > 0 or t.match(lead) < 1.0]


_TITLE_CHARS = 48  # longer "titles" are a passage's first line
_TITLE_GAP = 2  # characters the title may put between two of the topic's words ("长河湾国际半程马拉松")


def title_topic(terms: Sequence[Term], question: str, title: str) -> tuple[str, ...]:
    """The words the question opens with (after its place and year) that the hit's title writes in that order:
    「青柳半程马拉松男子组冠军成绩是多少」 over 「2024年青柳半程马拉松赛事综述」 → 青柳, 半程, 马拉松. The document is
    about them, as a report is about its place: its sentences need not repeat them. In question order."""
    low, head = question.lower(), title.lower()
    if not head or len(head) > _TITLE_CHARS:
        return ()  # no title, or a passage's opening taken for one
    rest = low
    for t in terms:
        if t.subject:
            rest = rest.replace(t.text, "", 1)
    rest = rest.lstrip()
    words: list[str] = []
    content = [t for t in terms if not t.subject]
    at = 0
    # In the title in the question's order, maybe apart ("长河湾半程马拉松" in 「首届长河湾国际半程马拉松举行」);
    # at least one of the question's words that is no generic measure stays its own (「雁栖新材料完成8亿元C轮融资」 for
    # 「…C轮融资金额是多少」: 融资, as 金额 is any amount).
    last = max((k for k, t in enumerate(content) if t.text not in GENERIC_MEASURES), default=0)
    for t in content[:last]:
        found = head.find(t.text, at)
        if not rest.startswith(t.text) or found < 0 or (words and found - at > _TITLE_GAP):
            break
        at = found + len(t.text)
        words.append(t.text)
        rest = rest[len(t.text) :]
    return tuple(words) if sum(map(len, words)) >= 3 else ()


def names_another_of_kind(topic: Sequence[str], sentence: str) -> bool:
    """Whether ``sentence`` writes the topic's head word after other characters than the topic's: 「德大铁路全长
    290公里」 in the article on 德龙烟铁路 is about another railway, so the topic's words are not its own; 「假期八天…」
    in a report on the 国庆假期 is about the same holiday."""
    if len(topic) < 2:
        return False
    head, prefix = topic[-1], topic[-2]
    for m in re.finditer(re.escape(head), sentence):
        before = sentence[: m.start()]
        if not before.endswith(prefix) and _HAN_RE.match(before[-1:]):
            return True
    return False
