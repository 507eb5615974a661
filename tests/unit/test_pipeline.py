"""The pipeline over a real index (hashing embedder): filters, a follow-up rewritten by the carry-over rule, an
answer backend that fails mid-answer replaced by the extractive one (said in the answer and in the stream),
and what the stream yields equal to the answer's text."""

from __future__ import annotations

from collections.abc import Generator as PieceStream
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from rag import registry
from rag.errors import GenerationError, InvalidQueryError
from rag.indexing import build_index
from rag.pipeline import FALLBACK_SEPARATOR, Pipeline, build_pipeline
from rag.settings import Settings
from rag.types import Draft, Hit

REPORTS = {
    "a.txt": "恒口示范区\n2019年,恒口示范区完成固定资产投资45亿元。2020年,恒口示范区完成固定资产投资52亿元。",
    "b.txt": "青山镇\n青山镇2023年新修水渠9公里,新建村道12公里。",
}


class BrokenGenerator:
    """Writes a few words, then fails, as an LLM server that drops the connection does."""

    name = "broken"

    def __init__(self, **_: Any) -> None:
        pass

    def generate(self, question: str, hits: Sequence[Hit]) -> PieceStream[str, None, Draft]:
        yield "据报道 [1]"
        raise GenerationError("the server went away")


@pytest.fixture
def pipeline(tmp_path: Path) -> Iterator[Pipeline]:
    (tmp_path / "corpus").mkdir()
    for name, text in REPORTS.items():
        (tmp_path / "corpus" / name).write_text(text, encoding="utf-8")
    settings = Settings()
    settings.embedder.backend = "hashing"
    settings.index.dir, settings.index.corpus = tmp_path / "index", [tmp_path / "corpus"]
    build_index(settings, progress=False)
    registry.register("generator", "broken", f"{__name__}:BrokenGenerator")
    made = build_pipeline(settings, warm=False)
    yield made
    made.close()
    del registry._REGISTRY["generator"]["broken"]


def test_a_question_is_checked_before_anything_runs(pipeline: Pipeline) -> None:
    with pytest.raises(InvalidQueryError, match="empty"):
        pipeline.search("   ")
    with pytest.raises(InvalidQueryError, match="surrogate"):
        pipeline.ask("\ud800多少？")


def test_filters_keep_only_the_documents_asked_for(pipeline: Pipeline) -> None:
    doc_b = next(d.id for d in pipeline.index.chunks.documents() if d.source == "corpus/b.txt")
    hits = pipeline.search("固定资产投资多少", doc_ids=[doc_b]).hits
    assert hits and {h.chunk.doc_id for h in hits} == {doc_b}


def test_a_follow_up_is_rewritten_by_the_carry_over_rule(pipeline: Pipeline) -> None:
    history = [{"role": "user", "content": "恒口示范区2019年完成固定资产投资多少？"}]
    answer = pipeline.ask("那2020年呢？", history=history)
    assert answer.extra["rewritten_question"] == "恒口示范区2020年完成固定资产投资多少？"
    assert answer.short_answer == "52亿元"


def test_a_backend_failing_mid_answer_is_replaced_by_the_extractive_one(pipeline: Pipeline) -> None:
    stream = pipeline.ask_stream("青山镇2023年新修水渠多少公里？", backend="broken")
    pieces = list(stream)
    answer = stream.answer
    assert "".join(pieces) == answer.answer and FALLBACK_SEPARATOR in answer.answer
    assert answer.backend == "extractive" and answer.extra["fallback"]["from"] == "broken"
    assert answer.short_answer == "9公里" and answer.grounded
