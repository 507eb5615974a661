"""Question analysis and evidence scoring shared by ranking and answering: the expected answer kind, the
question's content words, how well each sentence of the evidence covers them, and candidate answer spans."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from rag.figure_text import IDENTIFIER_RE, identifier_in, measure_word
from rag.text import FIGURE_RE, tokenize


class AnswerKind(Enum):
    """What kind of span the question asks for."""

    FIGURE = "figure"
    DATE = "date"
    PERSON = "person"
    PLACE = "place"
    ORG = "org"
    TITLE = "title"
    LIST = "list"
    OTHER = "other"


# First match wins: strong date cues before figures ("哪一年" is not a count), "时间" alone only at the end.
_KIND_CUES: list[tuple[AnswerKind, re.Pattern[str]]] = [
    (AnswerKind.LIST, re.compile(r"哪些")),
    # The name of a work or a named thing: Chinese text sets such names off in 《》 or quotes.
    (
        AnswerKind.TITLE,
        re.compile(
            r"哪一?[部本首篇]|叫什么|什么名字|名字是什么|名称是什么|叫做什么|称为什么|什么(?:电影|影片|电视剧|歌曲?|书)"
        ),
    ),
    (AnswerKind.DATE, re.compile(r"什么时候|何时|哪一?年|几月|哪一?天|几号|哪个月|什么日期|哪个日子")),
    (AnswerKind.PERSON, re.compile(r"谁|哪一?位|什么人|哪个人")),
    (
        AnswerKind.PLACE,
        re.compile(r"哪里|在哪|哪儿|哪个地方|什么地方|哪个(?:城市|省份?|国家|地区|县|市)|哪座城市|地点"),
    ),
    (
        AnswerKind.ORG,
        re.compile(r"哪家|哪个(?:公司|机构|单位|企业|组织|球?队|部门)|什么(?:机构|公司|单位|组织|部门)|哪支|哪所"),
    ),
    (
        AnswerKind.FIGURE,
        re.compile(
            r"多少|几|百分之|比例|比重|占比|增幅|增速|增长率|多大|多高|多长|多重|多远|多久|多深|数量|人数|金额|总额|规模"
        ),
    ),
    (AnswerKind.DATE, re.compile(r"时间|日期")),
    # No question word at all ("2022年8月我国汽车出口量"): a measure noun at the end still asks for a figure.
    (AnswerKind.FIGURE, re.compile(r"(?:率|量|额|收入|营收|票房|价格|售价|产值|总值|人口)[？?]?$")),
]
# Where the asked-for slot sits in the question; the words around it locate the answer in a sentence.
_SLOT_RE = re.compile(
    r"多少|几|百分之几|什么时候|何时|哪一?年|哪一?天|哪个?\w{0,2}|什么\w{0,2}|谁|哪里|哪儿|在哪|多[大高长重远久深]"
)
# Words that only shape the question (and prepositions that STOPWORDS keeps); not evidence to look for.
_QUESTION_WORDS = frozenset(
    "通过 对于 关于 根据 按照 进行 时间 时候 日期 哪年 哪一年 哪天 多大 多高 多长 多久 多远 多重 多深 "
    "哪家 哪位 哪支 哪部 哪种 哪项 具体 分别 一共 共 总共 大约 约 数量 请问 "
    "是 叫 叫做 称为 哪两个 哪两 两个 一个 什么样 情况 多长时间 长时间 多少时间 需要 需 百分之 百分比 方面".split()
)
# Words of questions that reports write otherwise: a match of any counts as the word itself.
_SYNONYMS: tuple[tuple[str, ...], ...] = (
    ("增速", "增幅", "增长率", "增长"),
    ("比重", "占比", "所占比例", "占"),
    ("规上", "规模以上"),
    ("固投", "固定资产投资"),
    ("gdp", "地区生产总值", "生产总值"),
    ("人数", "人"),
    ("降到", "降至", "下降到", "下降至", "降低到", "降低至"),
    ("提高到", "提高至", "提升到", "提升至"),
    ("缩短到", "缩短至", "压缩到", "压缩至"),
    ("增加到", "增加至", "增长到", "增长至"),
    ("持续到", "持续至"),
    ("分成", "分为"),
    ("分为", "分成"),
    ("到", "至"),
)
_ALTS = {w: tuple(x for x in group if x != w) for group in _SYNONYMS for w in group[:-1]}
# The place a question starts with ("凤岭县2021年…", "2021年青溪区…"): with the years, the question's subject.
_LEADING_PLACE_RE = re.compile(
    r"^(?:(?:19|20)\d{2}年|去年|今年|全年)?(?P<place>[\u4e00-\u9fff]{1,10}?"
    r"(?:特别行政区|自治区|自治州|自治县|示范区|经开区|开发区|高新区|新区|省|市|区|县|州|旗|镇|乡|街道|社区|村)"
    r"(?:[\u4e00-\u9fff]{1,6}?(?:镇|乡|村|社区|街道))*)"
)
_PLACE_SEGMENT_RE = re.compile(
    r"[\u4e00-\u9fff]{1,10}?(?:特别行政区|自治区|自治州|自治县|示范区|经开区|开发区|高新区|新区|社区|街道|省|市|区|县|州|旗|镇|乡|村)"
)
_LONG_SUFFIX_RE = re.compile(r"(?:特别行政区|自治区|自治州|自治县|示范区|经开区|开发区|高新区|新区)")
_NOT_PLACES = frozenset(
    "城镇 乡镇 农村 城乡 城区 市区 社区 街道 乡村 全市 全区 全县 全省 全镇 本市 本区 本县 "
    "全村 本村 该村 各村 新村 全社区 本社区 各社区 全街道 本街道 各街道".split()
)
_YEAR_TERM = re.compile(r"(?:19|20)\d{2}年?")
# "几个", "几所", "多少钱": the question word with its measure word, not a word to look for in the evidence.
_ASKING_TOKEN = re.compile(r"^(?:几(?!乎)|多少)")
_COPULA_SLOT = re.compile(r"(?<=[\u4e00-\u9fff])是(?=\s*(?:多少|几))")
_DAY = r"\d{1,2}\s?月\s?\d{1,2}\s?[日号](?:\s?\d{1,2}\s?[时点])?"
_DATE_RE = re.compile(
    # A range of days counts whole ("5月10日至20日", "5月1日至3日"), with its year when it has one.
    rf"(?:\d{{4}}\s?年\s?)?{_DAY}\s?(?:至|到|-|—|~)\s?(?:\d{{1,2}}\s?月\s?)?\d{{1,2}}\s?[日号]"
    rf"|\d{{4}}\s?年(?:\s?\d{{1,2}}\s?月(?:\s?\d{{1,2}}\s?[日号])?)?|{_DAY}"
    r"|\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}\s?月(?:份|上旬|中旬|下旬)?|[〇零一二三四五六七八九]{4}年"
)
# A name set off by title marks or quotes; quotes also mark slogans and emphasis, hence the shorter limit.
_QUOTED_RE = re.compile(r"《([^《》\n]{1,40})》|“([^“”\n]{1,16})”|「([^「」\n]{1,16})」|\"([^\"\n]{1,16})\"")
# The noun after a closing "which"/"what" ("…是哪部电影", "去了哪家公司"): the category of the answer, which the
# evidence names by instance ("《长津湖》成为冠军", "被英特尔挖走") rather than by the category word.
_CATEGORY_RE = re.compile(r"(?:哪一?[部本首篇家个支位座种项所条只款]|什么)([\u4e00-\u9fff]{1,4})[？?]?$")
_ORG_RE = re.compile(
    r"[\u4e00-\u9fffA-Za-z0-9]{2,10}?(?:公司|集团|银行|大学|学院|研究院|研究所|委员会|协会|医院|电视台)"
)
# How the name of an institution ends: the answer to 哪家公司 / 哪个单位 / 哪所高校 / 哪支队伍 is one.
_INSTITUTION_END_RE = re.compile(
    r"(?:公司|集团|企业|厂|局|厅|委|委员会|部|办|办公室|署|院|所|中心|站|会|社|台|馆|(?<!团)队|团|组|处|科|室|"
    r"政府|行|校|大学|中学|小学|联盟|俱乐部|平台|实验室|基地|基金|网|报)[”’」』》）)]*$"
)
_POS_FOR_KIND = {
    AnswerKind.PERSON: ("nr", "nrt", "nrfg"),
    AnswerKind.PLACE: ("ns",),
    AnswerKind.ORG: ("nt",),
}
_SPECIFIC_POS = ("nr", "nrt", "nrfg", "ns", "nt", "nz")
_COMMON_FREQ = 500  # jieba dictionary count above which a tagged "name" is an ordinary word (新建, 力争, 中国)
_ADMIN_SUFFIX = re.compile(r"(?:特别行政区|自治区|自治州|示范区|新区|市|区|县|省|镇|乡|村|州)$")
_NUMBER_TERM = re.compile(r"(\d+(?:\.\d+)?)[年月日号]?")
_HAN = re.compile(r"[\u4e00-\u9fff]+")


@functools.lru_cache(maxsize=1024)
def _bare_number(number: str) -> re.Pattern[str]:
    """``number`` standing alone: not part of a longer number ("2015" in "2015年", not in "20150")."""
    return re.compile(rf"(?<![\d.]){re.escape(number)}(?!\d)")


@dataclass(frozen=True, slots=True)
class Term:
    """A content word of the question with the smaller search tokens it contains."""

    text: str
    parts: tuple[str, ...]
    specific: bool  # a year/number or a proper name: its absence from the evidence is a strong negative
    category: bool = False  # names the kind of thing asked for ("哪部电影", "哪家公司"): evidence may leave it out
    subject: bool = False  # the year or the place the question starts with: a passage states it once for all
    alts: tuple[str, ...] = ()  # words reports use for the same thing ("增速" → "增长", "规上" → "规模以上")

    def match(self, text: str) -> float:
        """1 when the word occurs in ``text``; partial credit for its parts; 0 otherwise. A specific word
        only counts whole, or as its stem ("衡水市" → "衡水", "2015年" → "2015") where that stem stands as a
        word of its own, so "陕西安康" does not match "西安市" nor "20150" "2015年"."""
        if self.specific:
            identifier, number, stem = _specific_shape(self.text)
            if identifier:
                return 1.0 if identifier_in(self.text, text) else 0.0
        if self.text in text or any(a in text for a in self.alts):
            return 1.0
        if self.specific:
            if number:
                return 1.0 if _bare_number(number).search(text) else 0.0
            return 1.0 if stem and _stands_alone(stem, text) else 0.0
        found = [len(p) for p in self.parts if p in text]
        return 0.8 * max(found) / len(self.text) if found else 0.0


@dataclass(frozen=True, slots=True)
class QuestionAnalysis:
    """The question's expected answer kind, its content words, the slot context and any unit it asks for."""

    kind: AnswerKind
    terms: tuple[Term, ...]
    left: tuple[str, ...]  # content tokens just before the asked-for slot, nearest last
    right: tuple[str, ...]  # content tokens just after it, nearest first
    unit: str  # characters after 多少/几 ("平方米", "名", "个"): a figure candidate ending with them is preferred
    english: bool


