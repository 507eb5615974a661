"""Figure questions: which figure of a sentence answers the question — the one whose clause carries the
question's focus words, of the asked kind — or none, when no clause gives a figure of the asked kind for the
asked quantity. What a figure is, and which kind a question asks for: ``rag.figure_text``."""

from __future__ import annotations

import functools
import itertools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from rag.figure_text import (
    HAN_RE,
    IDENTIFIER_RE,
    MEASURE_RE,
    AskedQuantity,
    FigureSpan,
    asked_quantity,
    clauses,
    find_figures,
    identifier_in,
    measure_word,
)
from rag.text import cut_words

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


class _Term(Protocol):
    """A content word of the question (``rag.questions.Term``)."""

    @property
    def text(self) -> str: ...
    @property
    def parts(self) -> tuple[str, ...]: ...
    @property
    def alts(self) -> tuple[str, ...]: ...
    @property
    def subject(self) -> bool: ...

    def match(self, text: str) -> float: ...


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


_T = TypeVar("_T", bound=_Term)


def focus_terms(terms: Sequence[_T]) -> list[_T]:
    """The words that govern the asked quantity: the question's words except its subject (its years and the
    place it starts with, which a passage states once for all its clauses). Other names and figures asked
    about as conditions ("10亿元以上") stay: they tell clauses apart."""
    return [t for t in terms if not t.subject]


def best_figure(
    sentence: str, asked: AskedQuantity, focus: Sequence[_Term], weights: Mapping[str, float], question: str
) -> FigureChoice | None:
    """The figure of ``sentence`` of the asked kind whose clause best carries the focus words, or None. A
    figure whose clause carries too little of them (below ``MIN_FOCUS``) is chosen only when no other does."""
    choices = figure_choices(sentence, asked, focus, weights, question)
    return max(choices, key=lambda c: (c.focus >= MIN_FOCUS, c.score), default=None)


