"""Figure questions (rag/quantities.py): whole figures, clauses, the asked kind, and which figure answers.

The sentences are written for these tests, in the style of county reports, one per class of error the
exact-answers issue lists: the wrong figure of a many-figure sentence, a dropped unit or qualifier, a figure
of the wrong kind, the wrong sentence, no figure at all, and subject words spread over the clause."""

from __future__ import annotations

import pytest

from rag.parallel_items import listed_items
from rag.quantities import (
    MIN_FOCUS,
    AskedQuantity,
    asked_quantity,
    best_figure,
    clauses,
    find_figures,
    focus_terms,
    measure_word,
)
from rag.questions import analyse_question


def texts(sentence: str) -> list[str]:
    return [f.text for f in find_figures(sentence)]


def answer(question: str, sentence: str) -> str | None:
    """The figure ``best_figure`` picks in ``sentence`` for ``question``, when its clause carries the focus."""
    qa = analyse_question(question)
    weights = {t.text: 1.0 for t in qa.terms}
    choice = best_figure(sentence, asked_quantity(question), focus_terms(qa.terms), weights, question)
    if choice is None or choice.focus < MIN_FOCUS:
        return None
    return choice.figure.text


# --- whole figures -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("全年办理各类案件1205件，开展普法活动9场次", ["1205件", "9场次"]),
        ("惠及农户2.6万户，新增库容5000万立方米", ["2.6万户", "5000万立方米"]),
        ("发放补助180多万元，吸纳就业1000余人", ["180多万元", "1000余人"]),
        ("承诺在30个工作日以内办结，最长不超过45个工作日", ["30个工作日以内", "不超过45个工作日"]),
        ("建成约3.1万平方米厂房，覆盖超过500人", ["约3.1万平方米", "超过500人"]),
        ("审结1,205件，标的额12.6亿元", ["1,205件", "12.6亿元"]),
        ("补贴每人每月680元，奖励10-15万元，期限3至5年", ["每人每月680元", "10-15万元", "3至5年"]),
        ("新建三所学校，增长百分之十四点五", ["三所", "百分之十四点五"]),
        ("贫困发生率由18.6%降至0.72%，提高2.5个百分点", ["18.6%", "0.72%", "2.5个百分点"]),
    ],
)
def test_figures_keep_magnitude_unit_and_qualifier(sentence: str, expected: list[str]) -> None:
    assert texts(sentence) == expected


def test_a_ratio_of_parts_is_one_figure() -> None:
    assert "7.7:37.9:54.4" in texts("三次产业结构调整为7.7:37.9:54.4，结构持续优化")
    bulletin = "北湾县三次产业结构调整为7.7:37.9:54.4，结构持续优化。"
    assert answer("北湾县三次产业结构是多少？", bulletin) == "7.7:37.9:54.4"
    sentence = "三次产业结构调整为7.7:37.9:54.4，城镇化率为64.7%"  # a colon between digits ends no clause
    assert [sentence[a:b] for a, b in clauses(sentence)] == ["三次产业结构调整为7.7:37.9:54.4", "城镇化率为64.7%"]


def test_dates_ordinals_and_the_article_one_are_not_figures() -> None:
    assert texts("2022年5月8日，第3次会议组建一个工作专班，统一部署") == []
    assert texts("2024北湾马拉松昨日开跑，共有2024名选手参赛") == ["2024名"]  # a year naming an edition
    assert texts("2021—2025年规划新建12所学校") == ["12所"]


def test_durations_are_figures_of_time() -> None:
    (figure,) = find_figures("衡水湖蓄水量达到近20年最高水平")
    assert figure.text == "近20年" and figure.family == "time"


def test_clauses_split_at_clause_marks_but_not_inside_a_number() -> None:
    sentence = "审结案件1,205件,其中刑事案件312件、民事案件893件；结案率95%"
    assert [sentence[s:e] for s, e in clauses(sentence)] == [
        "审结案件1,205件",
        "其中刑事案件312件",
        "民事案件893件",
        "结案率95%",
    ]


