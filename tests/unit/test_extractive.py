"""The extractive answer backend on hand-made hits: spans, markers, refusals and streaming."""

from __future__ import annotations

import random
import re
from collections.abc import Generator, Sequence

import pytest

from rag.backends.extractive import NOT_FOUND_EN, NOT_FOUND_ZH, ExtractiveGenerator
from rag.questions import AnswerKind, analyse_question
from rag.types import Chunk, Draft, Hit, ReaderSpan

MARKER = re.compile(r"\s*\[(\d+)\]")


def make_hit(text: str, n: int = 0, *, title: str = "", source: str = "") -> Hit:
    chunk = Chunk(id=f"c{n}", doc_id=f"d{n}", text=text, start=0, end=len(text), position=n)
    return Hit(chunk=chunk, score=1.0 / (n + 1), title=title, source=source or f"corpus/{n:03d}_doc.txt")


def run(question: str, hits: Sequence[Hit], **kwargs: float) -> tuple[list[str], Draft]:
    return drain(ExtractiveGenerator(**kwargs).generate(question, hits))  # type: ignore[arg-type]


def drain(stream: Generator[str, None, Draft]) -> tuple[list[str], Draft]:
    pieces: list[str] = []
    while True:
        try:
            pieces.append(next(stream))
        except StopIteration as stop:
            assert isinstance(stop.value, Draft)
            return pieces, stop.value


REPORT = (
    "过去的一年,恒口示范区(试验区)一般财政预算收入达到5341万元,超额完成目标任务;完成固定资产投资45亿元,"
    "同比增长11.2%;规模以上工业增加值增长14.5%;新建标准化厂房3.1万平方米;引进外资企业1户。"
)
HAILING = "海陵区深入实施城市功能升级行动。征收搬迁14个地块、36万平方米。建设街头游园12个,新增成片造林面积828亩。"
OFF_TOPIC = "衡水湖码头与远处恢宏的省园博园构成一幅和谐美丽的画卷。本版图片均由记者摄。"


def test_figure_question_gets_exact_span_with_unit_and_marker() -> None:
    pieces, draft = run("恒口示范区一般财政预算收入是多少？", [make_hit(REPORT)])
    answer = "".join(pieces)
    assert draft.grounded
    assert draft.short_answer == "5341万元"
    assert "5341万元" in answer and answer.rstrip().endswith("[1]")


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("恒口示范区新建标准化厂房多少平方米？", "3.1万平方米"),
        ("恒口示范区规模以上工业增加值增长了多少？", "14.5%"),
        ("恒口示范区完成固定资产投资多少？", "45亿元"),
        ("海陵区建设街头游园多少个？", "12个"),
        ("海陵区征收搬迁了多少个地块？", "14个"),
    ],
)
def test_figure_nearest_to_the_question_words(question: str, expected: str) -> None:
    _, draft = run(question, [make_hit(REPORT, 0), make_hit(HAILING, 1)])
    assert draft.short_answer == expected


ALL_KINDS = frozenset(AnswerKind)


def test_person_question_quotes_the_sentence_and_gives_no_name_by_default() -> None:
    text = "“成绩的背后,是全区干部勤政为民换来的。”恒口示范区(试验区)党工委副书记、管委会主任吴大林说。"
    pieces, draft = run("恒口示范区管委会主任是谁？", [make_hit(text)])
    assert draft.grounded and draft.short_answer is None and "吴大林" in "".join(pieces)
    # The span rules still find the name when asked to give one.
    _, draft = drain(
        ExtractiveGenerator(short_kinds=ALL_KINDS).generate("恒口示范区管委会主任是谁？", [make_hit(text)])
    )
    assert draft.short_answer == "吴大林"


def test_date_question() -> None:
    text = "2021年6月,经省府批准同意示范区申报安康保税物流中心(B型),目前已完成项目可研报告。"
    _, draft = run("示范区什么时候获批申报安康保税物流中心？", [make_hit(text)])
    assert draft.grounded and draft.short_answer == "2021年6月"


def test_place_question() -> None:
    text = "国际乒联宣布,2022年世界乒乓球团体锦标赛将在成都举行,比赛为期十天。"
    question = "2022年世界乒乓球团体锦标赛在哪里举行？"
    pieces, draft = run(question, [make_hit(text)])
    assert draft.grounded and draft.short_answer is None and "成都" in "".join(pieces)
    _, draft = drain(ExtractiveGenerator(short_kinds=ALL_KINDS).generate(question, [make_hit(text)]))
    assert draft.short_answer == "成都"


@pytest.mark.parametrize(
    ("question", "text", "expected"),
    [
        (
            "2022春节档票房冠军是哪部电影？",
            "截至2月5日零时,2022春节档总票房突破45亿。其中,《长津湖之水门桥》成为春节档票房冠军。",
            "长津湖之水门桥",
        ),
        ("北京冬奥会吉祥物叫什么？", "17日,北京冬奥会吉祥物“冰墩墩”在首钢冰球馆揭开面纱。", "冰墩墩"),
    ],
)
def test_title_question_gets_the_quoted_name(question: str, text: str, expected: str) -> None:
    _, draft = run(question, [make_hit(text)])
    assert draft.grounded and draft.short_answer == expected


