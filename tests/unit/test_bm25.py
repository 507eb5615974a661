"""The BM25 index: built from token ids, scored like bm25s, saved and loaded."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rag.backends.bm25 import Bm25Index
from rag.text import tokenize

TEXTS = [
    "恒口示范区新建标准化厂房3.1万平方米,培育五上企业5户。",
    "衡水湖蓄水量达到近20年最高水平,累计引调江水9000万立方米。",
    "海陵区建设街头游园12个,解决融资需求24.46亿元。",
    "。。。",  # no tokens at all
    "恒口示范区一般财政预算收入达到5341万元,海陵区建设游园。",
]


def test_scores_match_bm25s_built_from_token_strings() -> None:
    import bm25s

    ours = Bm25Index.build(TEXTS)
    reference = bm25s.BM25(k1=1.2, b=0.75)
    reference.index([tokenize(t) or [""] for t in TEXTS], show_progress=False)
    for query in ["恒口示范区厂房", "海陵区游园多少个", "9000万立方米", "5341"]:
        tokens = tokenize(query)
        expected = reference.get_scores(tokens)
        got = ours._scores(ours._bm25.get_tokens_ids(tokens))
        assert np.allclose(got, expected, atol=1e-6), query


def test_search_ranks_and_round_trips(tmp_path: Path) -> None:
    index = Bm25Index.build(TEXTS)
    scores, rows = index.search("海陵区游园", 3)
    assert rows[0] in (2, 4) and set(rows) == {2, 4} and scores[0] >= scores[-1] > 0
    index.save(tmp_path)
    loaded = Bm25Index.load(tmp_path)
    assert len(loaded) == len(TEXTS)
    again, again_rows = loaded.search("海陵区游园", 3)
    assert np.array_equal(again_rows, rows) and np.allclose(again, scores)
    assert loaded.search("没有这个词汇", 3)[1].size == 0
