"""The build plan: a pure diff of the previous manifest against what the corpus holds now."""

from __future__ import annotations

from typing import Any

from rag.indexing.plan import VectorPlan, can_reuse, diff_sources, plan_vectors

WANTED: dict[str, Any] = {
    "embedder": {"backend": "hashing", "model": "hashing", "query_prefix": ""},
    "chunking": {"size": 300, "overlap": 60, "min_size": 40},
}


def _doc(content_hash: str, chunks: int, first_row: int) -> dict[str, Any]:
    return {"source": "corpus/x.txt", "content_hash": content_hash, "chunks": chunks, "first_row": first_row}


def test_vectors_are_reused_only_under_the_same_embedder_and_chunking() -> None:
    built = {"embedder": {**WANTED["embedder"], "dim": 256}, "chunking": dict(WANTED["chunking"])}
    assert can_reuse(built, WANTED)  # the dimension is the build's own, not a setting
    assert not can_reuse({**built, "chunking": {**WANTED["chunking"], "size": 500}}, WANTED)
    assert not can_reuse({**built, "embedder": {**built["embedder"], "model": "other"}}, WANTED)


def test_sources_diff_on_a_toy_manifest() -> None:
    indexed = {"corpus/a.txt": {"sha256": "aa"}, "corpus/b.txt": {"sha256": "bb"}, "corpus/c.txt": {"sha256": "cc"}}
    diff = diff_sources(indexed, {"corpus/b.txt": "b2", "corpus/a.txt": "aa", "corpus/0.txt": None})
    assert diff.added == ["corpus/0.txt"]  # a new file needs no hash
    assert diff.changed == ["corpus/b.txt"]
    assert diff.unchanged == ["corpus/a.txt"]
    assert diff.removed == ["corpus/c.txt"]
    same = diff_sources(indexed, {rel: entry["sha256"] for rel, entry in indexed.items()})
    assert (same.added, same.changed, same.removed) == ([], [], []) and len(same.unchanged) == 3


def test_vector_plan_on_a_toy_manifest() -> None:
    previous = {"a": _doc("ha", 3, 0), "b": _doc("hb", 2, 3), "c": _doc("hc", 4, 5), "gone": _doc("hg", 1, 9)}
    # new "n" first, "a" unchanged, "b" edited, "c" same text but another chunk count
    documents = {"n": _doc("hn", 2, 0), "a": _doc("ha", 3, 2), "b": _doc("hb2", 2, 5), "c": _doc("hc", 5, 7)}
    plan = plan_vectors(previous, documents)
    assert plan.reuse == [(2, 0, 3)]  # a's 3 vectors move from rows 0-2 to rows 2-4
    assert plan.embed == [0, 1, 5, 6, 7, 8, 9, 10, 11]
    assert (plan.added, plan.changed, plan.unchanged, plan.removed) == (1, 2, 1, 1)


def test_first_build_embeds_everything() -> None:
    documents = {"a": _doc("ha", 2, 0), "b": _doc("hb", 1, 2)}
    assert plan_vectors({}, documents) == VectorPlan(embed=[0, 1, 2], added=2)
    assert plan_vectors(documents, documents) == VectorPlan(reuse=[(0, 0, 2), (2, 2, 1)], unchanged=2)