def test_title_question_does_not_answer_with_a_name_it_already_holds() -> None:
    text = "电影《人生路不熟》上映首日,观众称赞这部喜剧让人开心。"
    qa = analyse_question("《人生路不熟》是什么电影？")
    assert qa.kind is AnswerKind.TITLE
    _, draft = run("《人生路不熟》是什么电影？", [make_hit(text)])
    assert draft.short_answer is None


def test_question_kinds() -> None:
    assert analyse_question("汉滨区的人口是多少？").kind is AnswerKind.FIGURE
    assert analyse_question("黄河大桥哪一年建成？").kind is AnswerKind.DATE
    assert analyse_question("海底捞的新任首席执行官是谁？").kind is AnswerKind.PERSON
    assert analyse_question("首届世界职业技术教育发展大会在哪举办").kind is AnswerKind.PLACE
    assert analyse_question("苹果芯片首席设计师去了哪家公司").kind is AnswerKind.ORG
    assert analyse_question("RCEP具体包括哪些国家").kind is AnswerKind.LIST
    assert analyse_question("2022春节档票房冠军是哪部电影").kind is AnswerKind.TITLE
    assert analyse_question("卡塔尔世界杯吉祥物叫什么名字").kind is AnswerKind.TITLE
    assert analyse_question("衡水市对过剩产能怎么处理？").kind is AnswerKind.OTHER


def test_no_hits_is_not_grounded() -> None:
    pieces, draft = run("恒口示范区新建标准化厂房多少平方米？", [])
    assert pieces == [NOT_FOUND_ZH]
    assert not draft.grounded and draft.short_answer is None and draft.reason


def test_off_topic_hits_are_not_grounded() -> None:
    pieces, draft = run("珠穆朗玛峰的海拔是多少米？", [make_hit(OFF_TOPIC, 0), make_hit(HAILING, 1)])
    assert pieces == [NOT_FOUND_ZH] and not draft.grounded


def test_a_place_the_evidence_does_not_name_is_not_grounded() -> None:
    # Every other word matches; the city does not ("陕西安康" must not count as "西安").
    text = "陕西安康恒口示范区新建标准化厂房3.1万平方米。"
    _, draft = run("西安市新建标准化厂房多少平方米？", [make_hit(text)])
    assert not draft.grounded


def test_a_year_the_evidence_does_not_hold_is_not_grounded() -> None:
    _, draft = run("恒口示范区2015年的一般财政预算收入是多少？", [make_hit(REPORT, title="2019年工作回顾")])
    assert not draft.grounded


def test_english_question_gets_english_refusal() -> None:
    pieces, draft = run("What is the height of Mount Everest?", [make_hit(OFF_TOPIC)])
    assert pieces == [NOT_FOUND_EN] and not draft.grounded


def test_marker_points_at_the_hit_that_holds_the_sentence() -> None:
    hits = [make_hit(OFF_TOPIC, 0), make_hit(REPORT, 1), make_hit(HAILING, 2)]
    pieces, draft = run("海陵区建设街头游园多少个？", hits)
    first = pieces[0]
    assert MARKER.findall(first) == ["3"]
    assert MARKER.sub("", first) in HAILING
    assert draft.short_answer == "12个"


def test_two_sentence_answer_streams_in_pieces() -> None:
    hits = [
        make_hit("恒口示范区全力发展毛绒玩具产业,全年吸引10家毛绒玩具企业落户示范区。", 0),
        make_hit("恒口示范区依托区位优势发展商贸物流产业,京东物流园等签约项目进入实质建设阶段。", 1),
    ]
    pieces, draft = run("恒口示范区怎样发展毛绒玩具产业和商贸物流产业？", hits, min_support=0.3)
    assert len(pieces) == 2
    assert {m for p in pieces for m in MARKER.findall(p)} == {"1", "2"}
    assert draft.grounded and draft.short_answer is None


def test_max_sentences_one_gives_one_piece() -> None:
    hits = [make_hit(REPORT, 0), make_hit(HAILING, 1)]
    pieces, _ = run("恒口示范区新建标准化厂房和海陵区街头游园各多少？", hits, max_sentences=1, min_support=0.0)
    assert len(pieces) == 1


def test_short_answer_is_always_a_substring_of_the_cited_text() -> None:
    """Property: over random passages and questions, the short answer lies in a cited chunk and every
    answer sentence is verbatim text of the hit its marker names."""
    rng = random.Random(7)
    places = ["恒口示范区", "海陵区", "汉滨区", "衡水市", "泰州市"]
    things = ["标准化厂房", "街头游园", "安置社区", "重点项目", "政务服务事项", "专职工作队队员", "农业园区"]
    verbs = ["新建", "建设", "完成", "选派", "梳理", "引进"]
    units = ["个", "项", "名", "万平方米", "亿元", "%", "户"]
    for _ in range(200):
        hits = []
        for n in range(rng.randint(1, 4)):
            sentences = [
                f"{rng.choice(places)}{rng.choice(verbs)}{rng.choice(things)}"
                f"{rng.randint(1, 9999)}{rng.choice(['', '.5'])}{rng.choice(units)}"
                f"{rng.choice(['', ',同比增长' + str(rng.randint(1, 30)) + '%'])}{rng.choice(['。', ';', '！'])}"
                for _ in range(rng.randint(1, 5))
            ]
            hits.append(make_hit("".join(sentences), n))
        question = f"{rng.choice(places)}{rng.choice(verbs)}{rng.choice(['了', ''])}多少{rng.choice(things)}？"
        pieces, draft = run(question, hits, min_support=0.0)
        answer = "".join(pieces)
        cited = [int(n) for n in MARKER.findall(answer)]
        assert all(1 <= n <= len(hits) for n in cited)
        for piece in pieces:
            for n in MARKER.findall(piece):
                assert MARKER.sub("", piece).strip() in hits[int(n) - 1].chunk.text
        if draft.short_answer is not None:
            assert any(draft.short_answer in hits[n - 1].chunk.text for n in cited)
            assert draft.short_answer in answer


