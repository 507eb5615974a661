"""Figure questions: which figure of a sentence answers the question — the one whose clause carries the
question's focus words, of the asked kind — or none, when no clause gives a figure of the asked kind for the
asked quantity. What a figure is, and which kind a question asks for: ``rag.figure_text``."""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from rag.figure_text import (
    HAN_RE,
    MEASURE_RE,
    AskedQuantity,
    FigureSpan,
    asked_quantity,
    clauses,
    find_figures,
    measure_word,
)
from rag.parallel_items import (
    SLOT_RE,
    TermLike,
    clause_match,
    contrasts,
    lead_of,
    respective,
    total_of_listed,
    words_of,
)

__all__ = [
    "MIN_FOCUS",
    "AskedQuantity",
    "FigureChoice",
    "FigureSpan",
    "asked_quantity",
    "best_figure",
    "clauses",
    "figure_choices",
    "find_figures",
    "focus_terms",
    "measure_word",
]


@dataclass(frozen=True, slots=True)
class FigureChoice:
    """The figure of a sentence that answers, with how well its clause carries the question's focus words."""

    figure: FigureSpan
    focus: float  # weighted share of the focus words found around the figure (own clause counts whole)
    score: float  # focus, how telling its words are in this sentence, type fit, adjacency: compares figures
    strength: float  # the same without what is relative to this sentence: compares sentences
    # The focus words besides the head noun when the sentence holds none of them: the sentence before must
    # ("正风反腐坚决有力。…立案145件"), or the figure is another item's ("小学52所，在校生2.97万人").
    alone: tuple[str, ...] = ()
    # Focus words the figure's clause and the clauses credited to it do not hold (at most the rest of the
    # sentence does): a passage that names them with another focus word elsewhere speaks of another item.
    missing: tuple[str, ...] = ()
    clause: tuple[int, int] = (0, 0)  # the figure's clause, as offsets in the sentence


_SOFT_CREDIT = (0.5, 0.25)  # focus words one and two clauses before the figure's, in the same ；-group
_AFTER_CREDIT = 0.2  # the clause after ("4120人，其中…")
_SENTENCE_CREDIT = 0.1  # anywhere else in the sentence
MIN_FOCUS = 0.5  # below this the figure's clause is not about the asked quantity: no short answer


_T = TypeVar("_T", bound=TermLike)


def focus_terms(terms: Sequence[_T]) -> list[_T]:
    """The words that govern the asked quantity: the question's words except its subject (its years and the
    place it starts with, which a passage states once for all its clauses). Other names and figures asked
    about as conditions ("10亿元以上") stay: they tell clauses apart."""
    return [t for t in terms if not t.subject]


def best_figure(
    sentence: str, asked: AskedQuantity, focus: Sequence[TermLike], weights: Mapping[str, float], question: str
) -> FigureChoice | None:
    """The figure of ``sentence`` of the asked kind whose clause best carries the focus words, or None. A
    figure whose clause carries too little of them (below ``MIN_FOCUS``) is chosen only when no other does."""
    choices = figure_choices(sentence, asked, focus, weights, question)
    return max(choices, key=lambda c: (c.focus >= MIN_FOCUS, c.score), default=None)


