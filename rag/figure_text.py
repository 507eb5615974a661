"""Figures as reports write them: whole figures (qualifier, number or range, magnitude, unit) and their unit
families, the clauses of a sentence, and the kind of figure a question asks for."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

# Units by family, so that a question's measure word or noun can say which figures can answer it.
_UNIT_FAMILIES: dict[str, str] = {
    "money": "元 美元 欧元 港元 英镑 日元 韩元 卢布 澳元 元/平方米 元/吨 元/亩 元/人 元/月",
    "density": "微克/立方米 毫克/立方米 毫克/升 人/平方公里 公斤/亩 千克/亩",
    "percent": "% ％ ‰ 个百分点 百分点 成 /10万 /十万 /万",  # a rate per 100,000 ("孕产妇死亡率8.1/10万")
    "length": "公里 千米 米 厘米 毫米 里 延米 海里",
    "area": "平方米 平方公里 平方千米 亩 公顷 顷 标准亩",
    "volume": "立方米 方 升 毫升 标方",
    "mass": "吨 千克 公斤 克 斤 担",
    "energy": "千瓦时 千瓦 兆瓦 瓦 度 伏 千伏 吉瓦",
    "time": "年一遇 个工作日 工作日 个小时 个多小时 个半小时 小时 分钟 秒 个月 个多月 个半月 月 周 年 天 日 夜",
    "age": "岁 周岁",
    "temperature": "℃ °C 摄氏度",
    "people": "人次 人 名 位 人口",
    "count": (
        "个 项 户 家 所 座 套 辆 台 件 件次 批次 台次 项次 场次 场 次 批 条 栋 幢 间 处 只 头 株 棵 本 册 部 "
        "篇 份 起 宗 例 床 张 支 "
        "队 届 期 种 类 组 对 门 架 艘 列 片 块 幅 口 眼 家次 户次 单 笔 盏 根 匹 集 首 款 票 班 节 台套 倍 "
        "发 标准箱 个标准箱 吨公里 架次 航次 车次 班次 人天 羽 尾 枚 颗 剂 剂次 人份 辆次 艘次 例次 课时 学时"
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
    r"(?:零下)?"  # a temperature below zero ("零下15℃左右")
)
_QUALIFIER_AFTER = r"以上|以下|以内|之内|内(?![容部外地])|左右|上下|多|余"
_RANGE = r"\s?(?:-|—|–|~|～|至|到)\s?"
_FIGURE_RE = re.compile(
    rf"(?P<pre>{_QUALIFIER_BEFORE})"
    # A time on a clock or a stopwatch, whole: "2小时09分17秒", "1分57秒36", "4分02秒".
    r"(?:(?<![\d.])(?P<clock>\d+小时\d{1,2}分(?:\d{1,2}秒(?:\d{1,2})?)?|\d+分\d{1,2}秒(?:\d{1,2}(?!\d))?)"
    rf"|(?P<pct>百分之)(?P<pnum>{_CHINESE}|{_ARABIC})"
    # A ratio of parts, whole ("三次产业结构调整为7.7:37.9:54.4").
    r"|(?<![\d.,A-Za-z第:：])(?P<ratio>\d+(?:\.\d+)?(?:[:：]\d+(?:\.\d+)?){1,3})(?![\d.:：])"
    rf"|(?<![\d.,A-Za-z第])(?P<num>{_ARABIC})(?:[多余]?(?:{_MAGNITUDE})?(?:{_UNIT_ALT})?{_RANGE}(?P<num2>{_ARABIC}))?"
    rf"|(?<![第])(?P<cn>{_CHINESE}))"
    rf"(?P<approx>[多余])?(?P<mag>{_MAGNITUDE})?(?P<approx2>[多余])?\s?(?P<unit>{_UNIT_ALT})?"
    rf"(?P<post>{_QUALIFIER_AFTER})?"
)
_YEAR_LIKE = re.compile(r"(?:19|20)\d{2}")
HAN_RE = re.compile(r"[\u4e00-\u9fff]")  # one Chinese character
_CN_DIGIT = re.compile(r"[零〇一二两三四五六七八九十]")
_CN_NOT_FIGURES = frozenset({"一", "万一", "千万", "万万", "亿万"})  # the article 一 ("一个专班") and idioms
# Clause marks; a half-width comma between digits is a thousands separator, not one.
_CLAUSE_END = re.compile(r"[，、；;。！？!?]|(?<!\d)[：:]|[：:](?!\d)|,(?!\d{3}(?!\d))")


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
        number = m.group("num") or m.group("cn") or m.group("pnum") or m.group("clock") or m.group("ratio") or ""
        if (
            m.group("cn") is not None
            and (not unit or not _CN_DIGIT.search(number) or number in _CN_NOT_FIGURES)
            and not _one_tenth(text, m, number, unit)
        ):
            continue
        start, end = m.span()
        if not number or end - start == 0:
            continue
        family = UNIT_FAMILY.get(unit, "")
        if _is_date(text, m, unit):
            continue
        if not unit and not m.group("mag") and _is_identifier(text, m, number):
            continue
        out.append(FigureSpan(start, end, text[start:end], unit, family, m.group("post") or ""))
    return tuple(out)


def _one_tenth(text: str, m: re.Match[str], number: str, unit: str) -> bool:
    """「一成」 is a share ("按评估价的一成给予奖励"), not the article 一; 「一成不变」 is an idiom."""
    return number == "一" and unit == "成" and not text.startswith(("不变", "为"), m.end())


def _is_identifier(text: str, m: re.Match[str], number: str) -> bool:
    """A bare number that names rather than counts: zero-padded ("03合同段"), followed by what it numbers ("03标",
    "19号线", "3期") or glued to a Latin letter ("4A级", "5G")."""
    glued = text[m.end() : m.end() + 1]
    if glued.isascii() and glued.isalpha():
        return True  # "4A级景区", "5G基站": a grade or a name
    return bool(re.fullmatch(r"0\d+", number)) or bool(_NUMBERS_A_NAME.match(text, m.end()))


_NUMBERS_A_NAME = re.compile(r"\s?(?:号|标|合同段|标段|段|线|期|届|楼|层|路|站|区|栋|单元)")


_WITHIN = ("以内", "之内", "内")


def _is_date(text: str, m: re.Match[str], unit: str) -> bool:
    """A calendar reference rather than a quantity: a year ("2022年", "2022—2025年"), a month or a day."""
    number = m.group("num") or ""
    if unit == "年" and _YEAR_LIKE.fullmatch(number) and not m.group("pre") and not m.group("mag"):
        return True
    if unit in ("月", "日") and not m.group("pre") and not m.group("approx") and m.group("post") not in _WITHIN:
        return True  # "5月", "8日": "个月" and "天" are the durations, and so is "十五日内"
    if not unit and _YEAR_LIKE.fullmatch(number) and not m.group("mag") and not m.group("approx"):
        after = text[m.end() : m.end() + 1]
        # "2022-05", "2022.5"; and a year that names an edition ("2024北湾马拉松", "2023中国国际服贸会")
        return after in ("年", "-", "/", ".") or bool(HAN_RE.match(after))
    return False


def clauses(sentence: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each clause of ``sentence``: split at ，；： (and a comma not inside a number), and
    at 、 after a figure ("城市低保2,108人、农村低保13,234人"), not inside a list of names ("分为A、B、C五类")."""
    spans: list[tuple[int, int]] = []
    prev = 0
    for m in _CLAUSE_END.finditer(sentence):
        if m.group() == "、" and not find_figures(sentence[prev : m.start()]):
            continue
        if m.start() > prev:
            spans.append((prev, m.start()))
        prev = m.end()
    if prev < len(sentence):
        spans.append((prev, len(sentence)))
    return spans or [(0, len(sentence))]