def test_the_sources_own_reference_marks_are_not_quoted_as_citations() -> None:
    text = "KF-21始于2016年由韩国主导、印尼参与研发与投资的KF-X项目[3][4],目标是作为韩国空军将来采用的战斗机[注 9]。"
    pieces, draft = run("KF-21战斗机由哪个国家主导研发？", [make_hit(text, 0), make_hit(OFF_TOPIC, 1)])
    answer = "".join(pieces)
    assert draft.grounded
    assert [int(n) for n in MARKER.findall(answer)] == [1], answer
    assert "[3]" not in answer and "[注 9]" not in answer


SHIQUAN = "2022年，石泉县完成地区生产总值128.6亿元，增长7.3%。全县新建农村公路186公里，改造危桥12座。"


def test_the_sentence_whose_clause_holds_the_asked_figure_wins() -> None:
    # The first sentence holds more of the question's words; the second holds the asked quantity.
    pieces, draft = run("石泉县2022年新建农村公路多少公里？", [make_hit(SHIQUAN, title="石泉县2022年经济运行情况")])
    assert draft.grounded and draft.short_answer == "186公里"
    assert "".join(pieces).startswith("全县新建农村公路186公里")


def test_no_figure_of_the_asked_kind_quotes_the_sentence_without_a_short_answer() -> None:
    text = "衡水湖生态持续向好，衡水湖蓄水量达到近20年最高水平，候鸟种群数量逐年增加。"
    pieces, draft = run("衡水湖蓄水量是多少？", [make_hit(text, title="衡水湖生态保护")])
    assert draft.grounded and draft.short_answer is None and draft.no_figure
    assert "蓄水量达到近20年最高水平" in "".join(pieces)


def test_a_figure_question_answered_with_a_figure_has_no_no_figure_flag() -> None:
    _, draft = run("恒口示范区一般财政预算收入是多少？", [make_hit(REPORT)])
    assert draft.short_answer == "5341万元" and not draft.no_figure


def test_subject_words_spread_over_the_sentence_are_not_a_refusal() -> None:
    text = "住房安全保障方面，南湖县全年完成32户农村危房改造，户均补助1.8万元。"
    _, draft = run("南湖县完成多少户危房改造？", [make_hit(text, title="南湖县住房保障")])
    assert draft.grounded and draft.short_answer == "32户"


def test_one_hit_of_each_kind_of_figure_question() -> None:
    text = "全年新增城镇就业4120人,其中高校毕业生就业1350人,返乡创业620人。全县城镇登记失业率3.2%。"
    hits = [make_hit(text, title="桐城县就业工作")]
    assert run("桐城县高校毕业生就业多少人？", hits)[1].short_answer == "1350人"
    assert run("桐城县城镇登记失业率是多少？", hits)[1].short_answer == "3.2%"


def test_a_numbered_thing_in_the_question_is_matched_whole() -> None:
    # "第7号" names the canal: a bare 7 must not match the 7公里 of canal No. 1168, nor 第17号.
    hits = [
        make_hit("青山镇第1168号水渠全长7公里，灌溉农田276亩。", 0),
        make_hit("青山镇第17号水渠全长20公里，灌溉农田219亩。", 1),
        make_hit("青山镇第7号水渠全长10公里，灌溉农田149亩。", 2),
    ]
    _, draft = run("青山镇第7号水渠全长多少公里？", hits)
    assert draft.grounded and draft.short_answer == "10公里", draft
    _, draft = run("青山镇第9号水渠全长多少公里？", hits)
    assert draft.short_answer != "7公里" and draft.short_answer != "20公里" and draft.short_answer != "10公里", draft


def test_a_date_answers_when_its_clause_holds_the_asked_event_not_the_dateline() -> None:
    # Written for this test: the first sentence holds most question words and the dateline's date.
    hits = [
        make_hit(
            "新华社合肥3月12日电（记者 王明）记者12日获悉，青禾动力电池有限公司第三生产基地项目当日在合肥签约落地。"
            "项目总投资80亿元，预计2027年9月建成投产。",
            0,
        ),
    ]
    _, draft = run("青禾动力电池合肥第三生产基地预计什么时候建成投产？", hits)
    assert draft.grounded and draft.short_answer == "2027年9月", draft
    _, draft = run("青禾动力电池第三生产基地项目什么时候签约落地？", hits)
    assert draft.short_answer == "3月12日", draft  # the dateline is the date of what the first sentence reports


