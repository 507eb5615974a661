"""Parallel items of report sentences: the groups whose items a figure's clause may name instead of the asked one
(城镇/农村, 新建/改造…), the lists that 分别 maps onto figures, and the totals of listed items — and which item the
question's words name. Used by ``rag.quantities`` to pick a sentence's figure."""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Mapping, Sequence
from typing import Protocol

from rag.figure_text import IDENTIFIER_RE, FigureSpan, clauses, identifier_in
from rag.text import cut_words

SLOT_RE = re.compile(r"多少|几|是多少|有多少|百分之几")

_RESPECTIVE_BONUS = 0.5

_JOINER_RE = re.compile(r"\s*(?:、|和|及|与|,|，)\s*")

_ITEM_SPLIT_RE = re.compile(r"、|和|及|与")


class TermLike(Protocol):
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


def respective(
    sentence: str,
    low: str,
    spans: Sequence[tuple[int, int]],
    figures: Sequence[FigureSpan],
    focus: Sequence[TermLike],
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
        named = {t.text: [clause_match(t, item.lower()) for item in items] for t in focus}
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
    slot = SLOT_RE.search(question)
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


# Words that name one of several parallel items of a report ("城镇/农村", "新建/改造", "出口/进口"): a figure
# whose clause names another item of a group than the question does answers something else.
_CONTRAST_GROUPS = tuple(
    frozenset(g.split())
    for g in (
        "城镇 农村 城市 乡村 全体",
        "财产险 人身险 寿险",
        "风电 光伏 水电 火电 核电",
        "水稻 小麦 玉米 大豆",
        "存款 贷款",
        "5a 4a 3a 2a 1a",  # graded scenic areas (text is lower-cased)
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


def contrasts(
    own: str, question: str, others: Sequence[str], before: Sequence[str] = (), elsewhere: Sequence[str] = ()
) -> bool:
    """Whether the figure's clause names other items of a parallel group than the question: only others
    ("农村居民…17,640元" asked about 城镇居民), or several together while another clause of the asked kind names
    just the asked one ("新建改造公厕42座，其中新建18座" asked about 新建). A clause that names no item of a group
    has those of the nearest clause ``before`` it in its ；-group that names one ("全体居民人均消费支出…，其中人均
    服务性消费支出…"); ``before`` is nearest first. A clause with no item at all is a total when the sentence's other
    clauses (``elsewhere``) name only other items ("A级旅游景区12家，其中4A级景区4家" asked about 5A)."""
    words, asked = words_of(own), words_of(question.lower())
    for group in _CONTRAST_GROUPS:
        want = _members(group, asked)
        if not want or len(want) == len(group):
            continue
        have = _members(group, words) or next(
            (m for m in (_members(group, words_of(b)) for b in before) if m), frozenset()
        )
        if have and not have & want:
            return True
        if not have:
            named = frozenset().union(*(_members(group, words_of(e)) for e in elsewhere))
            if named and not named & want:
                return True
        if len(have) > 1 and have != want and any(_members(group, words_of(o)) == want for o in others):
            return True
    return False


def names_another_item(sentence: str, start: int, question: str) -> bool:
    """Whether the clause of ``sentence`` holding the figure at ``start`` names only other items of a parallel
    group than the question does ("男生1000米跑平均成绩为4分02秒" for a question on 女生; "农村居民…" for 城镇)."""
    spans = clauses(sentence)
    s, e = next(((a, b) for a, b in spans if a <= start < b), (0, len(sentence)))
    return contrasts(sentence[s:e].lower(), question.replace(" ", "").lower(), [])


def _members(group: frozenset[str], words: frozenset[str]) -> frozenset[str]:
    """The items of ``group`` that start a word of ``words`` ("农村居民" → 农村; "进出口" holds no 出口)."""
    return frozenset(g for g in group if any(w.startswith(g) for w in words))


@functools.lru_cache(maxsize=8192)
def words_of(text: str) -> frozenset[str]:
    """Words of ``text`` in jieba's precise mode ("加工贸易" stays one word), cached per clause."""
    return frozenset(cut_words(text))


def clause_match(term: TermLike, clause: str) -> float:
    """1 when the word (or a synonym) is in the clause; for a part of it, credit only where the part stands as a
    word there ("出口" in "出口312.8亿元", not in "进出口总额")."""
    if IDENTIFIER_RE.fullmatch(term.text):
        return 1.0 if identifier_in(term.text, clause) else 0.0
    if term.text in clause or any(a in clause for a in term.alts):
        return 1.0
    if not term.parts:
        return 0.0
    words = words_of(clause)
    found = [len(p) for p in term.parts if p in words]
    return 0.8 * max(found) / len(term.text) if found else 0.0


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


def lead_of(sentence: str, start: int) -> str:
    """The words before ``start`` back to the last comma, colon or sentence end (enumerations kept whole)."""
    cut = max(sentence.rfind(p, 0, start) for p in "，,；;。：:")
    return sentence[cut + 1 : start]


def total_of_listed(lead: str, question: str) -> bool:
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