# --- what the question asks for --------------------------------------------------------------------------------

# A measure word after 多少/几 names the unit; a few stand for a family ("多少钱" → money).
MEASURE_RE = re.compile(rf"(?:多少|几)(?:{_MAGNITUDE})?(?P<unit>{_UNIT_ALT}|钱|岁)?")
_PERCENT_CUES = re.compile(r"增长|增幅|增速|下降|降幅|提高|提升|回落|比重|占比|占|百分之几|比例|率|同比|环比|上涨|下跌")
_PERCENT_SLOT = re.compile(
    r"(?:增长|增幅|增速|下降|降低|降幅|提高|提升|回落|上涨|下跌|比重|占比|比例|率|占)(?:了|为|是|达到|约)?$"
)
_MONEY_CUES = re.compile(
    r"投资|资金|收入|产值|总值|生产总值|金额|营收|营业额|税收|利润|贷款|融资|支出|补助|补贴|奖励|销售额|成交额|"
    r"预算|经费|成本|价格|售价|票房|收益|工资|存款|财政|拨付|资产|债务|赔偿|罚款|费用|保费|GDP|消费额|零售额|出口额|进口额|"
    r"交易额|总额|额度|捐款|募集|基金|营业收入|增加值|价格|发行价|票价|房价|单价|均价|股价|租金|"
    r"养老金|低保金|抚恤金|补助金|救助金|奖金|保证金|公积金|薪酬|报酬|收费|赔款|赔付|给付|消费(?!者|品|券)|损失|挽回|追回|赃款|涉案资金|"
    r"(?:发放|补助|补贴|救助|保障|低保|资助|奖励|供养|缴费)标准"
)
_PEOPLE_CUES = re.compile(r"人数|人口|就业|毕业生|学生|员工|职工|干部|队员|志愿者|游客|患者|居民|群众|村民|农民")
_TIME_ASK = re.compile(
    r"多少(?:个)?(?:年|月|天|日|小时|分钟|工作日)|几(?:个)?(?:年|月|天|小时|工作日)|多久|多长时间|时限|期限|工期|时长|时数|车程|用时|耗时|时效|周期|停时|天数(?![比占率])|历时"
    r"|时间(?:压缩|缩短|减少|控制)?(?:了|为|是|在)?(?:到|至)?(?:多少|几)"
)
# Measured nouns whose figures have one family whatever the question's wording ("蓄水量是多少" → 立方米).
_NOUN_FAMILY: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"面积|用地|占地|建筑面积"), "area"),
    (re.compile(r"里程|长度|距离|总长"), "length"),
    (re.compile(r"降水量|降雨量|雨量|降雪量"), "length"),  # in 毫米
    (re.compile(r"蓄水量|库容|供水量|用水量|水量|排水量"), "volume"),
    (re.compile(r"货运量|产量|重量"), "mass"),
    (re.compile(r"成绩|用时|耗时"), "time"),
    (re.compile(r"客流量|客流|客运量|旅客发送量|游客量|人流量"), "people"),  # counted in 人次
    (re.compile(r"装机容量|发电量|用电量"), "energy"),
    (re.compile(r"浓度"), "density"),
    (re.compile(r"气温|温度|水温|体温"), "temperature"),
    (re.compile(r"寿命|年龄|岁数"), "age"),
)
# The question ends with the money noun its slot measures ("多少安家补贴？", "多少创业担保贷款"), with no verb
# between them that would make the slot count something else ("多少企业获得补贴").
_MONEY_AFTER_SLOT = re.compile(
    rf"(?:(?!获得|享受|得到|领取|申请|使用|拿到|收到|用于|参与|参加)[\u4e00-\u9fff]){{0,6}}?(?:{_MONEY_CUES.pattern})[？?。]?\s*"
)
_UNIT_FAMILY_EQUIV = {"钱": "money"}
# A share of a reference asked for ("恢复到2019年同期的多少", "相当于全省平均水平的多少", "完成年度计划的多少").
_SHARE_OF_RE = re.compile(
    r"(?:同期|上年|去年|全年|年度|计划|预算|目标|平均水平|水平|总量|总数|总额|全国|全省|全市)的(?:多少|几)"
    r"|[按占][^，,。？?]{1,12}的(?:多少|几)(?!倍)"  # "按评估价的多少给予奖励" → 一成, "占耕地面积的多少" → 七成以上
)
# A rate or a ratio compared with an earlier one ("占比比2021年提高多少" → 12.3个百分点, "收入比比上年缩小多少" → 0.06).
_RATE_CHANGE = re.compile(
    r"(?:(?P<rate>率|比重|占比|比例)|(?<![同环相对])比)(?=[比较])[^，,。？?]{1,14}?"
    r"(?:提高|提升|下降|降低|增加|减少|上升|回落|缩小|扩大|收窄)了?\s*$"
)
# A departure from the usual ("降水量较常年偏多多少"): in the noun's own unit or as a share (偏多12%, 偏高0.8℃).
_DEPARTURE_RE = re.compile(r"偏[多少高低]了?$")
# A rate compared with another's ("增速比城镇居民高多少", "覆盖率比全省平均水平高出多少").
_RATE_COMPARED = re.compile(r"(?:比重|占比|增幅|增速|增长率|率)[^，,。？?]{0,14}?(?:高|低|快|慢)出?了?\s*$")
_CUT_RE = re.compile(r"压缩|缩短|减少|降低|精简|节省|提速")
_PER_HEAD_RE = re.compile(r"每[十百千万]?人(?:口)?|人均|每百户|每户")