def test_an_exhibition_lasts_to_the_date_after_zhi() -> None:
    hits = [
        make_hit(
            "本报讯（记者 李红）10月8日，“江南织造”非遗展在市博物馆开展，展出织物120件。展览将持续至2026年1月4日。", 0
        )
    ]
    _, draft = run("“江南织造”非遗展将持续到什么时候？", hits)
    assert draft.short_answer == "2026年1月4日", draft


class ScriptedReader:
    """A reader whose span and probability the test sets: the wiring around the learned reader, without it."""

    threshold = 0.5

    def __init__(self, answer: str, probability: float) -> None:
        self.answer, self.probability = answer, probability
        self.calls: list[tuple[str, int]] = []

    def read(self, question: str, passages: Sequence[str]) -> ReaderSpan | None:
        self.calls.append((question, len(passages)))
        for k, p in enumerate(passages):
            if self.answer in p:
                start = p.index(self.answer)
                return ReaderSpan(k, start, start + len(self.answer), self.answer, 3.0, self.probability)
        return None


NEWS = [
    make_hit("本报讯（记者 王明）江南大学今日发布新一期研究报告。", 0),
    make_hit("报告显示，该项研究由李晓华教授团队牵头完成，历时三年。研究团队共有12名成员。", 1),
]


def test_a_confident_reader_span_is_the_short_answer_with_its_own_sentence_quoted() -> None:
    reader = ScriptedReader("李晓华教授团队", 0.9)
    pieces, draft = drain(ExtractiveGenerator(reader=reader).generate("这项研究由谁牵头完成？", NEWS))
    assert draft.grounded and draft.short_answer == "李晓华教授团队"
    text = "".join(pieces)
    assert text.startswith("报告显示，该项研究由李晓华教授团队牵头完成，历时三年。") and text.endswith("[2]")
    assert reader.calls == [("这项研究由谁牵头完成？", 2)]


def test_a_reader_span_below_the_threshold_gives_no_short_answer() -> None:
    reader = ScriptedReader("王明", 0.3)  # the byline's reporter, read with low confidence
    _, draft = drain(ExtractiveGenerator(reader=reader).generate("这项研究由谁牵头完成？", NEWS))
    assert draft.short_answer is None and reader.calls
    lenient = ExtractiveGenerator(reader=reader, reader_threshold=0.2)
    _, draft = drain(lenient.generate("这项研究由谁牵头完成？", NEWS))
    assert draft.short_answer is None  # the rules refused this question: the reader needs P ≥ 0.7 to answer it
    lenient.reader_refusal_floor = 0.0
    _, draft = drain(lenient.generate("这项研究由谁牵头完成？", NEWS))
    assert draft.short_answer == "王明" and draft.reader_probability == 0.3  # the threshold setting decides


def test_the_figure_rule_answers_first_and_the_reader_never_gives_a_figure_question_a_phrase() -> None:
    reader = ScriptedReader("12名成员", 0.99)
    _, draft = drain(
        ExtractiveGenerator(reader=reader).generate("恒口示范区新建标准化厂房多少平方米？", [make_hit(REPORT)])
    )
    assert draft.short_answer == "3.1万平方米" and reader.calls == []  # a confident clause rule is not second-guessed
    phrase = ScriptedReader("超额完成目标任务", 0.99)
    _, draft = drain(
        ExtractiveGenerator(reader=phrase).generate("恒口示范区一般财政预算收入增长了多少？", [make_hit(REPORT)])
    )
    assert draft.short_answer is None or any(c.isdigit() for c in draft.short_answer)


@pytest.mark.parametrize(
    ("question", "span", "answered"),
    [
        ("这项研究由哪家单位牵头完成？", "李晓华教授团队", False),  # a person's team is not an institution
        ("这项研究报告由哪所高校发布？", "江南大学", True),
        ("研究报告由哪个机构发布？", "王明", False),
    ],
)
def test_an_organisation_question_takes_only_an_institution(question: str, span: str, answered: bool) -> None:
    generator = ExtractiveGenerator(reader=ScriptedReader(span, 0.95))
    _, draft = drain(generator.generate(question, NEWS))
    assert (draft.short_answer == span) is answered, draft
    if not answered:
        assert draft.short_answer is None


# A total and its breakdown ("其中…"), written for these tests.
BREAKDOWN = (
    "据市交通运输局消息，10月3日（国庆假期第3天），全市铁路、公路、水路、民航共发送旅客186.4万人次，环比增长4.1%。"
    "其中，全市铁路发送旅客52.7万人次，环比增长6.2%；公路发送旅客121.3万人次，环比增长2.9%；"
    "水路发送旅客3.6万人次，环比下降1.5%。"
    "年末全市共有312个自动气象站。其中，有人值守气象站27个，无人值守气象站285个。"
)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("国庆假期第3天全市铁路发送旅客多少人次？", "52.7万人次"),  # the breakdown, not the listed total
        ("10月3日公路发送旅客多少人次？", "121.3万人次"),  # a later ；-part of the breakdown
        ("国庆假期第3天全市共发送旅客多少人次？", "186.4万人次"),  # the total is asked: no item is named
        ("国庆假期第3天民航发送旅客多少人次？", None),  # listed in the total, no figure of its own
        ("年末全市共有多少个无人值守气象站？", "285个"),  # the breakdown sentence holds the total's words too
        ("年末全市共有多少个自动气象站？", "312个"),
    ],
)
def test_a_breakdown_answers_for_its_item_and_a_listed_total_only_for_all(question: str, expected: str | None) -> None:
    _, draft = run(question, [make_hit(BREAKDOWN)])
    assert draft.grounded and draft.short_answer == expected, draft