# --- what kind of figure is asked for -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "unit", "family"),
    [
        ("石泉县新建农村公路多少公里？", "公里", "length"),
        ("高校毕业生就业多少人？", "", "people"),
        ("选派了多少名队员？", "", "people"),
        ("建设街头游园多少个？", "个", "count"),
        ("城镇居民人均可支配收入增长了多少？", "", "percent"),
        ("税收收入占一般公共预算收入的比重是多少？", "", "percent"),
        ("全县一般公共预算收入是多少？", "", "money"),
        ("完成固定资产投资多少？", "", "money"),
        ("不动产登记几个工作日内办结？", "个工作日", "time"),
        ("衡水湖蓄水量是多少？", "", "volume"),
        ("新建厂房面积是多少？", "", "area"),
        # the money noun after the slot is what is measured, whoever is named before it
        ("对新就业的硕士研究生给予多少安家补贴？", "", "money"),
        ("高校毕业生最高可申请多少创业担保贷款？", "", "money"),
        ("有多少企业获得补贴？", "", ""),  # a count of firms: a verb stands between the slot and the money
        # a rate compared with another's is a share
        ("农村居民收入增速比城镇居民高多少？", "", "percent"),
        ("单位地区生产总值能耗降低多少？", "", "percent"),  # a cut asked, not the GDP named
        ("重点监测的百货、购物中心客流量是多少？", "", "people"),  # 人次, not the sales beside it
    ],
)
def test_the_question_types_the_figure_it_wants(question: str, unit: str, family: str) -> None:
    assert asked_quantity(question) == AskedQuantity(unit, family)


def test_the_measure_word_is_a_known_unit_not_the_next_characters() -> None:
    assert measure_word("完成多少户农村危房改造？") == "户"
    assert measure_word("新建标准化厂房多少万平方米？") == "平方米"
    assert measure_word("收入是多少？") == ""


# --- which figure answers: the seven classes --------------------------------------------------------------------

MANY = "全年新增城镇就业4120人,其中高校毕业生就业1350人,返乡创业620人"
PROJECTS = "全年新签约亿元以上项目52个，新开工37个，新竣工21个，其中5亿元以上项目14个、10亿元以上项目6个"


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("全县高校毕业生就业多少人？", "1350人"),
        ("返乡创业多少人？", "620人"),
        ("全年新增城镇就业多少人？", "4120人"),
    ],
)
def test_the_figure_of_the_clause_that_names_the_asked_quantity(question: str, expected: str) -> None:
    assert answer(question, MANY) == expected


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("新开工亿元以上项目多少个？", "37个"),
        ("新竣工亿元以上项目多少个？", "21个"),
        ("签约亿元以上项目多少个？", "52个"),
    ],
)
def test_elliptical_clauses_inherit_the_noun_they_continue(question: str, expected: str) -> None:
    assert answer(question, PROJECTS) == expected


@pytest.mark.parametrize(
    ("question", "sentence", "expected"),
    [
        (
            "城镇居民人均可支配收入是多少？",
            "城镇居民人均可支配收入41230元，增长5.2%；农村居民人均可支配收入18760元，增长7.1%",
            "41230元",
        ),
        (
            "农村居民人均可支配收入是多少？",
            "城镇居民人均可支配收入41230元，增长5.2%；农村居民人均可支配收入18760元，增长7.1%",
            "18760元",
        ),
        (
            "农村居民人均可支配收入增长多少？",
            "城镇居民人均可支配收入41230元，增长5.2%；农村居民人均可支配收入18760元，增长7.1%",
            "7.1%",
        ),
        ("重点项目完成投资多少？", "实施重点项目42个，总投资318亿元，完成投资76.5亿元", "76.5亿元"),
        ("重点项目总投资多少？", "实施重点项目42个，总投资318亿元，完成投资76.5亿元", "318亿元"),
        ("高新技术企业有多少家？", "全市规模以上工业企业、高新技术企业分别达到412家、86家", "86家"),
        ("在多少个安置点建成社区工厂？", "在45个安置点建成社区工厂63个", "45个"),
    ],
)
def test_contrasting_words_pick_the_clause(question: str, sentence: str, expected: str) -> None:
    assert answer(question, sentence) == expected