@functools.lru_cache(maxsize=4096)
def _specific_shape(word: str) -> tuple[bool, str, str]:
    """How a specific word is matched: whether it is an identifier ("G210"), its bare number ("2015" of
    "2015年"; else ""), its stem without an administrative suffix ("衡水" of "衡水市"; "" when it has none)."""
    number = _NUMBER_TERM.fullmatch(word)
    stem = _ADMIN_SUFFIX.sub("", word)
    return bool(IDENTIFIER_RE.fullmatch(word)), number.group(1) if number else "", stem if stem != word else ""


def _stands_alone(word: str, text: str) -> bool:
    """Whether ``word`` occurs in ``text`` as a word of its own (segmenting a few characters around it)."""
    start = text.find(word)
    while start >= 0:
        if word in _window_words(text[max(0, start - 4) : start + len(word) + 4]):
            return True
        start = text.find(word, start + len(word))  # as re.finditer: occurrences that do not overlap
    return False


@functools.lru_cache(maxsize=16384)
def _window_words(window: str) -> frozenset[str]:
    """The search tokens of a few characters around a word. Cached: ranking and the answer step test the
    same sentences of the same passages, and a place name recurs question after question."""
    return frozenset(tokenize(window))


@functools.lru_cache(maxsize=4096)
def _posseg(text: str, *, hmm: bool) -> tuple[tuple[str, str], ...]:
    """Words and part-of-speech tags. jieba's HMM also tags words outside its dictionary (new names) but costs
    most of the time: it is used on the question, not on the many evidence sentences. Cached: the sentences of
    often-retrieved passages come back question after question."""
    import jieba.posseg

    return tuple((p.word, p.flag) for p in jieba.posseg.lcut(text, HMM=hmm))


