"""Figure questions: the quantity a question asks for, the whole figures of a sentence's clauses, and the one
figure that answers it — or none, when no clause gives a figure of the asked kind for the asked quantity."""

from __future__ import annotations

import functools
import itertools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

# Units by family, so that a question's measure word or noun can say which figures can answer it.
_UNIT_FAMILIES: dict[str, str] = {
    "money": "元 美元 欧元 港元 英镑 日元 韩元 卢布 澳元 元/平方米 元/吨 元/亩 元/人 元/月",
    "density": "微克/立方米 毫克/立方米 毫克/升 人/平方公里 公斤/亩 千克/亩",
    "percent": "% ％ ‰ 个百分点 百分点 成",
    "length": "公里 千米 米 厘米 毫米 里 延米 海里",
    "area": "平方米 平方公里 平方千米 亩 公顷 顷 标准亩",
    "volume": "立方米 方 升 毫升 标方",
    "mass": "吨 千克 公斤 克 斤 担",
    "energy": "千瓦时 千瓦 兆瓦 瓦 度 伏 千伏 吉瓦",
    "time": "个工作日 工作日 个小时 小时 分钟 秒 个月 月 周 年 天 日 夜",
    "people": "人次 人 名 位 人口",
    "count": (
        "个 项 户 家 所 座 套 辆 台 件 场次 场 次 批 条 栋 幢 间 处 只 头 株 棵 本 册 部 篇 份 起 宗 例 床 张 支 "
        "队 届 期 种 类 组 对 门 架 艘 列 片 块 幅 口 眼 家次 户次 单 笔 盏 根 匹 集 首 款 票 班 节 台套 倍 "
        "发 标准箱 个标准箱 吨公里 架次 航次 车次 班次 人天"
    ),
}
UNIT_FAMILY: dict[str, str] = {u: fam for fam, units in _UNIT_FAMILIES.items() for u in units.split()}
_UNITS = sorted(UNIT_FAMILY, key=len, reverse=True)
_UNIT_ALT = "|".join(re.escape(u) for u in _UNITS)
_MAGNITUDE = r"万亿|亿|千万|百万|万|千(?![米瓦克])|百(?!分)"
_ARABIC = r"\d+(?:,\d{3})+(?![\d,])(?:\.\d+)?|\d+(?:\.\d+)?"
_CHINESE = r"[零〇一二两三四五六七八九十百千万亿]+(?:点[零〇一二三四五六七八九]+)?"
# Words before a figure that change what it says ("约3.1万", "超过500人"); "达" or "共" do not.
_QUALIFIER_BEFORE = (
    r"(?:每人每月|每人每年|每人每天|每人|每户|每亩|每吨|每平方米|每千人口|每万人)?"
    r"(?:约为|约合|约|近|超过|超|逾|不足|不到|将近|接近|大约|多达|高达|至少|最多|不少于|不超过|不低于|仅)?"
)
_QUALIFIER_AFTER = r"以上|以下|以内|之内|内(?![容部外地])|左右|上下|多|余"
_RANGE = r"\s?(?:-|—|–|~|～|至|到)\s?"
_FIGURE_RE = re.compile(
    rf"(?P<pre>{_QUALIFIER_BEFORE})"
    # A time on a clock or a stopwatch, whole: "2小时09分17秒", "1分57秒36", "4分02秒".
    r"(?:(?<![\d.])(?P<clock>\d+小时\d{1,2}分(?:\d{1,2}秒(?:\d{1,2})?)?|\d+分\d{1,2}秒(?:\d{1,2}(?!\d))?)"
    rf"|(?P<pct>百分之)(?P<pnum>{_CHINESE}|{_ARABIC})"
    rf"|(?<![\d.,A-Za-z第])(?P<num>{_ARABIC})(?:[多余]?(?:{_MAGNITUDE})?(?:{_UNIT_ALT})?{_RANGE}(?P<num2>{_ARABIC}))?"
    rf"|(?<![第])(?P<cn>{_CHINESE}))"
    rf"(?P<approx>[多余])?(?P<mag>{_MAGNITUDE})?(?P<approx2>[多余])?\s?(?P<unit>{_UNIT_ALT})?"
    rf"(?P<post>{_QUALIFIER_AFTER})?"
)
_YEAR_LIKE = re.compile(r"(?:19|20)\d{2}")
_CN_DIGIT = re.compile(r"[零〇一二两三四五六七八九十]")
_CN_NOT_FIGURES = frozenset({"一", "万一", "千万", "万万", "亿万"})  # the article 一 ("一个专班") and idioms
# Clause marks; a half-width comma between digits is a thousands separator, not one.
_CLAUSE_END = re.compile(r"[，、；;：:。！？!?]|,(?!\d{3}(?!\d))")