@pytest.mark.parametrize(
    ("question", "sentence", "expected"),
    [
        ("全年办理各类案件多少件？", "全年办理各类案件1205件，开展普法宣传9场次", "1205件"),
        ("开展普法宣传多少场次？", "全年办理各类案件1205件，开展普法宣传9场次", "9场次"),
        ("惠及多少户？", "项目总投资3.2亿元，惠及2.6万户", "2.6万户"),
        ("发放教育资助资金多少？", "资助学生3200人次，发放教育资助资金180多万元", "180多万元"),
        ("企业开办时间压缩至多少？", "企业开办时间压缩至1个工作日，一般事项30个工作日以内办结", "1个工作日"),
        ("一般事项多少个工作日内办结？", "企业开办时间压缩至1个工作日，一般事项30个工作日以内办结", "30个工作日以内"),
        ("力争引回返乡创业多少人以上？", "全年力争引回返乡创业4000人以上", "4000人以上"),
    ],
)
def test_the_short_answer_is_the_whole_figure(question: str, sentence: str, expected: str) -> None:
    assert answer(question, sentence) == expected


@pytest.mark.parametrize(
    ("question", "sentence", "expected"),
    [
        ("一般公共预算收入是多少？", "一般公共预算收入8.6亿元，增长3%", "8.6亿元"),
        ("一般公共预算收入增长多少？", "一般公共预算收入8.6亿元，增长3%", "3%"),
        ("引进项目投资多少？", "引进企业12家，项目投资25亿元", "25亿元"),
        ("组建了多少个工作专班？", "组建一个工作专班，统筹推进项目建设", None),
        ("衡水湖蓄水量是多少？", "衡水湖蓄水量达到近20年最高水平", None),
    ],
)
def test_a_figure_of_another_kind_never_answers(question: str, sentence: str, expected: str | None) -> None:
    assert answer(question, sentence) == expected


def test_a_subset_or_a_flow_does_not_answer_a_question_about_the_whole() -> None:
    # the clause adds a condition the question lacks
    assert answer("10亿元以上项目多少个？", PROJECTS) == "6个"
    # new ones counted where the total is asked, and the reverse
    assert answer("规模以上工业企业总数是多少家？", "新增规模以上工业企业23家") is None
    assert answer("图书馆新增藏书多少册？", "图书馆总藏书42.6万册") is None


def test_subject_words_spread_over_the_clause() -> None:
    assert answer("完成多少户危房改造？", "住房保障方面，全年完成32户农村危房改造") == "32户"


@pytest.mark.parametrize(
    ("text", "items"),
    [
        ("全国铁路、公路、水路、民航共发送旅客", ["铁路", "公路", "水路", "民航"]),
        ("城镇、农村居民人均可支配收入", ["城镇", "农村"]),
        ("没有列举的句子", []),
    ],
)
def test_listed_items_are_cut_to_the_width_of_their_siblings(text: str, items: list[str]) -> None:
    found = listed_items(text)
    assert [text[a:b] for spans in found for a, b in spans] == items


# --- the classes the second round of the exact-answers work fixed (sentences written for these tests) ---------


@pytest.mark.parametrize(
    ("question", "family", "also"),
    [
        ("城乡居民基础养老金最低标准是多少？", "money", ""),  # the last cue names the measured noun
        ("每千人口医生数是多少？", "", ""),  # a rate per head counts no people
        ("游客人均消费是多少？", "money", ""),
        ("旅游收入恢复到2019年同期的多少？", "percent", ""),  # a share of a reference
        ("一般公共预算收入完成预算的百分之多少？", "percent", ""),
        ("平均压缩审批时限多少？", "time", "percent"),  # a cut without its end point may be a share
        ("审批时限压缩到多少？", "time", ""),
        ("快递平均配送时效是多少？", "time", ""),
    ],
)
def test_the_measured_noun_and_the_reference_type_the_figure(question: str, family: str, also: str) -> None:
    asked = asked_quantity(question)
    assert (asked.family, asked.also) == (family, also)


