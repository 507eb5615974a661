"""The learned reader: `rag reader train` end to end on a tiny slice, and the shipped int8 reader on who / what /
where questions over passages written for these tests, with its threshold keeping unanswered passages quiet."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from rag.backends.extractive import ExtractiveGenerator
from rag.backends.onnx_reader import SHIPPED_READER, OnnxReader
from rag.types import Chunk, Draft, Hit

if TYPE_CHECKING:  # the fixtures' types, from tests/integration/conftest.py
    from conftest import CliResult


def _hit(text: str, n: int = 0) -> Hit:
    chunk = Chunk(id=f"c{n}", doc_id=f"d{n}", text=text, start=0, end=len(text), position=n)
    return Hit(chunk=chunk, score=1.0 / (n + 1), title="", source=f"corpus/{n:03d}_news.txt")


def _answer(generator: ExtractiveGenerator, question: str, hits: list[Hit]) -> tuple[str, Draft]:
    stream = generator.generate(question, hits)
    pieces: list[str] = []
    while True:
        try:
            pieces.append(next(stream))
        except StopIteration as stop:
            return "".join(pieces), stop.value


@pytest.fixture(scope="module")
def reader() -> OnnxReader:
    return OnnxReader(SHIPPED_READER)


def test_training_runs_end_to_end_on_a_tiny_slice_and_makes_a_loadable_reader(
    tmp_path: Path, bench_dir: Path, rag_cli: Callable[..., CliResult]
) -> None:
    out = tmp_path / "reader"
    result = rag_cli(
        "reader",
        "train",
        "--data",
        str(bench_dir / "cmrc2018_dev"),
        "--limit",
        "16",
        "--epochs",
        "1",
        "--batch-size",
        "8",
        "--max-length",
        "128",
        "--out",
        str(out),
        cwd=tmp_path,
    )
    card = result.json()
    assert card["train_questions"] == 16 and card["steps"] >= 2 and card["dev_questions"] >= 8
    assert {p.name for p in out.iterdir()} == {
        "reader.onnx",
        "tokenizer.json",
        "reader.json",
        "README.md",
        "training.json",
    }
    assert "research-only" in (out / "README.md").read_text(encoding="utf-8")
    config = json.loads((out / "reader.json").read_text(encoding="utf-8"))
    assert config["max_length"] == 128 and len(config["calibration"]) == 2
    passage = "2019年，南湖大桥由青州路桥集团承建，全长1.2公里。"
    span = OnnxReader(out).read("南湖大桥由哪家公司承建？", [passage])
    assert span is not None and passage[span.start : span.end] == span.text and 0.0 <= span.probability <= 1.0


def test_a_missing_data_folder_is_a_clear_error(tmp_path: Path, rag_cli: Callable[..., CliResult]) -> None:
    result = rag_cli("reader", "train", "--data", str(tmp_path / "nothing"), "--out", str(tmp_path / "r"), cwd=tmp_path)
    assert result.returncode == 2 and "no questions.jsonl" in result.stderr, result.describe()
    assert not (tmp_path / "r").exists()


def test_the_shipped_reader_is_small_documented_and_int8(reader: OnnxReader) -> None:
    size = (SHIPPED_READER / "reader.onnx").stat().st_size
    assert 10e6 < size < 45e6, size
    card = (SHIPPED_READER / "README.md").read_text(encoding="utf-8")
    assert "research-only" in card and "held-out" in card.lower()
    assert 0.0 < reader.threshold < 1.0


# Written for these tests: a who, a where, a what and a which question, each over a news-style passage set with
# a byline (the reporter is the wrong answer to the who question) and a same-topic passage without the answer.
CASES = [
    (
        "谁在开幕式上致辞？",
        [
            "本报讯（记者 刘海波）第五届江淮茶文化节昨日在六安开幕。",
            "江淮茶业协会会长陈立新在开幕式上致辞，他表示今年春茶产量同比增长。",
        ],
        "陈立新",
    ),
    (
        "第十二届全国民族传统体育运动会将在哪里举行？",
        [
            "国家民委今天宣布，第十二届全国民族传统体育运动会将于2028年9月在贵州省黔东南州举行，共设17个竞赛项目。",
            "上一届运动会的金牌榜由广西代表团领跑。",
        ],
        "黔东南",
    ),
    (
        "青禾公司新推出的无人机叫什么名字？",
        [
            "记者从青禾科技获悉，公司新推出的农用无人机名为“青鸟三号”，最大载重40公斤。",
            "青禾科技成立于2015年，总部位于合肥。",
        ],
        "青鸟三号",
    ),
    (
        "南湖大桥由哪家公司承建？",
        ["南湖大桥全长1.2公里，由青州路桥集团承建，预计明年通车。", "市交通局表示，今年还将新建三座人行天桥。"],
        "青州路桥集团",
    ),
]


@pytest.mark.parametrize(("question", "passages", "gold"), CASES, ids=["who", "where", "what", "which"])
def test_the_shipped_reader_answers_who_what_where_over_new_passages(
    reader: OnnxReader, question: str, passages: list[str], gold: str
) -> None:
    span = reader.read(question, passages)
    assert span is not None and gold in span.text and len(span.text) <= len(gold) + 6, span
    assert passages[span.passage][span.start : span.end] == span.text
    text, draft = _answer(ExtractiveGenerator(reader=reader), question, [_hit(p, k) for k, p in enumerate(passages)])
    if span.probability < reader.threshold:  # below the threshold the reader's span is withheld …
        assert draft.reader_probability is None, (span, draft)
        assert not draft.short_answer or gold in draft.short_answer  # … and only a rule (《》/quotes) may answer
        return
    assert draft.grounded and draft.short_answer and gold in draft.short_answer, (text, draft)
    assert draft.reader_probability == span.probability
    cited = int(text.rsplit("[", 1)[1].rstrip("]")) - 1
    assert draft.short_answer in passages[cited]  # the short answer is an exact span of the cited passage


def test_a_passage_without_the_answer_gives_no_short_answer(reader: OnnxReader) -> None:
    passages = [
        "本报讯（记者 刘海波）第五届江淮茶文化节昨日在六安开幕，来自全国的200多家茶企参展。",
        "今年春茶产量同比增长一成。",
    ]
    span = reader.read("谁在开幕式上致辞？", passages)
    assert span is None or span.probability < reader.threshold, span
    _, draft = _answer(
        ExtractiveGenerator(reader=reader), "谁在开幕式上致辞？", [_hit(p, k) for k, p in enumerate(passages)]
    )
    assert not draft.short_answer, draft


def test_a_long_passage_is_read_as_its_best_sentences_and_the_span_maps_back_to_it() -> None:
    filler = "".join(
        f"第{k}季度，全市{topic}工作稳步推进，各项指标总体平稳，群众满意度持续提升。"
        for k, topic in enumerate(["农业", "工业", "商贸", "文旅", "教育", "卫生", "交通", "水利", "环保", "民政"] * 3)
    )
    answer = "市政府聘请清华大学教授林嘉禾担任城市规划总顾问，任期三年。"
    passage = filler + answer + filler
    whole = OnnxReader(SHIPPED_READER, focus_windows=0)
    focused = OnnxReader(SHIPPED_READER, focus_windows=1)
    question = "市政府聘请谁担任城市规划总顾问？"
    assert len(whole.windows(question, [passage])) >= 4  # read whole, it takes several windows
    span = focused.read(question, [passage, "城市规划展览馆今年接待参观者12万人次。"])
    assert span is not None and span.passage == 0 and "林嘉禾" in span.text, span
    assert passage[span.start : span.end] == span.text  # an exact span of the passage, not of the joined text
    assert span.start >= len(filler)
