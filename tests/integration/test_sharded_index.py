"""`rag index build --shards 4`: the seed corpus cut into four shards (FAISS + BM25 each, BM25 scored with the
whole corpus's statistics) answers every question of the seed figure set with the same candidates, the same
ranking, the same scores and the same answers as the unsharded index it was built beside; the build verifies
and its status says how many shards it has."""

from __future__ import annotations

import csv
import itertools
import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import SeedIndex

    from rag.pipeline import Pipeline
    from rag.settings import Settings

pytestmark = pytest.mark.slow
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _questions() -> list[str]:
    with open(FIXTURES / "figure_seeds.tsv", encoding="utf-8") as fh:
        return [row["question"] for row in csv.DictReader(fh, delimiter="\t")]


def test_four_shards_rank_and_answer_like_one_index(
    seed_index: SeedIndex, seed_pipeline: Pipeline, seed_settings: Settings, tmp_path: Path
) -> None:
    from rag.pipeline import build_pipeline

    work = seed_index.workdir.copy_to(tmp_path / "work")
    built = work.rag("index", "build", "--corpus", "corpus", "--shards", "4")
    assert built.returncode == 0, built.describe()
    assert " 0 chunks embedded" in built.stdout, built.stdout  # the same vectors: only the indexes are cut up
    manifest = work.manifest()
    shards = manifest["shards"]
    assert manifest["format_version"] == 3 and len(shards) == 4 and shards[0]["start"] == 0
    assert shards[-1]["stop"] == manifest["counts"]["chunks"]
    assert all(a["stop"] == b["start"] for a, b in itertools.pairwise(shards))
    assert all(any(rel.startswith(s["path"] + "/bm25/") for rel in manifest["artifacts"]) for s in shards)
    status = work.rag("index", "status", "--json")
    assert status.returncode == 0 and json.loads(status.stdout)["shards"] == 4, status.describe()
    verified = work.rag("index", "verify")
    assert verified.returncode == 0, verified.describe()

    sharded = build_pipeline(
        seed_settings,
        index_dir=work.index,
        embedder=seed_pipeline.embedder,
        query_embedder=seed_pipeline.query_embedder,
    )
    try:
        assert sharded.index.size == seed_pipeline.index.size
        questions = _questions()
        assert len(questions) >= 50
        for question in questions:
            want = seed_pipeline.retriever.candidate_lists(question)
            got = sharded.retriever.candidate_lists(question)
            assert got.lexical == want.lexical, question  # rows and BM25 scores, exactly
            assert [r for r, _ in got.dense] == [r for r, _ in want.dense], question
            assert [s for _, s in got.dense] == pytest.approx([s for _, s in want.dense], abs=1e-6), question
            hits = [(h.chunk.id, round(h.score, 6)) for h in sharded.search(question, top_k=10).hits]
            assert hits == [(h.chunk.id, round(h.score, 6)) for h in seed_pipeline.search(question, top_k=10).hits]
            a, b = sharded.ask(question), seed_pipeline.ask(question)
            assert (a.short_answer, a.answer, a.grounded) == (b.short_answer, b.answer, b.grounded), question
    finally:
        sharded.close()