def _is_name(word: str, flag: str) -> bool:
    """A proper name worth insisting on: tagged as one and not a common dictionary word (jieba tags 新建 ns),
    or a place with an administrative suffix, or a Latin-script name."""
    import jieba

    if len(word) < 2:
        return False
    if flag == "eng":
        return True
    common = jieba.dt.FREQ.get(word, 0) >= _COMMON_FREQ
    return flag in _SPECIFIC_POS and (not common or (len(word) >= 3 and bool(_ADMIN_SUFFIX.search(word))))


def _leading_place(question: str) -> str:
    """The place the question starts with ("凤岭县", "沈坝镇桥头村"), or "": an administrative suffix after a
    name, not after a verb or a question word ("在多少个安置点建成社区…", "力争引回返乡…")."""
    lead = _LEADING_PLACE_RE.match(question.strip())
    if not lead:
        return ""
    place = lead.group("place")
    kept: list[str] = []
    for segment in _PLACE_SEGMENT_RE.findall(place):
        if segment in _NOT_PLACES or re.search(r"多少|几|什么|哪|谁|怎", segment):
            break  # "青溪区城镇…", "海陵区完成多少户农村…": what is asked about, not a place
        # jieba cuts a long suffix into words of its own ("经开区" → 经 / 开区, 经 a preposition): only the
        # names before the suffixes are checked. A verb, number… ends the place ("梅岭县一季度农村…").
        words = _posseg(_LONG_SUFFIX_RE.sub("", segment) or segment, hmm=True)
        if any(flag.startswith(("v", "d", "p", "c", "m", "r")) for w, flag in words if len(w) > 1 or flag != "n"):
            break
        kept.append(segment)
    return "".join(kept)


