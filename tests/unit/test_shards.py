"""Sharded indexes: BM25 shards scored with the whole corpus's statistics, and the fan-out that searches the
shards of a build as one index, against one index of every chunk."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rag.backends.bm25 import Bm25Index
from rag.backends.faiss_index import FaissIndex
from rag.index.shards import Shard, open_shards, split_rows

# Report sentences written for this test: shared words (恒口示范区, 游园, 万元) in some shards and not others, so
# a shard's own document frequencies would differ from the corpus's; a text with no tokens; two equal texts
# (a tie that the merge must settle as one index does).
TEXTS = [
    "恒口示范区新建标准化厂房3.1万平方米,培育五上企业5户。",
    "衡水湖蓄水量达到近20年最高水平,累计引调江水9000万立方米。",
    "海陵区建设街头游园12个,解决融资需求24.46亿元。",
    "。。。",
    "恒口示范区一般财政预算收入达到5341万元,海陵区建设游园。",
    "石泉县新建农村公路186公里,改造农村危房32户。",
    "全年新增城镇就业4120人,其中高校毕业生就业1350人。",
    "海陵区建设街头游园12个,解决融资需求24.46亿元。",
    "恒口示范区完成固定资产投资45亿元,增长12%。",
    "衡水市重点项目完成投资180多万元,办理各类案件1205件。",
    "石泉县地区生产总值128.6亿元,增长7.3%。",
]
QUERIES = ["恒口示范区厂房", "海陵区游园多少个", "9000万立方米", "5341", "石泉县 农村公路", "投资 亿元", "就业"]


@pytest.mark.parametrize("shards", [1, 2, 4, len(TEXTS)])
def test_bm25_shards_score_and_rank_like_one_index(shards: int) -> None:
    whole = Bm25Index.build(TEXTS)
    bounds = split_rows(len(TEXTS), shards)
    parts = Bm25Index.build_shards(TEXTS, bounds)
    assert [len(p) for p in parts] == [stop - start for start, stop in bounds]
    for query in QUERIES:
        ids = whole._bm25.get_tokens_ids(whole._tokenize(query))
        expected = whole._scores(ids)
        got = np.concatenate([p._scores(p._bm25.get_tokens_ids(p._tokenize(query))) for p in parts])
        assert np.array_equal(got, expected), query  # bit for bit: the same statistics, the same arithmetic


def test_bm25_shard_bounds_must_cover_every_row() -> None:
    with pytest.raises(ValueError, match="do not cover"):
        Bm25Index.build_shards(TEXTS, [(0, 3), (4, len(TEXTS))])


def test_split_rows_is_contiguous_and_even() -> None:
    assert split_rows(10, 4) == [(0, 2), (2, 5), (5, 7), (7, 10)]
    assert split_rows(3, 1) == [(0, 3)]
    with pytest.raises(ValueError):
        split_rows(3, 0)


def _saved_shards(tmp_path: Path, vectors: np.ndarray, shards: int) -> list[Shard]:
    out = []
    for i, (start, stop) in enumerate(split_rows(len(TEXTS), shards)):
        folder = tmp_path / f"{i:03d}"
        folder.mkdir()
        faiss_index = FaissIndex(vectors.shape[1])
        faiss_index.add(vectors[start:stop])
        faiss_index.save(folder)
        out.append(Shard(start, stop, folder.name))
    for shard, part in zip(out, Bm25Index.build_shards(TEXTS, [(s.start, s.stop) for s in out]), strict=True):
        part.save(tmp_path / shard.path)
    return out


def test_fan_out_search_ranks_like_one_index(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(len(TEXTS), 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    whole_vectors = FaissIndex(16)
    whole_vectors.add(vectors)
    whole_lexical = Bm25Index.build(TEXTS)
    shards = _saved_shards(tmp_path, vectors, 4)
    dense, lexical, stop = open_shards(tmp_path, shards, load_vectors=FaissIndex.load, load_lexical=Bm25Index.load)
    try:
        assert len(dense) == len(lexical) == len(TEXTS)
        queries = rng.normal(size=(3, 16)).astype(np.float32)
        for k in (1, 3, len(TEXTS), len(TEXTS) + 5):
            want_scores, want_rows = whole_vectors.search(queries, k)
            got_scores, got_rows = dense.search(queries, k)
            assert np.array_equal(got_rows, want_rows) and np.allclose(got_scores, want_scores, atol=1e-6)
            for query in QUERIES:
                want = whole_lexical.search(query, k)
                got = lexical.search(query, k)
                assert got[1].tolist() == want[1].tolist(), (query, k)  # the tie (rows 2 and 7) included
                assert np.array_equal(got[0], want[0]), (query, k)
    finally:
        stop()
    # a request still on a build the server has just replaced (its fan-out stopped) is answered all the same
    assert lexical.search(QUERIES[0], 3)[1].tolist() == whole_lexical.search(QUERIES[0], 3)[1].tolist()
    assert np.array_equal(dense.search(queries, 3)[1], whole_vectors.search(queries, 3)[1])