@dataclass(frozen=True, slots=True)
class FigureSpan:
    """A whole figure in a sentence: qualifiers, number (or range), magnitude and unit, as written."""

    start: int
    end: int
    text: str
    unit: str
    family: str  # a key of the unit families, or "" for a bare number
    post: str = ""  # the qualifier after it ("以上", "以内", "多")


@functools.lru_cache(maxsize=8192)
def find_figures(text: str) -> tuple[FigureSpan, ...]:
    """Every figure of ``text`` that states a quantity: not dates ("2022年", "5月8日"), not ordinals ("第3"),
    not a Chinese numeral without a unit ("统一") nor the article 一 ("组建一个专班")."""
    out: list[FigureSpan] = []
    for m in _FIGURE_RE.finditer(text):
        unit = m.group("unit") or ""
        if m.group("pct"):
            unit = "%"
        if m.group("clock"):
            unit = "秒"
        number = m.group("num") or m.group("cn") or m.group("pnum") or m.group("clock") or ""
        if m.group("cn") is not None and (not unit or not _CN_DIGIT.search(number) or number in _CN_NOT_FIGURES):
            continue
        start, end = m.span()
        if not number or end - start == 0:
            continue
        family = UNIT_FAMILY.get(unit, "")
        if _is_date(text, m, unit):
            continue
        out.append(FigureSpan(start, end, text[start:end], unit, family, m.group("post") or ""))
    return tuple(out)


def _is_date(text: str, m: re.Match[str], unit: str) -> bool:
    """A calendar reference rather than a quantity: a year ("2022年", "2022—2025年"), a month or a day."""
    number = m.group("num") or ""
    if unit == "年" and _YEAR_LIKE.fullmatch(number) and not m.group("pre") and not m.group("mag"):
        return True
    if unit in ("月", "日") and not m.group("pre") and not m.group("approx"):
        return True  # "5月", "8日": "个月" and "天" are the durations
    return bool(not unit and _YEAR_LIKE.fullmatch(number) and text[m.end() : m.end() + 1] in ("年", "-", "/", "."))