@pytest.mark.parametrize(
    ("question", "sentence", "expected"),
    [
        # the question names an item the sentence breaks down after its total
        ("农村敬老对象有多少人？", "全镇敬老对象1,520人，其中城镇敬老对象410人、农村敬老对象1,110人", "1,110人"),
        ("办理环境保护领域案件多少件？", "全年办理公益案件640件，其中环境保护领域215件、文物保护领域37件", "215件"),
        ("年内新增规上企业几家？", "全镇有规上企业31家，年内新增6家", "6家"),
        # … but not when the figure counts the very thing asked and the rest describes it
        ("在多少个社区建成养老驿站、助餐点？", "在46个社区建成养老驿站、助餐点87个", "46个"),
        # names listed before the counted noun do not make the clause "about something else"
        ("新建了几所学校？", "新建河西第二中学和南关小学两所学校，改扩建学校5所", "两所"),
        ("有多少家民宿？", "全镇35家农家乐、128家民宿平均入住率达到81%", "128家"),
        # a negation belongs to its word
        ("决定不起诉多少人？", "决定起诉3,120人，对情节轻微的决定不起诉806人", "806人"),
        # the generic measure noun a report leaves out
        ("首次创业补贴标准是多少？", "对首次创业人员给予一次性补贴，每户补贴3000至8000元", "3000至8000元"),
        # a list of names is no clause of its own ("分为A、B、C四类")
        ("人才分成几类？", "将人才分为A、B、C、D四类，分层给予支持", "四类"),
        # a condition written as 超/逾 before the figure
        ("共签约多少个项目？", "共签约项目31个，其中超5亿元项目8个、外资项目2个", "31个"),
        # the qualifier stays even when the question says it
        ("不动产登记几个工作日内办结？", "不动产一般登记5个工作日内办结", "5个工作日内"),
        ("受理来信来访多少件次？", "受理群众来信来访3,408件次，办结率98%", "3,408件次"),
    ],
)
def test_breakdowns_names_and_negations(question: str, sentence: str, expected: str) -> None:
    assert answer(question, sentence) == expected


def test_numbers_that_name_are_not_figures() -> None:
    assert "05" not in texts("地铁12号线二期05标项目部附近，共设14座车站")
    assert texts("施工03合同段，位于19号线") == []
    assert answer("地铁12号线二期共有多少个车站？", "地铁12号线二期05标项目部附近，共设14座车站") == "14座"


def test_a_leading_place_is_cut_on_its_own() -> None:
    terms = [t.text for t in analyse_question("峡口县村道通车里程多少？").terms]
    assert "村道" in terms and "县村" not in terms
    subject = {t.text for t in analyse_question("安平经开区一季度共签约多少个项目？").terms if t.subject}
    assert subject == {"安平", "经开区"}


RURAL = "农村居民人均可支配收入16,210元，增长7.2%，高于城镇居民收入增速1.5个百分点"
BOTH = "城乡居民人均可支配收入分别为31,460元和14,980元，分别增长4.9%和6.6%"


@pytest.mark.parametrize(
    ("question", "sentence", "expected"),
    [
        # another item of a parallel group than the one asked: no answer
        ("城镇居民人均可支配收入是多少？", RURAL, None),
        ("农村居民人均可支配收入是多少？", RURAL, "16,210元"),
        # a combined figure when a breakdown names the asked item alone
        ("新建了多少座公厕？", "新建改造公厕36座，其中新建14座、改造22座", "14座"),
        ("改造公厕多少座？", "新建改造公厕36座，其中新建14座、改造22座", "22座"),
        ("出口额是多少？", "进出口总额412亿元，其中出口268亿元、进口144亿元", "268亿元"),
        ("进出口总额是多少？", "进出口总额412亿元，其中出口268亿元、进口144亿元", "412亿元"),
        # 城乡 …分别: urban first, then rural
        ("农村居民人均可支配收入增长多少？", BOTH, "6.6%"),
        ("城镇居民人均可支配收入是多少？", BOTH, "31,460元"),
        # the noun a list shares is not its last item's own
        ("城市低保标准提高到多少？", "城市、农村低保标准分别提高到每人每月690元和每人每年5,900元", "每人每月690元"),
        # the asked kind from the rate before the slot and from the last cue
        ("城乡居民医保参保率达到多少？", "城乡居民医保参保率达到96.4%，参保人数达到38.2万人", "96.4%"),
        ("为群众挽回损失多少？", "侦破电信诈骗案件420起，为群众挽回损失1,860余万元", "1,860余万元"),
    ],
)
def test_parallel_items_and_the_asked_kind(question: str, sentence: str, expected: str | None) -> None:
    assert answer(question, sentence) == expected