def test_an_unsure_reader_span_has_its_sentence_quoted_without_a_short_answer() -> None:
    hits = [
        make_hit("第五届钱塘杯围棋公开赛决赛18日在杭州棋院结束，来自12个国家的棋手参赛。", 0),
        make_hit("经过三番棋较量，中国棋手王启元九段战胜对手，夺得冠军。", 1),
    ]
    question = "第五届钱塘杯围棋公开赛冠军是谁？"
    pieces, draft = drain(ExtractiveGenerator(reader=ScriptedReader("王启元", 0.45)).generate(question, hits))
    text = "".join(pieces)
    assert draft.grounded and draft.short_answer is None and draft.reader_probability is None
    assert "王启元九段" in text and text.endswith("[2]"), text  # below the threshold (0.5): quoted, not answered
    pieces, draft = drain(ExtractiveGenerator(reader=ScriptedReader("王启元", 0.2)).generate(question, hits))
    assert "王启元" not in "".join(pieces) and draft.short_answer is None  # too unsure even to quote


def test_the_head_noun_alone_answers_only_when_the_sentence_before_names_the_item() -> None:
    schools = (
        "2024年，河口县共有各级各类学校96所。其中，小学41所，在校生1.82万人；初中12所，在校生9,460人；职业高中2所。"
    )
    _, draft = run("河口县职业高中在校生有多少人？", [make_hit(schools, title="河口县教育事业概况")])
    assert draft.short_answer is None  # 在校生1.82万人 are 小学's
    _, draft = run("河口县小学在校生有多少人？", [make_hit(schools, title="河口县教育事业概况")])
    assert draft.short_answer == "1.82万人"
    lead = "河口县纪检监察工作有力。正风肃纪持续深化。处置问题线索312件，立案96件。"
    _, draft = run("河口县正风肃纪立案多少件？", [make_hit(lead, title="河口县纪委全会报告")])
    assert draft.short_answer == "96件"  # the lead sentence names what the figure's sentence is about


def test_a_chunk_takes_its_year_from_another_retrieved_chunk_of_its_document() -> None:
    first = make_hit("【概况】2023年，河口县交通建设提速，完成交通投资12.4亿元。", 0, title="河口县年鉴·交通")
    text = "【运输】全年完成公路货运量860万吨，客运量210万人次。"
    later = Hit(
        chunk=Chunk(id="c1", doc_id="d0", text=text, start=60, end=60 + len(text)),
        score=0.5,
        title="河口县年鉴·交通",
        source="corpus/000_doc.txt",
    )
    _, draft = run("河口县2023年公路货运量是多少？", [first, later])
    assert draft.grounded and draft.short_answer == "860万吨"


@pytest.mark.parametrize(
    ("question", "text", "expected"),
    [
        # a time quantity named by its noun, with no 多少天: a duration answers it
        ("北湾港船舶平均在港停时是多少？", "北湾港船舶平均在港停时缩短至2.3天，码头作业效率提高15%。", "2.3天"),
        (  # …天数比例 is a share, not a number of days
            "北湾县优良天数比例同比提高了多少？",
            "北湾县全年空气质量优良天数312天，优良天数比例达到85.5%，同比提高1.8个百分点。",
            "1.8个百分点",
        ),
        # a ratio named …比 is a share; "比是" is not a word to look for
        (
            "北湾县存贷比是多少？",
            "北湾县年末各项存款余额210亿元，各项贷款余额150亿元，存贷比达到71.4%。",
            "71.4%",
        ),
        # a clause that opens with what the one before brought about has it as its subject
        ("北湾县种粮补贴惠及多少户？", "北湾县全年发放种粮补贴3,200万元，惠及种粮农户4.1万户。", "4.1万户"),
        (
            "北湾县农村低保金惠及多少户？",
            "北湾县发放城市低保金800万元，惠及1,200户；发放农村低保金1,500万元，惠及3,400户。",
            "3,400户",
        ),
    ],
)
def test_time_nouns_ratios_and_continued_clauses(question: str, text: str, expected: str) -> None:
    _, draft = run(question, [make_hit(text)])
    assert draft.short_answer == expected


def test_a_qualifier_the_passage_names_apart_from_the_figure_gives_no_short_answer() -> None:
    loans = "北湾县年末各项贷款余额350亿元，增长10%。科技贷款持续增加，服务科技型企业的能力不断增强。"
    _, draft = run("北湾县科技贷款余额是多少？", [make_hit(loans)])
    assert draft.grounded and draft.short_answer is None and draft.no_figure  # 350亿元 is all loans'
    _, draft = run("北湾县各项贷款余额是多少？", [make_hit(loans)])
    assert draft.short_answer == "350亿元"
    # a verb of the question is no qualifier: another clause may put it with the noun
    invest = "北湾县完成固定资产投资增长8.5%，其中工业投资增长12%。全县固定资产投资达到96亿元，创历史新高。"
    _, draft = run("北湾县完成固定资产投资多少？", [make_hit(invest)])
    assert draft.short_answer == "96亿元"