_NEGATIONS = frozenset("不 未 非 无 没".split())


def _with_negations(tokens: list[str], question: str) -> list[str]:
    """A negation kept with the word it negates ("不 / 起诉" → 不起诉): "决定起诉4,615人" does not answer
    "决定不起诉多少人", and the bare word is no part of the negated one."""
    out: list[str] = []
    k = 0
    while k < len(tokens):
        t = tokens[k]
        if t in _NEGATIONS and k + 1 < len(tokens) and t + tokens[k + 1] in question:
            out.append(t + tokens[k + 1])
            k += 2
            continue
        out.append(t)
        k += 1
    return out


def _question_tokens(question: str, place: str) -> list[str]:
    """The question's search tokens, its leading place cut on its own: jieba would glue the place's suffix to
    the next word ("峡口县村道…" → 峡口 / 县村 / 道, so 村道 is never looked for)."""
    # The copula of the slot on its own: jieba glues it to a one-character noun before it ("存贷比是多少" →
    # 存贷 / 比是), and "比是" is found in no passage.
    question = _COPULA_SLOT.sub(" 是", question)
    # A rate compared with a year ("收入比比上年缩小多少", "占比比2021年提高多少"): jieba takes 比比 for a name.
    question = re.sub(r"比比(?!皆)", "比 比", question)
    stripped = question.lstrip()
    if not place or place not in stripped[:16]:
        return tokenize(question)
    at = stripped.find(place)
    return [*tokenize(stripped[: at + len(place)]), *tokenize(stripped[at + len(place) :])]


# jieba's tags of nouns, attributives, adjectives, idioms and abbreviations
_NOUN_FLAGS = frozenset({"n", "nz", "b", "a", "l", "j"})


def noun_words(question: str) -> frozenset[str]:
    """The question's words that jieba tags as nouns or attributives ("绿色", "外贸"; not "完成", "新增"); the
    tagging is ``analyse_question``'s own, cached."""
    return frozenset(w.lower() for w, flag in _posseg(question, hmm=True) if flag in _NOUN_FLAGS)


@functools.lru_cache(maxsize=1024)  # ranking and the answer backend both analyse each question
def analyse_question(question: str) -> QuestionAnalysis:
    """Expected answer kind, weighted content words and slot context of ``question``."""
    kind = next((k for k, cue in _KIND_CUES if cue.search(question)), AnswerKind.OTHER)
    unit = measure_word(question) if kind is AnswerKind.FIGURE else ""
    place = _leading_place(question)
    tokens = [
        t
        for t in dict.fromkeys(_question_tokens(question, place))
        if t not in _QUESTION_WORDS and t != unit and not _ASKING_TOKEN.match(t)
    ]
    if unit:
        tokens = [t for t in tokens if not unit.startswith(t)]
    tokens = _with_negations(tokens, question.lower())
    idents = list(dict.fromkeys(m.group() for m in IDENTIFIER_RE.finditer(question)))
    if idents:  # "第7号水渠": one name-like word, not 第 / 7 / 号 (a bare "7" would match the "7公里" of another)
        tokens = [*idents, *(t for t in tokens if not any(t in i for i in idents))]
    proper = {w.lower() for w, flag in _posseg(question, hmm=True) if _is_name(w, flag)}
    proper |= {t.lower() for t in re.findall(r"《([^》]{1,30})》", question)}
    maximal = [t for t in tokens if not any(t != o and t in o for o in tokens)]
    m = _CATEGORY_RE.search(question.strip())
    category = set(tokenize(m.group(1))) if m else set()
    terms = tuple(
        Term(
            t,
            tuple(p for p in tokens if p != t and p in t),
            t in proper or bool(re.search(r"\d{2,}", t)) or t in idents,
            t in category,
            bool(_YEAR_TERM.fullmatch(t)) or bool(place and t in place),
            _ALTS.get(t, ()),
        )
        for t in maximal
    )
    left: tuple[str, ...] = ()
    right: tuple[str, ...] = ()
    slot = _SLOT_RE.search(question)
    if slot:
        left = tuple(tokenize(question[: slot.start()])[-2:])
        right = tuple(t for t in tokenize(question[slot.end() :]) if t != unit)[:2]
    ascii_letters = sum(c.isascii() and c.isalpha() for c in question)
    return QuestionAnalysis(kind, terms, left, right, unit, ascii_letters > len(question.replace(" ", "")) / 2)