# A numbered thing named in a question ("第7号水渠", "2号线", "第3批"): its number is part of a name, never a
# figure of its own; "5月3号" is a date.
IDENTIFIER_RE = re.compile(r"(?<![\d.月])第?\d+(?:号线|号楼|号|期|届|批|标段)")


@functools.lru_cache(maxsize=1024)
def _identifier_pattern(ident: str) -> re.Pattern[str]:
    number, suffix = re.fullmatch(r"第?(\d+)(\D+)", ident).groups()  # type: ignore[union-attr]
    return re.compile(rf"(?<![\d.]){number}{re.escape(suffix)}")


def identifier_in(ident: str, text: str) -> bool:
    """Whether the identifier ``ident`` ("第7号") is in ``text`` as itself: "第7号" or "7号", not the "7号" of
    "第17号" nor the "2号线" of "12号线"."""
    return _identifier_pattern(ident).search(text) is not None


def measure_word(question: str) -> str:
    """The unit or measure word right after 多少/几 ("多少平方米" → 平方米, "多少户农村…" → 户), or ""."""
    m = MEASURE_RE.search(question)
    return (m.group("unit") or "") if m else ""


@dataclass(frozen=True, slots=True)
class AskedQuantity:
    """What a figure question wants: a unit ("公里"), a family ("money", "percent"), both, or neither."""

    unit: str
    family: str
    also: str = (
        ""  # a second family that answers too ("压缩办理时限多少": days, or a share "60%以上"); "number": a bare one
    )

    def accepts(self, figure: FigureSpan) -> float:
        """1 for a figure of the asked unit or family, 0.5 for a bare number where any figure may do,
        0 for a figure of another kind (it answers something else)."""
        if self.also and (figure.family == self.also or (self.also == "number" and not figure.unit)):
            return 1.0
        if figure.family == "time" and self.family != "time":
            return 0.0  # durations answer only questions about time ("近20年" is not a quantity asked)
        if self.unit:
            if figure.unit == self.unit or figure.unit.endswith(self.unit) or self.unit.endswith(figure.unit or "\0"):
                return 1.0
            if self.unit == "百分点" and figure.family == "percent":
                return 0.5  # a rate's change is given in points, now and then as a share
            if self.unit == "个" and figure.family == "count":
                # 个 is the general measure word: "多少个车站" may be answered "10座车站", less surely
                return 1.0 if figure.unit in ("个", "") else 0.5
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