@pytest.mark.parametrize(
    ("question", "text", "expected"),
    [
        # a poultry count keeps its measure word
        ("北湾县家禽出栏多少？", "北湾县全年生猪出栏12.4万头，家禽出栏380万羽，禽蛋产量1.1万吨。", "380万羽"),
        # a question may start with a sub-district or a village: its name is the subject, not a focus word
        (
            "东风街道群众诉求办结率是多少？",
            "今年以来，东风街道共办理民生实事15件。全年受理群众诉求2,310件，办结率97.4%，满意率95.1%。",
            "97.4%",
        ),
        (
            "东风街道新增企业多少户？",
            "今年以来，东风街道共办理民生实事15件。辖区新增市场主体860户，其中企业214户。",
            "214户",
        ),
        # 金额 is the amount itself: the sentence need not write it
        ("北湾县发放创业担保贷款金额是多少？", "北湾县发放创业担保贷款1,260笔、2.8亿元，带动就业3,100人。", "2.8亿元"),
        # a rate compared with another's is answered in points, not in the people it names
        (
            "北湾县农村居民收入增速比城镇居民高多少？",
            "北湾县农村居民人均可支配收入18,920元，增长8.1%，高于城镇居民收入增速2.3个百分点。",
            "2.3个百分点",
        ),
        # "A…，B…，分别…": of the items the question names, the one named last is asked (a noun phrase's head)
        (
            "北湾县道路交通事故死亡人数同比下降多少？",
            "北湾县全年发生道路交通事故38起，死亡9人，同比分别下降15%和25%。",
            "25%",
        ),
        (
            "北湾县道路交通事故起数同比下降多少？",
            "北湾县全年发生道路交通事故38起，死亡9人，同比分别下降15%和25%。",
            "15%",
        ),
    ],
)
def test_measure_words_sub_district_subjects_amounts_compared_rates_and_respective_heads(
    question: str, text: str, expected: str
) -> None:
    _, draft = run(question, [make_hit(text)])
    assert draft.grounded and draft.short_answer == expected


def test_no_sentence_naming_the_counted_thing_is_a_refusal_not_a_quote_without_a_figure() -> None:
    text = "2023年，北湾县新建乡镇污水管网和垃圾转运站，处理能力持续提升。"
    _, draft = run("北湾县2023年新建多少座水库？", [make_hit(text)])
    assert not draft.grounded and draft.short_answer is None
    # the thing counted is named but given no figure: the sentence is quoted, with no short answer
    named = "2023年，北湾县新建的小型水库全部蓄水，处理能力持续提升。"
    _, draft = run("北湾县2023年新建多少座水库？", [make_hit(named)])
    assert draft.grounded and draft.short_answer is None and draft.no_figure


MARATHON = [
    make_hit(
        "本报讯（记者 周岚）2024北湾马拉松昨日鸣枪开跑，来自32个国家和地区的2.1万名选手参赛。赛事期间，组委会"
        "共招募1200名志愿者、设置46个医疗救护点。男子全程冠军成绩为2小时10分05秒，女子半程冠军成绩为1小时12分30秒。",
        0,
    )
]


@pytest.mark.parametrize(
    ("question", "span", "expected"),
    [
        # the one figure of the asked kind in the span, whole
        ("2024北湾马拉松设置了多少个医疗救护点？", "1200名志愿者、设置46个", "46个"),
        ("2024北湾马拉松共有多少名选手参赛？", "2.1万名", "2.1万名"),
        # a figure of another kind, or of the other item of a parallel pair, is no answer
        ("2024北湾马拉松设置了多少个医疗救护点？", "1200名志愿者", None),
        ("2024北湾马拉松女子全程冠军成绩是多少？", "2小时10分05秒", None),
        # two figures of the asked kind: which one the reader meant is not known
        ("2024北湾马拉松共有多少名选手和志愿者？", "2.1万名选手参赛。赛事期间，组委会共招募1200名", None),
    ],
)
def test_a_read_figure_is_the_one_figure_of_the_asked_kind_in_the_span(
    question: str, span: str, expected: str | None
) -> None:
    read = ScriptedReader(span, 0.75).read(question, [MARATHON[0].chunk.text])
    accepted = ExtractiveGenerator().accept(read, analyse_question(question), MARATHON, question=question)
    assert (accepted[1] if accepted else None) == expected
    if accepted is not None:  # the quoted sentence holds the short answer
        sentence = MARATHON[0].chunk.text[accepted[0].start : accepted[0].end]
        assert expected in sentence and accepted[2] == 0.75


def test_a_read_figure_answers_at_the_figure_floor_where_the_rules_find_none() -> None:
    question = "北湾马拉松的男子冠军跑了多长时间？"  # no year of an edition ("2024北湾…") taken for a duration
    _, draft = run(question, MARATHON)
    assert draft.grounded and draft.short_answer is None
    _, draft = drain(ExtractiveGenerator(reader=ScriptedReader("2小时10分05秒", 0.75)).generate(question, MARATHON))
    assert draft.short_answer == "2小时10分05秒" and draft.reader_probability == 0.75
    _, draft = drain(ExtractiveGenerator(reader=ScriptedReader("2小时10分05秒", 0.65)).generate(question, MARATHON))
    assert draft.short_answer is None  # below the figure floor


