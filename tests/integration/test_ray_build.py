"""`rag index build --engine ray` on a local Ray cluster that the build starts itself (and stops): the same
chunks, the same BM25 index and the same vectors (within float tolerance) as the local build of the same
corpus; an incremental Ray build embeds only what changed. Needs the `ray` extra (`.ci/run` installs it)."""

from __future__ import annotations

import importlib.util
import json
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

if TYPE_CHECKING:
    from conftest import SeedIndex, Workdir

pytestmark = pytest.mark.slow
# Looked up, not imported: the builds below import Ray in their own processes (importing it here leaves a file
# of its open at the end of the test run).
if importlib.util.find_spec("ray") is None:
    pytest.skip("the Ray engine needs the `ray` extra: pip install -e '.[ray]'", allow_module_level=True)

QUERIES = ["恒口示范区新建标准化厂房多少平方米", "海陵区街头游园", "衡水 重点项目 投资", "产业振兴 意见", "万元"]


def _build(work: Workdir) -> Path:
    return work.current_build()


def _chunks(build: Path) -> list[tuple[Any, ...]]:
    con = sqlite3.connect(build / "store.sqlite")
    try:
        return con.execute('SELECT row, id, doc_id, start, "end", text FROM chunks ORDER BY row').fetchall()
    finally:
        con.close()


def _lexical(build: Path) -> list[tuple[list[float], list[int]]]:
    from rag.backends.bm25 import Bm25Index

    index = Bm25Index.load(build)
    found = [index.search(q, 10) for q in QUERIES]
    return [(np.round(s, 5).tolist(), i.tolist()) for s, i in found]


def test_a_ray_build_equals_the_local_build(seed_index: SeedIndex, tmp_path: Path) -> None:
    work = seed_index.workdir.copy_to(tmp_path / "work")
    local = _build(work)
    result = work.rag("index", "build", "--corpus", "corpus", "--index", "ray-index", "--engine", "ray")
    assert result.returncode == 0, result.describe()
    ray_build = work.index.parent / "ray-index" / "builds"
    ray_build = ray_build / (work.index.parent / "ray-index" / "CURRENT").read_text(encoding="utf-8").strip()
    assert _chunks(ray_build) == _chunks(local)  # the same ids, offsets and texts, row for row
    assert _lexical(ray_build) == _lexical(local)  # the same BM25 ranking and scores
    a, b = np.load(local / "vectors.npy"), np.load(ray_build / "vectors.npy")
    assert a.shape == b.shape and float(np.min(np.sum(a * b, axis=1))) > 0.999, np.min(np.sum(a * b, axis=1))
    manifests = [json.loads((p / "manifest.json").read_text(encoding="utf-8")) for p in (local, ray_build)]
    assert manifests[0]["embedder"] == manifests[1]["embedder"]
    assert manifests[0]["documents"] == manifests[1]["documents"]

    (work.corpus / "新增.txt").write_text("石泉县2023年新建农村公路186公里，改造危房32户。\n", encoding="utf-8")
    again = work.rag("index", "build", "--corpus", "corpus", "--index", "ray-index", "--engine", "ray")
    assert again.returncode == 0, again.describe()
    assert "1 added" in again.stdout and " 1 chunks embedded" in again.stdout, again.stdout  # only the new file