def _figure_spans(text: str, kind: AnswerKind) -> list[tuple[int, int]]:
    if kind is AnswerKind.DATE:
        return [m.span() for m in _DATE_RE.finditer(text)]
    return [m.span() for m in FIGURE_RE.finditer(text) if not _DATE_RE.fullmatch(m.group())]


def _name_spans(text: str, kind: AnswerKind) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    pos = 0
    flags = _POS_FOR_KIND[kind]
    words = _posseg(text, hmm=False)
    for k, (word, flag) in enumerate(words):
        if flag in flags and len(word) >= 2:
            spans.append((pos, pos + len(word)))
        elif kind is AnswerKind.PERSON and flag == "nr" and len(word) == 1 and k + 1 < len(words):
            given = words[k + 1][0]  # jieba often cuts "吴大林" into the surname "吴" and "大林"
            if 1 <= len(given) <= 2 and _HAN.fullmatch(given):
                spans.append((pos, pos + 1 + len(given)))
        pos += len(word)
    if kind is AnswerKind.ORG:
        spans += [m.span() for m in _ORG_RE.finditer(text)]
    return spans


def fits_kind(span: str, kind: AnswerKind) -> bool:
    """Whether a span can answer a question of this kind: an organisation question takes the name of an
    institution (not a person or a place that stands near it); other kinds are not checked here."""
    if kind is AnswerKind.ORG:
        return bool(_INSTITUTION_END_RE.search(span.strip()))
    return True


def answer_spans(text: str, qa: QuestionAnalysis, question: str) -> list[tuple[int, int]]:
    """Candidate spans of the expected kind in ``text`` that the question does not already contain."""
    if qa.kind in (AnswerKind.FIGURE, AnswerKind.DATE):
        spans = _figure_spans(text, qa.kind)
    elif qa.kind in _POS_FOR_KIND:
        spans = _name_spans(text, qa.kind)
    elif qa.kind is AnswerKind.TITLE:
        spans = [next(m.span(g) for g in range(1, 5) if m.group(g)) for m in _QUOTED_RE.finditer(text)]
    else:
        return []
    q = question.replace(" ", "")
    return [(s, e) for s, e in spans if text[s:e].replace(" ", "") not in q]


def pick_span(
    text: str, spans: Sequence[tuple[int, int]], qa: QuestionAnalysis
) -> tuple[tuple[int, int], float] | None:
    """The candidate next to the question's slot context, else the one nearest the question's words, with
    how well it sits in that context (3 for each side whose question word borders it, 2 for the unit)."""
    low = text.lower()
    anchors = [(m.start(), m.end()) for t in qa.terms for m in re.finditer(re.escape(t.text), low)]

    def fit(span: tuple[int, int]) -> float:
        s, e = span
        score = 0.0
        before, after = low[max(0, s - 6) : s], low[e : e + 8]
        if any(tok in before for tok in qa.left):
            score += 3.0
        if any(tok in after[: len(tok) + 2] for tok in qa.right):
            score += 3.0
        if qa.unit and any(text[s:e].endswith(qa.unit[:k]) for k in range(len(qa.unit), 0, -1)):
            score += 2.0
        return score

    def rank(span: tuple[int, int]) -> float:
        s, e = span
        dist = min((max(a_s - e, s - a_e, 0) for a_s, a_e in anchors), default=50)
        return fit(span) - 0.05 * dist - 0.001 * s

    if not spans:
        return None
    best = max(spans, key=rank)
    return best, fit(best)