def figure_choices(
    sentence: str, asked: AskedQuantity, focus: Sequence[TermLike], weights: Mapping[str, float], question: str
) -> list[FigureChoice]:
    """Each figure of ``sentence`` of the asked kind, scored by how well its clause carries the focus words.

    A focus word counts whole in the figure's own clause and less in the clauses before it (of the same
    ；-delimited group), except that an elliptical clause ("…项目64个，新开工41个，新竣工29个") inherits the
    words of the clauses it continues almost whole. To rank figures, words are also weighted by how few of
    the sentence's clauses hold them: the word that tells "城镇" from "农村" matters most. A clause that
    adds a condition the question lacks (another figure: "其中5亿元以上项目18个"), or that counts new things
    when the total is asked (or the reverse), does not answer."""
    compact_question = question.replace(" ", "")
    figures = [f for f in find_figures(sentence) if f.text.replace(" ", "") not in compact_question]
    if not figures:
        return []
    low = sentence.lower()
    spans = clauses(sentence)
    hard = [bool(re.match(r"[；;。！？!?]", sentence[e : e + 1])) for _, e in spans]  # group ends after clause k
    # A generic measure noun ("补贴标准", "收入水平") that the sentence never writes ("每户补贴5000至10000元"):
    # no clause carries it, so it tells none apart and is not asked of any.
    focus = [t for t in focus if not (t.text in GENERIC_MEASURES and clause_match(t, low) == 0.0)]
    texts = [low[s:e] for s, e in spans]
    matches = {t.text: [clause_match(t, c) for c in texts] for t in focus}
    n = len(spans)
    clause_of = {f.start: next((i for i, (s, e) in enumerate(spans) if s <= f.start < e), n - 1) for f in figures}
    counted = counted_term(focus, question)
    fits = {f.start: asked.accepts(f) or _general_measure(f, asked, low, counted) for f in figures}
    accepted = {clause_of[f.start] for f in figures if fits[f.start] > 0.0}
    distinct = {
        t.text: weights.get(t.text, 1.0) * math.log(1.0 + n / max(1, sum(m > 0 for m in matches[t.text])))
        for t in focus
    }
    positions = {t.text: [m.start() for m in re.finditer(re.escape(t.text), low)] for t in focus}
    towards = bool(_TOWARDS_ASK.search(question))
    stock_asked, flow_asked = bool(_STOCK.search(question)), bool(_FLOW.search(question))
    head = counted or _head_term(focus, question)
    head_pairs = [
        (a.text, b.text)
        for a, b in itertools.pairwise(focus)
        if head in (a.text, b.text) and a.text + b.text in compact_question.lower()
    ]
    boost = {t.text: (_HEAD_BOOST if t.text == head else 1.0) for t in focus}
    total = sum(weights.get(t.text, 1.0) * boost[t.text] for t in focus)
    topic = _topic_clauses(sentence, spans, figures)
    cue = _slot_cue(compact_question.lower())
    in_list = respective(sentence, low, spans, figures, focus, weights, question)
    out: list[FigureChoice] = []
    for f in figures:
        fit = fits[f.start]
        if fit == 0.0:
            continue
        k = clause_of[f.start]
        own = low[spans[k][0] : f.start] + " " + low[f.end : spans[k][1]]
        if stock_asked != flow_asked and _counts_the_other(own, stock_asked=stock_asked):
            continue
        if total_of_listed(lead_of(sentence, f.start).lower(), compact_question.lower()):
            continue
        alone: tuple[str, ...] = ()
        missing: tuple[str, ...] = ()
        content = "".join(HAN_RE.findall(_FILLER_RE.sub("", _BYLINE_RE.sub("", own))))
        unexplained = _unexplained(content, focus, compact_question)
        # A clause that opens with what the clause before it brought about ("发放普惠小微贷款64.3亿元，惠及小微企业
        # 和个体工商户1.27万户") has that clause as its subject, and its own words name what the figure counts.
        continues = bool(_CONTINUES_RE.match(low[spans[k][0] : f.start].lstrip(" ，,、")))
        elliptical = (len(content) <= _ELLIPTICAL_CHARS and not unexplained) or continues
        credit = _credit(k, n, hard, elliptical=elliptical, topic=topic)
        if total > 0:
            got = {t.text: max(m * credit[i] for i, m in enumerate(matches[t.text])) for t in focus}
            cover = sum(weights.get(x, 1.0) * boost[x] * v for x, v in got.items()) / total
            telling = sum(distinct[x] * boost[x] * v for x, v in got.items()) / (
                sum(distinct[x] * boost[x] for x in distinct) or 1.0
            )
            others = tuple(x for x in got if x != head)
            if others and not any(got[x] for x in others):
                alone = others  # the head noun alone ("在校生2.97万人" of 小学 for 中等职业学校在校生)
            missing = tuple(x for x, v in got.items() if v < _AFTER_CREDIT)
        else:
            cover = telling = 1.0
        if _CONDITION_RE.search(_strip_known(own, compact_question)):
            cover *= _CONDITION_PENALTY  # "10亿元以上项目7个" when the question asks about all 亿元以上项目
            telling *= _CONDITION_PENALTY
        names_counted = bool(counted) and low[f.end : f.end + len(counted)] == counted
        group_before = [texts[j] for j in range(k - 1, -1, -1) if not any(hard[j:k])]  # nearest first
        rest = [texts[j] for j in range(n) if j != k]
        if contrasts(own, compact_question, [texts[j] for j in accepted if j != k], group_before, rest):
            cover = min(cover, MIN_FOCUS - 0.01)  # "农村居民…17,640元" for 城镇居民, "新建改造…42座" for 新建
            telling *= _CONDITION_PENALTY
        if not names_counted and _names_a_later_item(matches, k, accepted):
            # "案件926件，其中…食品药品安全领域178件" asked about 食品药品: the total never answers
            cover = min(cover * _CONDITION_PENALTY, MIN_FOCUS - 0.01)
            telling *= _CONDITION_PENALTY
        precision = 1.0 - len(unexplained) / len(content) if content else 1.0
        if (
            precision < _MIN_PRECISION
            and not names_counted
            and not continues
            and _phrase_before(low[spans[k][0] : f.start], focus) + _phrase_after(low[f.end : spans[k][1]], focus) < 2
        ):
            # the clause is about something else ("发放产业奖补资金…"), unless the figure counts the very thing
            # asked ("新建第三中学和城东小学两所学校") or the asked phrase leads straight to it ("…的决定不起诉1,287人")
            cover = min(cover, MIN_FOCUS - 0.01)
        near = _nearness(f, low, positions, counted)
        phrase = _phrase_bonus(own, low, spans, head_pairs)
        before = low[max(0, f.start - 3) : f.start]
        direction = 0.0
        if towards:
            direction = 0.3 if re.search(r"[至到]$", before) else -0.3 if re.search(r"[由从]$", before) else 0.0
        if f.start in in_list:  # "A、B分别达到152家、3327家": the figure in the asked item's place
            cover = max(cover, MIN_FOCUS) if in_list[f.start] > 0 else cover
            direction += in_list[f.start]
        if f.start not in in_list and _stands_at_slot(low[: f.start], cue):
            near += _SLOT_BONUS  # "提供风险保障多少" → "提供风险保障98.2亿元": the figure stands where the slot does
        strength = cover + 0.3 * fit + near + phrase + direction + 0.2 * precision
        score = strength - 0.5 * cover + 0.5 * telling - 0.0005 * f.start
        out.append(FigureChoice(f, cover, score, strength, alone, missing, spans[k]))
    return out