def test_a_leading_place_ends_before_a_time_word() -> None:
    subject = {t.text for t in analyse_question("梅岭县一季度农村居民人均可支配收入是多少？").terms if t.subject}
    assert subject == {"梅岭", "县"}


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("南屏县年平均气温15.2℃，较常年偏高0.6℃。", ["15.2℃", "0.6℃"]),  # a temperature keeps its sign
        ("南屏县人均预期寿命78.6岁。", ["78.6岁"]),  # an age keeps 岁
        ("南屏县孕产妇死亡率为9.6/10万，新生儿死亡率为1.9‰。", ["9.6/10万", "1.9‰"]),  # a rate per 100,000
        ("申请人应在收到通知之日起十日内补正材料。", ["十日内"]),  # a period, not the 10th of a month
        ("会议定于5月10日召开。", []),  # … which this is
        ("对按期签约的，按评估价的一成给予奖励。", ["一成"]),  # a share, not the article 一
        ("这一做法多年来一成不变。", []),  # an idiom
    ],
)
def test_temperatures_ages_rates_periods_and_shares_are_whole_figures(sentence: str, expected: list[str]) -> None:
    assert texts(sentence) == expected


@pytest.mark.parametrize(
    ("question", "family", "also"),
    [
        ("南屏县年降水量是多少？", "length", ""),  # precipitation is in 毫米, not a volume
        ("南屏县年降水量较常年偏少多少？", "length", "percent"),  # a departure: in 毫米 or as a share
        ("南屏县年平均气温较常年偏高多少？", "temperature", "percent"),
        ("南屏县全年日照时数是多少？", "time", ""),
        ("南屏县人均预期寿命是多少？", "age", ""),
        ("南屏县在规定期限内完成改造的每户奖励多少？", "money", ""),  # the period is a condition, not asked
        ("南屏县按期签约的按评估价的多少给予奖励？", "percent", ""),  # a share of a reference
    ],
)
def test_the_asked_kind_of_weather_ages_and_conditions(question: str, family: str, also: str) -> None:
    asked = asked_quantity(question)
    assert (asked.family, asked.also) == (family, also)


def test_hours_and_months_with_duo_and_ban_are_whole_durations() -> None:
    assert texts("车程由原来的3个多小时缩短至20分钟左右，工期2个半月。") == ["3个多小时", "20分钟左右", "2个半月"]


@pytest.mark.parametrize(
    ("question", "unit", "family", "also"),
    [
        ("南屏县通车后车程缩短至多少？", "", "time", ""),  # 车程 is a travel time
        ("南屏县高标准农田占耕地面积的多少？", "", "percent", ""),  # a share of a reference
        ("南屏县居民住宅室内温度不低于多少度？", "", "temperature", ""),  # 度 of a temperature, not kWh
        ("南屏县教师本科学历占比比2021年提高多少？", "百分点", "percent", ""),  # a rate's change: points
        ("南屏县城乡居民收入比比上年缩小多少？", "", "percent", "number"),  # a ratio's change: a bare number
        ("南屏县人身险赔款是多少？", "", "money", ""),
    ],
)
def test_travel_times_shares_degrees_and_changes_of_rates(question: str, unit: str, family: str, also: str) -> None:
    assert asked_quantity(question) == AskedQuantity(unit, family, also)


def test_a_temperature_below_zero_keeps_its_sign() -> None:
    assert texts("北部山区最低气温将降至零下12℃左右。") == ["零下12℃左右"]


def test_a_number_glued_to_a_latin_letter_is_a_name_and_a_return_period_is_whole() -> None:
    assert texts("建成5G基站1,020个，4A级景区6家。") == ["1,020个", "6家"]
    assert texts("下游防洪标准提高到100年一遇。") == ["100年一遇"]


@pytest.mark.parametrize(
    ("question", "family"),
    [
        ("南屏县群众安全感满意度是多少？", "percent"),  # a 度 of satisfaction is a share, not people
        ("南屏县下游防洪标准提高到多少年一遇？", "time"),
    ],
)
def test_satisfaction_is_a_share_and_a_return_period_a_time(question: str, family: str) -> None:
    assert asked_quantity(question).family == family