WEATHER = "南屏县年平均气温15.2℃，较常年偏高0.6℃；年降水量982.4毫米，较常年偏少8%。"
CHAIN = "2024年，南屏县县属国有企业实现营业收入86.4亿元，增长5.2%；利润总额6.1亿元，增长11.4%；上缴税费3.3亿元。"


@pytest.mark.parametrize(
    ("question", "text", "expected"),
    [
        # the later parts of a ；-chain share the subject of its first part
        ("南屏县县属国有企业利润总额是多少？", CHAIN, "6.1亿元"),
        ("南屏县县属国有企业利润总额增长多少？", CHAIN, "11.4%"),
        ("南屏县县属国有企业营业收入增长多少？", CHAIN, "5.2%"),
        # a 分别 list after 其中: the list's items are 水电 and 风电, and 装机 is their shared noun
        (
            "南屏县风电装机容量是多少？",
            "南屏县发电装机容量98万千瓦，其中水电、风电装机分别为31万千瓦和22万千瓦。",
            "22万千瓦",
        ),
        # a total asked with the list as the text writes it
        ("南屏县虚列、多列支出共计多少？", "审计发现，南屏县2个单位虚列、多列支出共计318.5万元；", "318.5万元"),
        # a count asked with 家 written with 个
        ("南屏县有多少家幼儿园？", "南屏县共有学校96个，其中幼儿园41个、小学38个。", "41个"),
        # weather: degrees and millimetres, departures as the text gives them
        ("南屏县年降水量较常年偏少多少？", WEATHER, "8%"),
        ("南屏县年平均气温较常年偏高多少？", WEATHER, "0.6℃"),
        ("南屏县全年日照时数是多少？", "南屏县全年日照时数1,540.2小时，比常年偏少62小时。", "1,540.2小时"),
        # a period with 内 in the question is its condition; the slot asks for money
        (
            "南屏县在规定期限内完成改造的每户奖励多少？",
            "南屏县规定，在规定期限内完成改造的，每户给予奖励2000元。",
            "2000元",
        ),
    ],
)
def test_chained_subjects_lists_after_qizhong_weather_and_conditions(question: str, text: str, expected: str) -> None:
    _, draft = run(question, [make_hit(text)])
    assert draft.grounded and draft.short_answer == expected


def test_a_count_of_another_thing_written_with_ge_does_not_answer_a_jia_question() -> None:
    # 个 stands in for 家 only right after the thing counted: 三个 counts the bases, not the firms in them
    _, draft = run("南屏县创业孵化基地入驻企业有多少家？", [make_hit("南屏县建成创业孵化基地三个，入驻企业持续增加。")])
    assert draft.short_answer is None


RACE = (
    "4月6日，2025湖城半程马拉松鸣枪开跑，1.2万名选手参赛。男子组冠军由本地选手周航获得，成绩为1小时05分31秒；"
    "女子组冠军成绩为1小时13分02秒。赛事共设置补给站10个、医疗点20个，投入志愿者1,800余名。"
)
RAILWAY = (
    "南江铁路是北段铁路和南段铁路的统称。线路全长412公里，设计时速160公里。北段铁路全长236公里，2012年通车。"
    "南段铁路全长176公里，2016年通车。"
)


@pytest.mark.parametrize(
    ("question", "title", "text", "expected"),
    [
        # the title names the document's topic: its later sentences need not repeat it
        ("湖城半程马拉松男子组冠军成绩是多少？", "2025湖城半程马拉松赛事综述", RACE, "1小时05分31秒"),
        ("湖城半程马拉松投入志愿者多少名？", "2025湖城半程马拉松赛事综述", RACE, "1,800余名"),
        # … unless a sentence writes the topic's head word for another thing of the kind (北段铁路, 南段铁路)
        ("南江铁路全长多少公里？", "南江铁路", RAILWAY, "412公里"),
    ],
)
def test_the_title_names_the_topic_but_not_another_of_its_kind(
    question: str, title: str, text: str, expected: str
) -> None:
    _, draft = run(question, [make_hit(text, title=title)])
    assert draft.grounded and draft.short_answer == expected


INSURANCE = (
    "2024年，南屏县保险业原保险保费收入38.6亿元。其中，财产险保费收入11.2亿元；人身险保费收入27.4亿元。"
    "全年赔款和给付支出12.9亿元，其中财产险赔款6.3亿元。农业保险为2.1万户次农户提供风险保障18.5亿元。"
)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("南屏县财产险赔款是多少？", "6.3亿元"),
        ("南屏县人身险赔款是多少？", None),  # only 财产险's is given: the clause names the other qualifier
        ("南屏县农业保险提供风险保障多少？", "18.5亿元"),  # the figure stands where the question's slot does
        ("南屏县农业保险为多少户次农户提供风险保障？", "2.1万户次"),
    ],
)
def test_the_other_qualifier_and_the_figure_in_the_slots_place(question: str, expected: str | None) -> None:
    _, draft = run(question, [make_hit(INSURANCE)])
    assert draft.short_answer == expected


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("南屏县总人口性别比是多少？", "104.12"),  # a ratio written as a bare number
        ("南屏县65岁及以上人口占多少？", "14.80%"),  # 占多少 asks for a share
    ],
)
def test_a_ratio_is_a_bare_number_and_a_share_is_asked_with_zhan(question: str, expected: str) -> None:
    text = (
        "南屏县常住人口中，男性人口为21.3万人，总人口性别比为104.12。"
        "60岁及以上人口占20.15%，其中65岁及以上人口占14.80%。"
    )
    _, draft = run(question, [make_hit(text)])
    assert draft.grounded and draft.short_answer == expected