def _slot_cue(question: str) -> str:
    """The characters the question writes right before its slot, less a linking verb, up to six ("提供风险保障多少"
    → 提供风险保障)."""
    slot = SLOT_RE.search(question)
    if not slot:
        return ""
    before = re.sub(r"(?:是|为|有|达到|达|约|共|了|共有|一共|总共)+$", "", question[: slot.start()])
    tail = re.search(r"[\u4e00-\u9fff]{3,6}$", before)
    return tail.group() if tail else ""


def _stands_at_slot(before: str, cue: str) -> bool:
    """Whether the text right before a figure ends with at least four of the cue's last characters (all of a
    shorter cue): "风险保障98.2亿元" for "提供风险保障多少", not the "收入" of "税收收入7.85亿元" for
    "预算收入是多少"."""
    need = min(4, len(cue))
    return bool(cue) and before.endswith(cue[-need:])


def _general_measure(f: FigureSpan, asked: AskedQuantity, low: str, counted: str) -> float:
    """0.5 for a count written with the general measure word 个 right after the thing counted ("医院58个") when the
    question asks with another ("多少家医院"); else 0."""
    if f.unit != "个" or asked.family != "count" or not asked.unit or not counted:
        return 0.0
    return 0.5 if low[: f.start].endswith(counted) else 0.0


def _nearness(f: FigureSpan, low: str, positions: Mapping[str, Sequence[int]], counted: str) -> float:
    """A focus word right before the figure (or just after it), and the counted noun right after it."""
    near = 0.0
    for text, found in positions.items():
        for p in found:
            if 0 <= f.start - (p + len(text)) <= 3 or 0 <= p - f.end <= 2:
                near = max(near, 0.15 if p < f.start else 0.1)
    if counted and low[f.end : f.end + 1 + len(counted)].find(counted) in (0, 1):
        near += _COUNTED_BONUS  # "多少个安置点" → "98个安置点"
    return near


def _phrase_bonus(own: str, low: str, spans: Sequence[tuple[int, int]], head_pairs: Sequence[tuple[str, str]]) -> float:
    """The words of the asked quantity as one phrase ("完成投资", "网格员") in the figure's clause, and in no
    other; less when both words stand apart ("网格管理员" for "网格员")."""
    phrase = 0.0
    for a, b in head_pairs:
        if a + b in own:
            if sum(a + b in low[x:y] for x, y in spans) == 1:
                phrase += _PHRASE_BONUS
        elif a in own and b in own:
            phrase -= _PHRASE_BONUS / 2
    return phrase