def figure_choices(
    sentence: str, asked: AskedQuantity, focus: Sequence[_Term], weights: Mapping[str, float], question: str
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
    focus = [t for t in focus if not (t.text in _GENERIC_MEASURES and _clause_match(t, low) == 0.0)]
    texts = [low[s:e] for s, e in spans]
    matches = {t.text: [_clause_match(t, c) for c in texts] for t in focus}
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
    respective = _respective(sentence, low, spans, figures, focus, weights, question)
    out: list[FigureChoice] = []
    for f in figures:
        fit = fits[f.start]
        if fit == 0.0:
            continue
        k = clause_of[f.start]
        own = low[spans[k][0] : f.start] + " " + low[f.end : spans[k][1]]
        if stock_asked != flow_asked and _counts_the_other(own, stock_asked=stock_asked):
            continue
        if _total_of_listed(_lead(sentence, f.start).lower(), compact_question.lower()):
            continue
        alone: tuple[str, ...] = ()
        missing: tuple[str, ...] = ()
        content = "".join(HAN_RE.findall(_FILLER_RE.sub("", own)))
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
        if _contrasts(own, compact_question, [texts[j] for j in accepted if j != k], group_before):
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
            and _phrase_before(low[spans[k][0] : f.start], focus) < 2
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
        if f.start in respective:  # "A、B分别达到152家、3327家": the figure in the asked item's place
            cover = max(cover, MIN_FOCUS) if respective[f.start] > 0 else cover
            direction += respective[f.start]
        if cue and f.start not in respective and low[: f.start].endswith(cue):
            near += _SLOT_BONUS  # "提供风险保障多少" → "提供风险保障98.2亿元": the figure stands where the slot does
        strength = cover + 0.3 * fit + near + phrase + direction + 0.2 * precision
        score = strength - 0.5 * cover + 0.5 * telling - 0.0005 * f.start
        out.append(FigureChoice(f, cover, score, strength, alone, missing, spans[k]))
    return out


def _slot_cue(question: str) -> str:
    """The two characters the question writes right before its slot ("风险保障多少" → 保障), less a linking verb."""
    slot = _SLOT_RE.search(question)
    if not slot:
        return ""
    before = re.sub(r"(?:是|为|有|达到|达|约|共|了|共有|一共|总共)+$", "", question[: slot.start()])
    tail = re.search(r"[\u4e00-\u9fff]{2}$", before)
    return tail.group() if tail else ""


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


def _respective(
    sentence: str,
    low: str,
    spans: Sequence[tuple[int, int]],
    figures: Sequence[FigureSpan],
    focus: Sequence[_Term],
    weights: Mapping[str, float],
    question: str = "",
) -> dict[int, float]:
    """For "A、B分别…X、Y" (or "A…，B…，分别…X和Y"): a bonus for the figure in the place of the item the focus
    words name best, a penalty for the others, by figure start; empty when the sentence has no such list.
    Where the question's words name more than one item, the one named nearest the asked slot is asked: a
    Chinese noun phrase ends with its head ("安全事故死亡人数" counts deaths, "死亡事故起数" accidents)."""
    out: dict[int, float] = {}
    for m in re.finditer("分别", sentence):
        k = next((i for i, (s, e) in enumerate(spans) if s <= m.start() < e), None)
        if k is None:
            continue
        listed = [f for f in figures if m.end() <= f.start < _group_end(sentence, spans, k)]
        listed = [
            f for i, f in enumerate(listed) if i == 0 or _JOINER_RE.fullmatch(sentence[listed[i - 1].end : f.start])
        ]
        if len(listed) < 2:
            continue
        cut = max(sentence.rfind(c, 0, m.start()) for c in "，,；;。：:！？!?")
        head = re.sub(r"^\s*其中[，,]?", "", sentence[cut + 1 : m.start()])  # "其中风电、光伏装机分别为…"
        items = [x for x in _ITEM_SPLIT_RE.split(head) if x]
        region = head + (sentence[spans[k - 1][0] : spans[k - 1][1]] if k else "")
        if len(listed) == 2 and "城乡" in region and not re.search("城镇|城市|农村|乡村", region):
            items = list(_URBAN_RURAL)  # "城乡居民人均可支配收入分别为…": urban first, then rural
        if len(items) >= 2:  # a shared modifier stands before the first item ("…企业获得电力、用水时间")
            items = _trimmed(items)
        if len(items) != len(listed) and k:  # the items are listed in the clause before ("二孩、三孩家庭，分别…")
            items = [x for x in _ITEM_SPLIT_RE.split(sentence[spans[k - 1][0] : spans[k - 1][1]]) if x]
            if len(items) >= 2:
                items = _trimmed(items)
        if len(items) != len(listed):  # the items are the clauses before, each with its figure
            items = [sentence[s:e] for s, e in spans[max(0, k - len(listed)) : k]]
        if len(items) != len(listed):
            continue
        named = {t.text: [_clause_match(t, item.lower()) for item in items] for t in focus}
        scores = [sum(weights.get(t, 1.0) * m[i] for t, m in named.items()) for i in range(len(items))]
        headed = _item_named_last(named, question)
        if headed is not None:
            scores = [1.0 if i == headed else 0.0 for i in range(len(items))]
        best = max(scores)
        if best <= 0 or scores.count(best) > 1:
            continue
        for f, score in zip(listed, scores, strict=True):
            out[f.start] = _RESPECTIVE_BONUS if score == best else -_RESPECTIVE_BONUS
    return out


def _item_named_last(named: Mapping[str, Sequence[float]], question: str) -> int | None:
    """Which item the question names last before its slot, when its words name different items ("生产安全事故
    死亡人数": 安全事故 the first, 死亡 the second → the second); None when they name one item or none."""
    slot = _SLOT_RE.search(question)
    low = question.lower()[: slot.start() if slot else len(question)]
    telling = [(low.rfind(t), m) for t, m in named.items() if 0 < sum(x > 0 for x in m) < len(m) and t in low]
    items = {max(range(len(m)), key=m.__getitem__) for _, m in telling}
    if len(items) < 2:
        return None
    _, last = max(telling, key=lambda x: x[0])
    return max(range(len(last)), key=last.__getitem__)


def _trimmed(items: list[str]) -> list[str]:
    """A list's items cut to their own words: the first loses the modifier it shares with the rest ("企业获得电力"
    → "电力"), the last the noun it shares ("城市、农村低保标准" → "农村", "二孩、三孩家庭" → "三孩")."""
    first = items[0][-max(len(x) for x in items[1:]) :]
    width = max(len(x) for x in [first, *items[1:-1]])
    return [first, *items[1:-1], items[-1][:width]]


def _group_end(sentence: str, spans: Sequence[tuple[int, int]], k: int) -> int:
    """Where the ；-group of clause ``k`` ends."""
    for _, e in spans[k:]:
        if re.match(r"[；;。！？!?]", sentence[e : e + 1]):
            return e
    return len(sentence)


def counted_term(focus: Sequence[_Term], question: str) -> str:
    """The focus word right after the measure word ("在多少个安置点…" → 安置点): the thing counted, which the
    evidence writes right after its figure ("在98个安置点…")."""
    m = MEASURE_RE.search(question)
    if not m or not m.group("unit"):
        return ""
    after = question.lower()[m.end() : m.end() + 12]
    found = [(after.find(t.text), -len(t.text), t.text) for t in focus if 0 <= after.find(t.text) <= 1]
    return min(found)[2] if found else ""


def _head_term(focus: Sequence[_Term], question: str) -> str:
    """The focus word nearest before the asked slot ("…中企业有多少户" → 企业): what is counted or measured."""
    slot = _SLOT_RE.search(question)
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


def _unexplained(content: str, focus: Sequence[_Term], question: str = "") -> str:
    """The characters of ``content`` that no focus word (or its part or synonym) accounts for, nor a word of
    the question itself (its place, its year)."""
    rest = content
    for t in sorted(focus, key=lambda t: -len(t.text)):
        for w in (t.text, *t.alts, *t.parts):
            if len(w) >= 1 and w in rest:
                rest = rest.replace(w, "")
    if question and rest:
        rest = "".join(w for w in _words(rest) if len(w) < 2 or w not in question)
    return rest


# Words that name one of several parallel items of a report ("城镇/农村", "新建/改造", "出口/进口"): a figure
# whose clause names another item of a group than the question does answers something else.
_CONTRAST_GROUPS = tuple(
    frozenset(g.split())
    for g in (
        "城镇 农村 城市 乡村 全体",
        "财产险 人身险 寿险",
        "风电 光伏 水电 火电 核电",
        "水稻 小麦 玉米 大豆",
        "出口 进口",
        "新建 改造 改扩建 扩建 续建",
        "新开工 开工 竣工 签约 投产",
        "国家级 省级 市级 县级 镇级 乡级 村级",
        "职工 居民",
        "一审 二审 再审",
        "幼儿园 小学 初中 高中",
        "博士 硕士 本科",
        "第一产业 第二产业 第三产业",
        "国道 省道 县道 乡道 村道",
        "男性 女性 男子 女子 男生 女生",
        "公办 民办",
        "批准逮捕 起诉 不起诉",
    )
)
_URBAN_RURAL = ("城镇城市", "农村乡村")


def _contrasts(own: str, question: str, others: Sequence[str], before: Sequence[str] = ()) -> bool:
    """Whether the figure's clause names other items of a parallel group than the question: only others
    ("农村居民…17,640元" asked about 城镇居民), or several together while another clause of the asked kind names
    just the asked one ("新建改造公厕42座，其中新建18座" asked about 新建). A clause that names no item of a group
    has those of the nearest clause ``before`` it in its ；-group that names one ("全体居民人均消费支出…，其中人均
    服务性消费支出…"); ``before`` is nearest first."""
    words, asked = _words(own), _words(question)
    for group in _CONTRAST_GROUPS:
        want = _members(group, asked)
        if not want or len(want) == len(group):
            continue
        have = _members(group, words) or next(
            (m for m in (_members(group, _words(b)) for b in before) if m), frozenset()
        )
        if have and not have & want:
            return True
        if len(have) > 1 and have != want and any(_members(group, _words(o)) == want for o in others):
            return True
    return False


def names_another_item(sentence: str, start: int, question: str) -> bool:
    """Whether the clause of ``sentence`` holding the figure at ``start`` names only other items of a parallel
    group than the question does ("男生1000米跑平均成绩为4分02秒" for a question on 女生; "农村居民…" for 城镇)."""
    spans = clauses(sentence)
    s, e = next(((a, b) for a, b in spans if a <= start < b), (0, len(sentence)))
    return _contrasts(sentence[s:e].lower(), question.replace(" ", "").lower(), [])


def _members(group: frozenset[str], words: frozenset[str]) -> frozenset[str]:
    """The items of ``group`` that start a word of ``words`` ("农村居民" → 农村; "进出口" holds no 出口)."""
    return frozenset(g for g in group if any(w.startswith(g) for w in words))


def _phrase_before(before: str, focus: Sequence[_Term]) -> int:
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


@functools.lru_cache(maxsize=8192)
def _words(text: str) -> frozenset[str]:
    """Words of ``text`` in jieba's precise mode ("加工贸易" stays one word), cached per clause."""
    return frozenset(cut_words(text))


def _clause_match(term: _Term, clause: str) -> float:
    """1 when the word (or a synonym) is in the clause; for a part of it, credit only where the part stands as a
    word there ("出口" in "出口312.8亿元", not in "进出口总额")."""
    if IDENTIFIER_RE.fullmatch(term.text):
        return 1.0 if identifier_in(term.text, clause) else 0.0
    if term.text in clause or any(a in clause for a in term.alts):
        return 1.0
    if not term.parts:
        return 0.0
    words = _words(clause)
    found = [len(p) for p in term.parts if p in words]
    return 0.8 * max(found) / len(term.text) if found else 0.0


_DATE_ONLY = re.compile(r"\d+|[年月日号至到]|（[^）]*）|\([^)]*\)|本报讯|讯")


def clause_focus(sentence: str, start: int, focus: Sequence[_Term], weights: Mapping[str, float]) -> float:
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
        weights.get(t.text, 1.0) * max(_clause_match(t, own), 0.5 * _clause_match(t, prev) if prev else 0.0)
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


_LIST_RE = re.compile(r"(?:[\u4e00-\u9fff]{1,8}、)+[\u4e00-\u9fff]{1,8}")
_TOTAL_WORD_RE = re.compile(r"共计|合计|总计|一共|总共|共")


def listed_items(text: str) -> list[list[tuple[int, int]]]:
    """The enumerations of ``text`` ("铁路、公路、水路、民航共…"), each as the spans of its items' cores. The first
    item may carry the list's modifier ("全国铁路") and the last runs into the rest ("民航共发送"), so both are cut
    to the width of the items between them (or, in a two-item list, of the shorter one, at most 4)."""
    out: list[list[tuple[int, int]]] = []
    for m in _LIST_RE.finditer(text):
        items = m.group().split("、")
        inner = [len(x) for x in items[1:-1]]
        width = min(inner) if inner else min(len(items[0]), len(items[-1]), 4)
        spans: list[tuple[int, int]] = []
        pos = m.start()
        for k, item in enumerate(items):
            if k == 0:
                spans.append((pos + max(0, len(item) - width), pos + len(item)))
            elif k == len(items) - 1:
                spans.append((pos, pos + min(width, len(item))))
            else:
                spans.append((pos, pos + len(item)))
            pos += len(item) + 1
        out.append(spans)
    return out


def _lead(sentence: str, start: int) -> str:
    """The words before ``start`` back to the last comma, colon or sentence end (enumerations kept whole)."""
    cut = max(sentence.rfind(p, 0, start) for p in "，,；;。：:")
    return sentence[cut + 1 : start]


def _total_of_listed(lead: str, question: str) -> bool:
    """A figure that totals a list of items ("铁路、公路、水路、民航共发送旅客2904.2万人次") when the question names
    some of the items but not all: it asks for one item's figure, which this is not."""
    for items in listed_items(lead):
        end = items[-1][1]
        if not _TOTAL_WORD_RE.search(lead[end : end + 8]):
            continue
        # The question writes the list as the text does ("无预算、超预算支出共计多少"): it asks for the total.
        if all(lead[max(0, a[1] - 2) : b[0] + 2] in question for a, b in itertools.pairwise(items)):
            continue
        named = [lead[a:b] in question for a, b in items]
        if any(named) and not all(named):
            return True
    return False


_TOWARDS_ASK = re.compile(r"(?:降|减|缩短|缩小|压缩|提高|提升|增加|增长|上升|升|恢复|扩大)(?:到|至)")
_STOCK = re.compile(r"总数|总量|总计|共有|现有|累计|保有量|总规模|实有|余额|总[\u4e00-\u9fff]{1,3}\s*$")
_FLOW = re.compile(r"新增|净增|新建|新认定|新培育|新引进|新招|当年新|发放")
# A figure stated as a condition inside a clause: "其中签约5亿元以上项目18个".
_CONDITION_RE = re.compile(
    r"\d+(?:\.\d+)?\s?(?:万亿|亿|千万|百万|万|千)?[\u4e00-\u9fff]{0,3}?(?:以上|以下|及以上|以内)"
    r"|(?:超过|超|逾|高于|低于|不足|不到)\d+(?:\.\d+)?\s?(?:万亿|亿|千万|百万|万|千)?"
)
# Measure nouns a question adds that reports leave out ("补贴标准是多少" → "每户补贴5000至10000元").
_GENERIC_MEASURES = frozenset("标准 水平 规模 数量 情况 幅度 比例 金额 数额".split())
_CONDITION_PENALTY = 0.6
_HEAD_BOOST = 2.0
_COUNTED_BONUS = 0.4
_RESPECTIVE_BONUS = 0.5
_JOINER_RE = re.compile(r"\s*(?:、|和|及|与|,|，)\s*")
_ITEM_SPLIT_RE = re.compile(r"、|和|及|与")
_PHRASE_BONUS = 0.2
_SLOT_BONUS = 0.15
_MIN_PRECISION = 0.3
_SLOT_RE = re.compile(r"多少|几|是多少|有多少|百分之几")


# Words that carry no content of their own in a clause ("其中", "分别", "达到"): not what makes it elliptical.
_FILLER_RE = re.compile(r"其中|分别|共计|累计|合计|达到|全年|同比|[比较](?:上年|去年)(?:末|同期)?|增长|、|\s")
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
