"""The reader's windows and span decoding (shared by training and serving), on the real m3e-small tokenizer."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from rag.backends.onnx_reader import CLS_ID, SEP_ID, Window, best_span, calibrate, passage_windows, question_ids
from rag.models import resolve_model


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


def test_calibration_is_a_monotone_probability() -> None:
    ps = [calibrate(m, 0.8, -2.0) for m in (-5.0, 0.0, 2.5, 10.0)]
    assert ps == sorted(ps) and 0 < ps[0] < ps[-1] < 1
    assert calibrate(2.5, 0.8, -2.0) == pytest.approx(0.5)
    assert calibrate(1e6, 1.0, 0.0) == pytest.approx(1.0) and calibrate(-1e9, 1.0, 0.0) == pytest.approx(0.0)