def counted_term(focus: Sequence[TermLike], question: str) -> str:
    """The focus word right after the measure word ("在多少个安置点…" → 安置点): the thing counted, which the
    evidence writes right after its figure ("在98个安置点…")."""
    m = MEASURE_RE.search(question)
    if not m or not m.group("unit"):
        return ""
    after = question.lower()[m.end() : m.end() + 12]
    found = [(after.find(t.text), -len(t.text), t.text) for t in focus if 0 <= after.find(t.text) <= 1]
    return min(found)[2] if found else ""


def _head_term(focus: Sequence[TermLike], question: str) -> str:
    """The focus word nearest before the asked slot ("…中企业有多少户" → 企业): what is counted or measured."""
    slot = SLOT_RE.search(question)
    end = slot.start() if slot else len(question)
    low = question.lower()[:end]
    best, at = "", -1
    for t in focus:
        i = low.rfind(t.text)
        if i > at:
            best, at = t.text, i
    return best


def _topic_clauses(sentence: str, spans: Sequence[tuple[int, int]], figures: Sequence[FigureSpan]) -> int:
    """How many clauses open the sentence without a figure ("易地扶贫搬迁方面，…", "2019年，南塘县…，"):
    they set the frame for every clause after them."""
    starts = [f.start for f in figures]
    k = 0
    for s, e in spans:
        if any(s <= x < e for x in starts):
            break
        k += 1
    return k if k < len(spans) else 0


def _unexplained(content: str, focus: Sequence[TermLike], question: str = "") -> str:
    """The characters of ``content`` that no focus word (or its part or synonym) accounts for, nor a word of
    the question itself (its place, its year)."""
    rest = content
    for t in sorted(focus, key=lambda t: -len(t.text)):
        for w in (t.text, *t.alts, *t.parts):
            if len(w) >= 1 and w in rest:
                rest = rest.replace(w, "")
    if question and rest:
        rest = "".join(w for w in words_of(rest) if len(w) < 2 or w not in question)
    return rest


def _phrase_before(before: str, focus: Sequence[TermLike]) -> int:
    """How many focus words (or synonyms) stand one after another right before the figure, ending at it."""
    words = sorted({w for t in focus for w in (t.text, *t.alts) if w}, key=len, reverse=True)
    rest, count = before.rstrip(), 0
    while rest:
        rest = re.sub(r"[了为达到共计约是有的]$", "", rest)
        word = next((w for w in words if rest.endswith(w)), None)
        if word is None:
            break
        rest, count = rest[: -len(word)], count + 1
    return count


def _phrase_after(after: str, focus: Sequence[TermLike]) -> int:
    """1 when a focus word follows the figure at once or after 的 ("为期5天的活动" for "活动为期几天"), else 0."""
    rest = re.sub(r"^的", "", after)
    return int(any(rest.startswith(w) for t in focus for w in (t.text, *t.alts) if w))


def _names_a_later_item(matches: Mapping[str, Sequence[float]], k: int, accepted: set[int]) -> bool:
    """Whether a focus word missing from clause ``k`` and from every clause before it is in a later clause that
    holds a figure of the asked kind: the question names an item the sentence breaks down after this figure
    ("…926件，其中…食品药品安全领域178件", "有规上企业28家，年内新增4家"), so this figure is the total, not it."""
    for found in matches.values():
        if any(found[: k + 1]):
            continue
        if any(found[j] > 0 for j in accepted if j > k):
            return True
    return False


_DATE_ONLY = re.compile(r"\d+|[年月日号至到]|（[^）]*）|\([^)]*\)|本报讯|讯")


