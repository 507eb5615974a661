"""The reader's windows and span decoding (shared by training and serving), on the real m3e-small tokenizer."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from rag.backends.onnx_reader import (
    CLS_ID,
    SEP_ID,
    Barriers,
    Window,
    best_span,
    calibrate,
    decode_best,
    passage_windows,
    question_ids,
    span_barriers,
)
from rag.models import resolve_model
from rag.text import credit_spans


@pytest.fixture(scope="module")
def tokenizer():  # type: ignore[no-untyped-def]
    from tokenizers import Tokenizer

    return Tokenizer.from_file(str(Path(resolve_model("m3e-small")) / "tokenizer.json"))


PASSAGE = (
    "2022年,石泉县完成地区生产总值128.6亿元,增长7.3%。全县新建农村公路186公里,改造危房32户。"
    "县长张明在会上说,明年将建成汉江大桥,总投资4.5亿元。" * 4
)


def test_windows_cover_the_passage_with_overlap_and_exact_offsets(tokenizer) -> None:  # type: ignore[no-untyped-def]
    q = question_ids(tokenizer, "石泉县新建农村公路多少公里？", max_question=48)
    windows = passage_windows(q, tokenizer, PASSAGE, max_length=64, stride=16)
    assert len(windows) > 3
    for w in windows:
        assert w.input_ids[0] == CLS_ID and w.input_ids[w.context_start - 1] == SEP_ID and w.input_ids[-1] == SEP_ID
        assert len(w.input_ids) <= 64 and len(w.token_type_ids) == len(w.input_ids)
        assert w.token_type_ids[w.context_start] == 1 and w.token_type_ids[0] == 0
        assert len(w.offsets) == len(w.input_ids) - w.context_start - 1
    # consecutive windows overlap by the stride, and together they reach the passage's end
    for a, b in itertools.pairwise(windows):
        assert b.offsets[0] == a.offsets[len(a.offsets) - 16]
    assert windows[-1].offsets[-1][1] == len(PASSAGE.rstrip())
    # every token's offsets cut the passage at real characters: the decoded token text is that slice
    tokens = tokenizer.encode(PASSAGE, add_special_tokens=False)
    for (a, b), tok in zip(windows[0].offsets, tokens.tokens, strict=False):
        assert PASSAGE[a:b] == tok.replace("##", "") or tok == "[UNK]"


def test_an_answer_is_located_in_the_windows_that_hold_it_whole(tokenizer) -> None:  # type: ignore[no-untyped-def]
    q = question_ids(tokenizer, "谁在会上说话？", max_question=48)
    windows = passage_windows(q, tokenizer, PASSAGE, max_length=64, stride=16)
    start = PASSAGE.index("张明")
    holding = [w for w in windows if w.position_of(start, start + 2) is not None]
    assert holding
    for w in holding:
        s, e = w.position_of(start, start + 2)  # type: ignore[misc]
        assert PASSAGE[w.offsets[s - w.context_start][0] : w.offsets[e - w.context_start][1]] == "张明"
    assert all(w.position_of(start, start + 2) is None for w in windows if w not in holding)


def test_an_empty_passage_has_no_window_and_a_long_question_is_refused(tokenizer) -> None:  # type: ignore[no-untyped-def]
    assert passage_windows([1, 2], tokenizer, "", max_length=64, stride=16) == []
    with pytest.raises(ValueError, match="no room"):
        passage_windows(list(range(60)), tokenizer, PASSAGE, max_length=64, stride=16)


def test_the_best_span_is_a_forward_span_within_the_answer_length() -> None:
    w = Window(
        input_ids=[CLS_ID, 5, SEP_ID, 7, 8, 9, 10, SEP_ID],
        token_type_ids=[0] * 8,
        context_start=3,
        offsets=[(0, 1), (1, 2), (2, 3), (3, 4)],
    )
    start = np.array([1.0, 0, 0, 0, 5.0, 0, 9.0, 0])  # the best start (position 6) comes after the best end
    end = np.array([1.0, 0, 0, 0, 0, 6.0, 0, 0])
    found = best_span(w, start, end, max_answer=3)
    assert found is not None
    s, e, margin = found
    assert (s, e) == (4, 5)  # 5 + 6, not 9 + 6 backwards; the question and [SEP] never count
    assert margin == pytest.approx(11.0 - 2.0)
    assert best_span(w, start, end, max_answer=1)[:2] in ((4, 4), (6, 6))  # type: ignore[index]


def _every_span(
    w: Window, start: np.ndarray, end: np.ndarray, *, max_answer: int, blocked: np.ndarray, breaks: np.ndarray
) -> tuple[int, int, float] | None:
    """best_span by brute force: every (i, j), first best in order of start then end."""
    best = None
    n = len(w.offsets)
    for i in range(n):
        for j in range(i, min(n, i + max_answer)):
            if blocked[i : j + 1].any() or breaks[i + 1 : j + 1].any():
                continue
            score = start[w.context_start + i] + end[w.context_start + j]
            if best is None or score > best[2]:
                best = (i + w.context_start, j + w.context_start, score)
    return None if best is None else (best[0], best[1], float(best[2] - (start[0] + end[0])))


def test_the_best_span_is_the_brute_force_best_with_ties_and_barriers() -> None:
    rng = np.random.default_rng(11)
    for trial in range(300):
        n = int(rng.integers(1, 30))
        w = Window(
            input_ids=[CLS_ID, 5, SEP_ID] + [7] * n + [SEP_ID],
            token_type_ids=[0] * (n + 4),
            context_start=3,
            offsets=[(k, k + 1) for k in range(n)],
        )
        # logits rounded to one decimal, so that equal scores happen
        start, end = (np.round(rng.standard_normal(n + 4), 1) for _ in range(2))
        blocked = rng.random(n) < (0.0 if trial % 3 == 0 else 0.15)
        breaks = rng.random(n) < (0.0 if trial % 3 == 0 else 0.15)
        max_answer = int(rng.integers(1, 8))
        expected = _every_span(w, start, end, max_answer=max_answer, blocked=blocked, breaks=breaks)
        got = best_span(w, start, end, max_answer=max_answer, barriers=Barriers(blocked, breaks))
        assert got == (None if expected is None else (expected[0], expected[1], pytest.approx(expected[2])))


def test_calibration_is_a_monotone_probability() -> None:
    ps = [calibrate(m, 0.8, -2.0) for m in (-5.0, 0.0, 2.5, 10.0)]
    assert ps == sorted(ps) and 0 < ps[0] < ps[-1] < 1
    assert calibrate(2.5, 0.8, -2.0) == pytest.approx(0.5)
    assert calibrate(1e6, 1.0, 0.0) == pytest.approx(1.0) and calibrate(-1e9, 1.0, 0.0) == pytest.approx(0.0)


NEWS = "新华社杭州3月18日电（记者 郑晓）第五届钱塘杯围棋公开赛决赛在杭州结束。中国棋手王启元夺冠。\n编辑：林晓雨"


def _logits_for(window: Window, text: str, passage: str, score: float) -> tuple[np.ndarray, np.ndarray]:
    """Start/end logits that favour ``text`` (at its first place in ``passage``) with ``score`` each."""
    n = len(window.input_ids)
    start, end = np.zeros(n), np.zeros(n)
    a = passage.index(text)
    pos = window.position_of(a, a + len(text))
    assert pos is not None
    start[pos[0]] += score
    end[pos[1]] += score
    return start, end


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("来源：澜州发布 编辑：林晓雨\n为保障马拉松顺利举行", ["来源：澜州发布", "编辑：林晓雨"]),
        ("新华社杭州3月18日电（记者 郑晓）第五届", ["（记者 郑晓）"]),
        ("本报讯（通讯员 刘一 记者 陈二）全市", ["（通讯员 刘一 记者 陈二）"]),
        ("本报记者 王五 李六 报道 记者从市交通局了解到，", ["本报记者 王五 李六 报道"]),
        ("资金来源：中央财政补助，共计3亿元", []),  # a label inside a phrase is not a credit
        ("记者从市交通局了解到，全市新建公路186公里", []),
    ],
)
def test_news_credits_are_found_and_nothing_else(text: str, expected: list[str]) -> None:
    assert [text[a:b] for a, b in credit_spans(text)] == expected


def test_credits_stay_answerable_when_the_question_asks_for_them() -> None:
    assert credit_spans(NEWS, "这篇报道的记者是谁？") == []
    assert len(credit_spans(NEWS, "钱塘杯冠军是谁？")) == 2


def test_a_span_never_holds_a_credit_or_runs_across_a_sentence(tokenizer) -> None:  # type: ignore[no-untyped-def]
    q = question_ids(tokenizer, "钱塘杯冠军是谁？", max_question=48)
    (w,) = passage_windows(q, tokenizer, NEWS, max_length=128, stride=16)
    barriers = span_barriers(w, NEWS, credit_spans(NEWS, "钱塘杯冠军是谁？"))
    # the byline's name is the model's favourite start, the answer's end its favourite end
    s1, e1 = _logits_for(w, "郑晓", NEWS, 9.0)
    s2, e2 = _logits_for(w, "杭州结束。中国棋手王启元", NEWS, 7.0)
    s3, e3 = _logits_for(w, "王启元", NEWS, 5.0)
    start, end = s1 + s2 + s3, e1 + e2 + e3
    free = best_span(w, start, end, max_answer=40)
    assert free is not None and _text(w, NEWS, free) == "郑晓）第五届钱塘杯围棋公开赛决赛在杭州结束。中国棋手王启元"
    kept = best_span(w, start, end, max_answer=40, barriers=barriers)
    assert kept is not None and _text(w, NEWS, kept) == "王启元"
    # decode_best applies the same barriers when it is given the question, and the editor's name is blocked too
    span = decode_best([w], [start], [end], [NEWS], max_answer=40, question="钱塘杯冠军是谁？")
    assert span is not None and span.text == "王启元"
    only_credits = np.zeros(len(w.input_ids))
    only_credits[w.context_start :] = -5.0
    ls, le = _logits_for(w, "林晓雨", NEWS, 50.0)
    span = decode_best([w], [only_credits + ls], [only_credits + le], [NEWS], max_answer=40, question="冠军是谁？")
    assert span is not None and "林晓雨" not in span.text
    span = decode_best([w], [only_credits + ls], [only_credits + le], [NEWS], max_answer=40, question="编辑是谁？")
    assert span is not None and span.text == "林晓雨"


def _text(w: Window, passage: str, found: tuple[int, int, float]) -> str:
    a, b = found[0] - w.context_start, found[1] - w.context_start
    return passage[w.offsets[a][0] : w.offsets[b][1]]