def clauses(sentence: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each clause of ``sentence``: split at ，、；： (and a comma not inside a number)."""
    spans: list[tuple[int, int]] = []
    prev = 0
    for m in _CLAUSE_END.finditer(sentence):
        if m.start() > prev:
            spans.append((prev, m.start()))
        prev = m.end()
    if prev < len(sentence):
        spans.append((prev, len(sentence)))
    return spans or [(0, len(sentence))]


# --- what the question asks for --------------------------------------------------------------------------------

# A measure word after 多少/几 names the unit; a few stand for a family ("多少钱" → money).
_MEASURE_RE = re.compile(rf"(?:多少|几)(?:{_MAGNITUDE})?(?P<unit>{_UNIT_ALT}|钱|岁)?")
_PERCENT_CUES = re.compile(r"增长|增幅|增速|下降|降幅|提高|提升|回落|比重|占比|占|百分之几|比例|率|同比|环比|上涨|下跌")
_PERCENT_SLOT = re.compile(
    r"(?:增长|增幅|增速|下降|降幅|提高|提升|回落|上涨|下跌|比重|占比|比例|率)(?:了|为|是|达到|约)?$"
)
_MONEY_CUES = re.compile(
    r"投资|资金|收入|产值|总值|生产总值|金额|营收|营业额|税收|利润|贷款|融资|支出|补助|补贴|奖励|销售额|成交额|"
    r"预算|经费|成本|价格|售价|票房|收益|工资|存款|财政|拨付|资产|债务|赔偿|罚款|费用|保费|GDP|消费额|零售额|出口额|进口额|"
    r"交易额|总额|额度|捐款|募集|基金|营业收入|增加值|价格|发行价|票价|房价|单价|均价|股价|租金"
)
_PEOPLE_CUES = re.compile(r"人数|人口|就业|毕业生|学生|员工|职工|干部|队员|志愿者|游客|患者|居民|群众|村民|农民")
_TIME_ASK = re.compile(
    r"多少(?:个)?(?:年|月|天|日|小时|分钟|工作日)|几(?:个)?(?:年|月|天|小时|工作日)|多久|多长时间|时限|期限|工期|时长|用时|耗时"
    r"|时间(?:压缩|缩短|减少|控制)?(?:了|为|是|在)?(?:到|至)?(?:多少|几)"
)
# Measured nouns whose figures have one family whatever the question's wording ("蓄水量是多少" → 立方米).
_NOUN_FAMILY: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"面积|用地|占地|建筑面积"), "area"),
    (re.compile(r"里程|长度|距离|总长"), "length"),
    (re.compile(r"蓄水量|库容|供水量|用水量|水量|排水量"), "volume"),
    (re.compile(r"货运量|产量|重量"), "mass"),
    (re.compile(r"成绩|用时|耗时"), "time"),
    (re.compile(r"装机容量|发电量|用电量"), "energy"),
    (re.compile(r"浓度"), "density"),
)
_UNIT_FAMILY_EQUIV = {"钱": "money", "岁": "time"}


def answer_text(figure: FigureSpan, question: str) -> str:
    """The figure as the short answer: whole, except a qualifier the question itself already states after
    its measure word ("多少人以上" → "4000人", not "4000人以上")."""
    m = _MEASURE_RE.search(question)
    if m:
        post = re.match(_QUALIFIER_AFTER, question[m.end() :])
        if post and figure.post == post.group() and len(figure.text) > len(figure.post):
            return figure.text[: -len(figure.post)]
    return figure.text


def measure_word(question: str) -> str:
    """The unit or measure word right after 多少/几 ("多少平方米" → 平方米, "多少户农村…" → 户), or ""."""
    m = _MEASURE_RE.search(question)
    return (m.group("unit") or "") if m else ""


@dataclass(frozen=True, slots=True)
class AskedQuantity:
    """What a figure question wants: a unit ("公里"), a family ("money", "percent"), both, or neither."""

    unit: str
    family: str

    def accepts(self, figure: FigureSpan) -> float:
        """1 for a figure of the asked unit or family, 0.5 for a bare number where any figure may do,
        0 for a figure of another kind (it answers something else)."""
        if figure.family == "time" and self.family != "time":
            return 0.0  # durations answer only questions about time ("近20年" is not a quantity asked)
        if self.unit:
            if figure.unit == self.unit or figure.unit.endswith(self.unit) or self.unit.endswith(figure.unit or "\0"):
                return 1.0
            if self.unit == "个" and figure.family == "count" and figure.unit in ("个", ""):
                return 1.0
            if not figure.unit and self.family not in ("money", "percent"):
                return 0.5
            return 1.0 if figure.family == self.family and self.family in ("people",) else 0.0
        if self.family:
            if figure.family == self.family:
                return 1.0
            if not figure.unit:
                return 0.5 if self.family not in ("percent", "money") else 0.0
            return 0.0
        return 1.0 if figure.family != "time" else 0.0


@functools.lru_cache(maxsize=1024)
def asked_quantity(question: str) -> AskedQuantity:
    """The unit and family a figure question asks for: its measure word (多少公里 → 公里, 多少人 → people),
    else a growth/share word right before the slot (增长多少 → percent), else the measured noun (投资 → money)."""
    q = question.strip()
    if _TIME_ASK.search(q):
        m = _MEASURE_RE.search(q)
        unit = m.group("unit") if m and m.group("unit") in UNIT_FAMILY else ""
        return AskedQuantity(unit or "", "time")
    m = _MEASURE_RE.search(q)
    slot = m.start() if m else len(q)
    before = q[:slot]
    unit = (m.group("unit") or "") if m else ""
    if unit in _UNIT_FAMILY_EQUIV:
        return AskedQuantity("", _UNIT_FAMILY_EQUIV[unit])
    if unit:
        family = UNIT_FAMILY.get(unit, "")
        if family == "people":
            return AskedQuantity("", "people")
        if family == "money":
            return AskedQuantity("", "money")
        return AskedQuantity(unit, family)
    to_level = bool(re.search(r"[到至]\s*$", before))  # "提高到多少": a level, typed by its noun below
    if (not to_level and _PERCENT_SLOT.search(before.rstrip("了是为约达 "))) or re.search(r"百分之几|百分比|几成", q):
        return AskedQuantity("", "percent")
    if re.search(r"(?:比重|占比|比例|增幅|增速|增长率|率)(?:是|为|有)?(?:多少|多大|几)?[？?]?$", q):
        return AskedQuantity("", "percent")
    tail = before[-8:]
    for pattern, family in _NOUN_FAMILY:
        if pattern.search(tail) and not _MONEY_CUES.search(tail[-3:]):
            return AskedQuantity("", family)
    if _MONEY_CUES.search(before or q) and not re.search(r"(?:项目|企业|家|个)(?:数|数量)?(?:是|有|为)?$", before):
        return AskedQuantity("", "money")
    if _PEOPLE_CUES.search(before or q) and not _MONEY_CUES.search(before or q):
        return AskedQuantity("", "people")
    if _PERCENT_CUES.search(before[-6:]):
        return AskedQuantity("", "percent")
    return AskedQuantity("", "")


# --- which figure answers -------------------------------------------------------------------------------------


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
    """The figure of ``sentence`` of the asked kind whose clause best carries the focus words, or None."""
    return max(figure_choices(sentence, asked, focus, weights, question), key=lambda c: c.score, default=None)


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
    matches = {t.text: [_clause_match(t, low[s:e]) for s, e in spans] for t in focus}
    n = len(spans)
    distinct = {
        t.text: weights.get(t.text, 1.0) * math.log(1.0 + n / max(1, sum(m > 0 for m in matches[t.text])))
        for t in focus
    }
    positions = {t.text: [m.start() for m in re.finditer(re.escape(t.text), low)] for t in focus}
    towards = bool(_TOWARDS_ASK.search(question))
    stock_asked, flow_asked = bool(_STOCK.search(question)), bool(_FLOW.search(question))
    counted = _counted_term(focus, question)
    head = counted or _head_term(focus, question)
    head_pairs = [
        (a.text, b.text)
        for a, b in itertools.pairwise(focus)
        if head in (a.text, b.text) and a.text + b.text in compact_question.lower()
    ]
    boost = {t.text: (_HEAD_BOOST if t.text == head else 1.0) for t in focus}
    total = sum(weights.get(t.text, 1.0) * boost[t.text] for t in focus)
    topic = _topic_clauses(sentence, spans, figures)
    respective = _respective(sentence, low, spans, figures, focus, weights)
    out: list[FigureChoice] = []
    for f in figures:
        fit = asked.accepts(f)
        if fit == 0.0:
            continue
        k = next((i for i, (s, e) in enumerate(spans) if s <= f.start < e), n - 1)
        own = low[spans[k][0] : f.start] + " " + low[f.end : spans[k][1]]
        if stock_asked != flow_asked and _counts_the_other(own, stock_asked=stock_asked):
            continue
        content = "".join(_HAN_RE.findall(_FILLER_RE.sub("", own)))
        unexplained = _unexplained(content, focus)
        elliptical = len(content) <= _ELLIPTICAL_CHARS and not unexplained
        credit = _credit(k, n, hard, elliptical=elliptical, topic=topic)
        if total > 0:
            got = {t.text: max(m * credit[i] for i, m in enumerate(matches[t.text])) for t in focus}
            cover = sum(weights.get(x, 1.0) * boost[x] * v for x, v in got.items()) / total
            telling = sum(distinct[x] * boost[x] * v for x, v in got.items()) / (
                sum(distinct[x] * boost[x] for x in distinct) or 1.0
            )
        else:
            cover = telling = 1.0
        if _CONDITION_RE.search(_strip_known(own, compact_question)):
            cover *= _CONDITION_PENALTY  # "10亿元以上项目7个" when the question asks about all 亿元以上项目
            telling *= _CONDITION_PENALTY
        precision = 1.0 - len(unexplained) / len(content) if content else 1.0
        if precision < _MIN_PRECISION:
            cover = min(cover, MIN_FOCUS - 0.01)  # the clause is about something else ("发放产业奖补资金…")
        near = 0.0
        for t in focus:
            for p in positions[t.text]:
                if 0 <= f.start - (p + len(t.text)) <= 3 or 0 <= p - f.end <= 2:
                    near = max(near, 0.15 if p < f.start else 0.1)
        if counted and low[f.end : f.end + 1 + len(counted)].find(counted) in (0, 1):
            near += _COUNTED_BONUS  # "多少个安置点" → "98个安置点"
        phrase = 0.0
        for a, b in head_pairs:  # "完成投资", "网格员": the words of the asked quantity as one phrase
            if a + b in own:
                if sum(a + b in low[x:y] for x, y in spans) == 1:  # … that tells this clause from the others
                    phrase += _PHRASE_BONUS
            elif a in own and b in own:
                phrase -= _PHRASE_BONUS / 2  # both words, apart: "网格管理员" for "网格员"
        before = low[max(0, f.start - 3) : f.start]
        direction = 0.0
        if towards:
            direction = 0.3 if re.search(r"[至到]$", before) else -0.3 if re.search(r"[由从]$", before) else 0.0
        if f.start in respective:  # "A、B分别达到152家、3327家": the figure in the asked item's place
            cover = max(cover, MIN_FOCUS) if respective[f.start] > 0 else cover
            direction += respective[f.start]
        strength = cover + 0.3 * fit + near + phrase + direction + 0.2 * precision
        score = strength - 0.5 * cover + 0.5 * telling - 0.0005 * f.start
        out.append(FigureChoice(f, cover, score, strength))
    return out


def _respective(
    sentence: str,
    low: str,
    spans: Sequence[tuple[int, int]],
    figures: Sequence[FigureSpan],
    focus: Sequence[_Term],
    weights: Mapping[str, float],
) -> dict[int, float]:
    """For "A、B分别…X、Y" (or "A…，B…，分别…X和Y"): a bonus for the figure in the place of the item the focus
    words name best, a penalty for the others, by figure start; empty when the sentence has no such list."""
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
        head = sentence[cut + 1 : m.start()]
        items = [x for x in _ITEM_SPLIT_RE.split(head) if x]
        if len(items) >= 2:  # a shared modifier stands before the first item ("…企业获得电力、用水时间")
            items[0] = items[0][-max(len(x) for x in items[1:]) :]
        if len(items) != len(listed):  # the items are the clauses before, each with its figure
            items = [sentence[s:e] for s, e in spans[max(0, k - len(listed)) : k]]
        if len(items) != len(listed):
            continue
        scores = [sum(weights.get(t.text, 1.0) * _clause_match(t, item.lower()) for t in focus) for item in items]
        best = max(scores)
        if best <= 0 or scores.count(best) > 1:
            continue
        for f, score in zip(listed, scores, strict=True):
            out[f.start] = _RESPECTIVE_BONUS if score == best else -_RESPECTIVE_BONUS
    return out


def _group_end(sentence: str, spans: Sequence[tuple[int, int]], k: int) -> int:
    """Where the ；-group of clause ``k`` ends."""
    for _, e in spans[k:]:
        if re.match(r"[；;。！？!?]", sentence[e : e + 1]):
            return e
    return len(sentence)


def _counted_term(focus: Sequence[_Term], question: str) -> str:
    """The focus word right after the measure word ("在多少个安置点…" → 安置点): the thing counted, which the
    evidence writes right after its figure ("在98个安置点…")."""
    m = _MEASURE_RE.search(question)
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


def _unexplained(content: str, focus: Sequence[_Term]) -> str:
    """The characters of ``content`` that no focus word (or its part or synonym) accounts for."""
    rest = content
    for t in sorted(focus, key=lambda t: -len(t.text)):
        for w in (t.text, *t.alts, *t.parts):
            if len(w) >= 1 and w in rest:
                rest = rest.replace(w, "")
    return rest


@functools.lru_cache(maxsize=8192)
def _words(text: str) -> frozenset[str]:
    """Words of ``text`` in jieba's precise mode ("加工贸易" stays one word)."""
    import jieba

    return frozenset(jieba.lcut(text, HMM=False))


def _clause_match(term: _Term, clause: str) -> float:
    """1 when the word (or a synonym) is in the clause; for a part of it, credit only where the part stands as a
    word there ("出口" in "出口312.8亿元", not in "进出口总额")."""
    if term.text in clause or any(a in clause for a in term.alts):
        return 1.0
    if not term.parts:
        return 0.0
    words = _words(clause)
    found = [len(p) for p in term.parts if p in words]
    return 0.8 * max(found) / len(term.text) if found else 0.0


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
_STOCK = re.compile(r"总数|总量|总计|共有|现有|累计|保有量|总规模|实有|总[\u4e00-\u9fff]{1,3}\s*$")
_FLOW = re.compile(r"新增|净增|新建|新认定|新培育|新引进|新招|当年新")
# A figure stated as a condition inside a clause: "其中签约5亿元以上项目18个".
_CONDITION_RE = re.compile(
    r"\d+(?:\.\d+)?\s?(?:万亿|亿|千万|百万|万|千)?[\u4e00-\u9fff]{0,3}?(?:以上|以下|及以上|以内)"
)
_CONDITION_PENALTY = 0.6
_HEAD_BOOST = 2.0
_COUNTED_BONUS = 0.4
_RESPECTIVE_BONUS = 0.5
_JOINER_RE = re.compile(r"\s*(?:、|和|及|与|,|，)\s*")
_ITEM_SPLIT_RE = re.compile(r"、|和|及|与")
_PHRASE_BONUS = 0.2
_MIN_PRECISION = 0.3
_SLOT_RE = re.compile(r"多少|几|是多少|有多少|百分之几")


_HAN_RE = re.compile(r"[\u4e00-\u9fff]")
# Words that carry no content of their own in a clause ("其中", "分别", "达到"): not what makes it elliptical.
_FILLER_RE = re.compile(r"其中|分别|共计|累计|合计|达到|全年|同比|增长|、|\s")
_ELLIPTICAL_CHARS = 4  # a clause with at most this many content characters besides its figure continues another
_INHERITED_CREDIT = 0.8


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