def clause_focus(sentence: str, start: int, focus: Sequence[TermLike], weights: Mapping[str, float]) -> float:
    """The weighted share of the focus words in the clause of ``sentence`` that holds position ``start`` (the
    clause before it counting half: "第二期工程计划新增古籍2万种，将于2026年完成"). It tells the date of the asked
    event from the dateline's ("新华社合肥3月12日电…" holds the place, not "建成投产")."""
    total = sum(weights.get(t.text, 1.0) for t in focus)
    if not total:
        return 0.0
    spans = clauses(sentence)
    k = next((i for i, (s, e) in enumerate(spans) if s <= start < e), len(spans) - 1)
    if k + 1 < len(spans) and not HAN_RE.search(_DATE_ONLY.sub("", sentence[spans[k][0] : spans[k][1]])):
        k += 1  # "5月20日，湖州市…考试顺利结束": a clause that is only the date dates the next one
    own = sentence[spans[k][0] : spans[k][1]].lower()
    prev = sentence[spans[k - 1][0] : spans[k - 1][1]].lower() if k else ""
    got = sum(
        weights.get(t.text, 1.0) * max(clause_match(t, own), 0.5 * clause_match(t, prev) if prev else 0.0)
        for t in focus
    )
    return got / total


def _strip_known(text: str, question: str) -> str:
    """``text`` without the figures the question itself states ("5亿元以上" asked about)."""
    return re.sub(r"\d+(?:\.\d+)?", lambda m: "" if m.group() in question else m.group(), text)


def _counts_the_other(clause: str, *, stock_asked: bool) -> bool:
    """A clause counting new things when the question asks for a total ("新增…23家" for "总数是多少家"), or a
    total when it asks for the new ones."""
    if stock_asked:
        return bool(_FLOW.search(clause)) and not _STOCK.search(clause)
    return bool(_STOCK.search(clause)) and not _FLOW.search(clause)


_TOWARDS_ASK = re.compile(r"(?:降|减|缩短|缩小|压缩|提高|提升|增加|增长|上升|升|恢复|扩大)(?:到|至)")
_STOCK = re.compile(r"总数|总量|总计|共有|现有|累计|保有量|总规模|实有|余额|总[\u4e00-\u9fff]{1,3}\s*$")
_FLOW = re.compile(r"新增|净增|新建|新认定|新培育|新引进|新招|当年新|发放")
# A figure stated as a condition inside a clause: "其中签约5亿元以上项目18个".
_CONDITION_RE = re.compile(
    r"\d+(?:\.\d+)?\s?(?:万亿|亿|千万|百万|万|千)?[\u4e00-\u9fff]{0,3}?(?:以上|以下|及以上|以内)"
    r"|(?:超过|超|逾|高于|低于|不足|不到)\d+(?:\.\d+)?\s?(?:万亿|亿|千万|百万|万|千)?"
)
# Measure nouns a question adds that reports leave out ("补贴标准是多少" → "每户补贴5000至10000元").
GENERIC_MEASURES = frozenset("标准 水平 规模 数量 情况 幅度 比例 金额 数额 成绩".split())
_CONDITION_PENALTY = 0.6
_HEAD_BOOST = 2.0
_COUNTED_BONUS = 0.4
_PHRASE_BONUS = 0.2
_SLOT_BONUS = 0.15
_MIN_PRECISION = 0.3


# Words that carry no content of their own in a clause ("其中", "分别", "达到"): not what makes it elliptical.
_FILLER_RE = re.compile(r"其中|分别|共计|累计|合计|达到|全年|同比|[比较](?:上年|去年)(?:末|同期)?|增长|、|\s")
# A news item's dateline and byline, said before its first clause: no content of the clause.
_BYLINE_RE = re.compile(r"本报讯|新华社[^，。]{0,14}?电|[（(]记者[^）)]{0,16}[）)]")
_ELLIPTICAL_CHARS = 4  # a clause with at most this many content characters besides its figure continues another
_INHERITED_CREDIT = 0.8
# Verbs of what a measure brought about, opening a clause whose subject is the clause before.
_CONTINUES_RE = re.compile(r"(?:惠及|覆盖|带动|辐射|受益|吸纳|拉动)")


def _credit(k: int, n: int, hard: Sequence[bool], *, elliptical: bool, topic: int) -> list[float]:
    """How much a focus word found in each clause counts for a figure in clause ``k``."""
    credit = [_SENTENCE_CREDIT] * n
    for i in range(min(topic, k)):
        credit[i] = _INHERITED_CREDIT
    credit[k] = 1.0
    steps = tuple(_INHERITED_CREDIT * 0.95**j for j in range(k)) if elliptical else _SOFT_CREDIT
    for back, value in enumerate(steps, 1):
        i = k - back
        if i < 0 or hard[i]:
            break
        credit[i] = value
    if k + 1 < n and not hard[k]:
        credit[k + 1] = _AFTER_CREDIT
    return credit