def _time_is_condition(question: str, time: re.Match[str]) -> bool:
    """A time noun that sets a condition rather than names the asked quantity: 「在签约期限内…每户奖励多少」 (a period
    with 内 after it), 「按时限办结的…补贴多少」 (a money noun between it and the slot)."""
    if re.search(r"多少|几|多久|多长", time.group()):
        return False
    slot = MEASURE_RE.search(question, time.end())
    between = question[time.end() : slot.start() if slot else len(question)]
    return between.startswith(("内", "之内")) or bool(_MONEY_CUES.search(between))


@functools.lru_cache(maxsize=1024)
def asked_quantity(question: str) -> AskedQuantity:
    """The unit and family a figure question asks for: its measure word (多少公里 → 公里, 多少人 → people),
    else a growth/share word right before the slot (增长多少 → percent), else the measured noun (投资 → money)."""
    q = question.strip()
    if re.search(r"百分之(?:几|多少)|百分比|几成", q) or _SHARE_OF_RE.search(q):
        return AskedQuantity("", "percent")  # "恢复到2019年同期的多少", "完成预算的百分之多少"
    time = _TIME_ASK.search(q)
    if time and not _time_is_condition(q, time):
        m = MEASURE_RE.search(q)
        unit = m.group("unit") if m and m.group("unit") in UNIT_FAMILY else ""
        # A cut asked without its end point ("压缩办理时限多少", not "压缩到多少") may be given as a share.
        cut = bool(_CUT_RE.search(q)) and not re.search(r"[到至]\s*(?:多少|几)", q)
        return AskedQuantity(unit or "", "time", "percent" if cut and not unit else "")
    m = MEASURE_RE.search(q)
    slot = m.start() if m else len(q)
    before = q[:slot]
    unit = (m.group("unit") or "") if m else ""
    if unit in _UNIT_FAMILY_EQUIV:
        return AskedQuantity("", _UNIT_FAMILY_EQUIV[unit])
    if unit == "度" and re.search(r"温度|气温|水温|体温|室温", before):
        return AskedQuantity("", "temperature")  # "室内温度不低于多少度" → 18℃, not kilowatt-hours
    if unit:
        family = UNIT_FAMILY.get(unit, "")
        if family == "people":
            return AskedQuantity("", "people")
        if family == "money":
            return AskedQuantity("", "money")
        return AskedQuantity(unit, family)
    if m and _MONEY_AFTER_SLOT.fullmatch(q[m.end() :]):
        return AskedQuantity("", "money")  # "硕士研究生给予多少安家补贴": the noun after the slot is measured
    to_level = bool(re.search(r"[到至]\s*$", before))  # "提高到多少": a level, typed by its noun below
    # "参保率达到多少", "存贷比是多少" (a ratio named …比, not 同比/环比/相比/对比 before a change)
    rate = re.search(
        r"(?:率|比重|占比|比例|(?<![同环相对])比|(?:满意|知晓|依存|贡献|集中|认可|参与|覆盖|完成|达标)度)"
        r"(?:达到|达|为|是|提高到|提升到|降到|降至)?\s*$",
        before,
    )
    change = _RATE_CHANGE.search(before)
    if change:
        return AskedQuantity("百分点", "percent") if change.group("rate") else AskedQuantity("", "percent", "number")
    if rate and re.match(r"比(?![重例])", rate.group()):
        return AskedQuantity("", "percent", "number")  # "性别比是多少": 103.85, a ratio written as a bare number
    if rate or (not to_level and _PERCENT_SLOT.search(before.rstrip("了是为约达 "))):
        return AskedQuantity("", "percent")
    if re.search(r"(?:比重|占比|比例|增幅|增速|增长率|率)(?:是|为|有)?(?:多少|多大|几)?[？?]?$", q):
        return AskedQuantity("", "percent")
    if _RATE_COMPARED.search(before):  # "农村居民收入增速比城镇居民高多少": points, not the people named
        return AskedQuantity("", "percent")
    tail = before[-8:]
    for pattern, family in _NOUN_FAMILY:
        if pattern.search(tail) and not _MONEY_CUES.search(tail[-3:]):
            return AskedQuantity("", family, "percent" if _DEPARTURE_RE.search(before) else "")
    # The measured noun is the last cue before the slot ("城乡居民基础养老金…" → money, not people); a rate per
    # head ("每千人口床位数", "人均…") names no people being counted.
    cues = _PER_HEAD_RE.sub(lambda m: " " * len(m.group()), before or q)
    money = [m.end() for m in _MONEY_CUES.finditer(cues)]
    people = [m.end() for m in _PEOPLE_CUES.finditer(cues)]
    counted = re.search(r"(?:项目|企业|家|个)(?:数|数量)?(?:是|有|为)?$", before)
    if money and not counted and (not people or max(money) >= max(people)):
        return AskedQuantity("", "money")
    if people and not money:
        return AskedQuantity("", "people")
    if people and max(people) > max(money):
        return AskedQuantity("", "people")
    if _PERCENT_CUES.search(before[-6:]):
        return AskedQuantity("", "percent")
    return AskedQuantity("", "")