INCOME = (
    "2024年，南屏县全体居民人均可支配收入31,208元，比上年增长6.1%。按常住地分，城镇居民人均可支配收入40,115元，"
    "增长5.3%；农村居民人均可支配收入19,760元，增长7.4%。城乡居民收入比为2.03，比上年缩小0.08。"
    "全体居民人均消费支出21,430元，增长5.9%，其中人均服务性消费支出9,105元。"
)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("南屏县全体居民人均可支配收入增长多少？", "6.1%"),  # 全体, not 城镇's nor 农村's
        ("南屏县农村居民人均消费支出是多少？", None),  # only 全体's is given, and its 其中 part inherits 全体
        ("南屏县城乡居民收入比比上年缩小多少？", "0.08"),
        ("南屏县人均服务性消费支出是多少？", "9,105元"),
    ],
)
def test_all_residents_are_an_item_of_the_urban_rural_group(question: str, expected: str | None) -> None:
    _, draft = run(question, [make_hit(INCOME)])
    assert draft.short_answer == expected


FOREIGN = (
    "2024年，南屏县实际使用外资6.4亿美元，增长5.1%。其中，制造业实际使用外资3.2亿美元，占全县的50%；"
    "高技术产业实际使用外资1.1亿美元。全县中小学教师本科及以上学历占比达到88.1%，比2021年提高9.6个百分点。"
)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("南屏县制造业实际使用外资是多少？", "3.2亿美元"),
        ("南屏县服务业实际使用外资是多少？", None),  # not given: the passage breaks the total down by other sectors
        ("南屏县实际使用外资多少？", "6.4亿美元"),
        ("南屏县教师本科及以上学历占比比2021年提高多少？", "9.6个百分点"),  # the change, not the level
    ],
)
def test_an_unnamed_breakdown_is_not_the_total_and_a_rates_change_is_in_points(
    question: str, expected: str | None
) -> None:
    _, draft = run(question, [make_hit(FOREIGN)])
    assert draft.short_answer == expected


LISTING = (
    "南屏县2024年1—11月主要经济指标\n一般公共预算收入：9.84亿元，同比增长2.7%，其中税收收入6.12亿元\n"
    "金融机构人民币存款余额：356.2亿元，比年初增加28.4亿元\n全县共有A级旅游景区12家，其中4A级景区4家。"
)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("南屏县一般公共预算收入是多少？", "9.84亿元"),  # a label line: not the 其中 part that ends in 收入 too
        ("南屏县税收收入是多少？", "6.12亿元"),
        ("南屏县金融机构人民币贷款余额是多少？", None),  # only 存款's is given
        ("南屏县4A级景区有多少家？", "4家"),
        ("南屏县5A级景区有多少家？", None),  # only 4A's is given
    ],
)
def test_label_lines_deposits_and_loans_and_graded_sights(question: str, expected: str | None) -> None:
    _, draft = run(question, [make_hit(LISTING)])
    assert draft.short_answer == expected


def test_a_total_is_no_answer_for_an_item_when_the_sentence_breaks_it_down_by_other_items_only() -> None:
    text = "南屏县居民人均可支配收入26,400元，其中农村居民人均可支配收入17,320元。"
    _, draft = run("南屏县城镇居民人均可支配收入是多少？", [make_hit(text)])
    assert draft.short_answer is None
    _, draft = run("南屏县农村居民人均可支配收入是多少？", [make_hit(text)])
    assert draft.short_answer == "17,320元"


@pytest.mark.parametrize(
    ("question", "title", "text", "expected"),
    [
        # the title may put a word between the topic's words (国际); a figure inside the asked phrase (为期…的活动)
        (
            "湖城半程马拉松女子组冠军的成绩是多少？",
            "首届湖城国际半程马拉松举行",
            "本报讯（记者 何岚）首届湖城国际半程马拉松开跑。中国选手周宁以1小时12分40秒获得女子组冠军。",
            "1小时12分40秒",
        ),
        (
            "西塘音乐节的活动为期几天？",
            "第五届西塘音乐节开幕",
            "新华社杭州5月2日电（记者 章远）第五届西塘音乐节2日开幕，36支乐队将在为期4天的活动中演出。",
            "4天",
        ),
        # a dateline and a byline are no content of the clause that follows them
        (
            "北辰材料C轮融资金额是多少？",
            "北辰材料完成6亿元C轮融资",
            "本报讯（记者 韩越）北辰材料科技有限公司3月1日宣布完成6亿元C轮融资，本轮由东岳资本领投。",
            "6亿元",
        ),
    ],
)
def test_news_topics_in_titles_bylines_and_figures_inside_the_asked_phrase(
    question: str, title: str, text: str, expected: str
) -> None:
    _, draft = run(question, [make_hit(text, title=title)])
    assert draft.grounded and draft.short_answer == expected
