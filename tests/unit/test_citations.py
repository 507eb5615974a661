"""Citation markers: validation and renumbering in order of first use."""

from __future__ import annotations

from rag.citations import parse_markers, resolve_citations
from rag.types import Chunk, Hit


def _hits(n: int) -> list[Hit]:
    return [
        Hit(Chunk(f"d{i}:c", f"d{i}", f"passage {i}", 10 * i, 10 * i + 9), score=1.0 / (i + 1), title=f"t{i}")
        for i in range(n)
    ]


def test_parse_markers_ignores_links() -> None:
    assert parse_markers("a [2] b [1][3] c [4](http://x)") == [2, 1, 3]


def test_renumbered_in_order_of_first_use_and_invalid_dropped() -> None:
    text, cites = resolve_citations("甲 [3]。乙 [1]。丙 [3][3]。丁 [9]。", _hits(3))
    assert text == "甲 [1]。乙 [2]。丙 [1]。丁 。"
    assert [(c.n, c.doc_id) for c in cites] == [(1, "d2"), (2, "d0")]
    assert cites[0].start == 20 and cites[0].text == "passage 2"


def test_no_markers_no_citations() -> None:
    text, cites = resolve_citations("没有引用。", _hits(2))
    assert text == "没有引用。" and cites == []
