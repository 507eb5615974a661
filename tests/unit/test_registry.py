"""The registry: a generator registered from outside the package (this module) is made by its own factory from
the settings and answers through the pipeline exactly as the built-ins do; rerankers are a seam too."""

from __future__ import annotations

from collections.abc import Generator as PieceStream
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from rag import registry
from rag.errors import BackendUnavailableError
from rag.factories import create_generator, create_reranker
from rag.indexing import build_index
from rag.pipeline import build_pipeline
from rag.ranking import EvidenceReranker
from rag.settings import GeneratorSettings, RetrievalSettings, Settings
from rag.types import Draft, Hit


class ToyGenerator:
    """Quotes the first passage, saying who it is."""

    name = "toy"

    def __init__(self, *, greeting: str) -> None:
        self.greeting = greeting

    def generate(self, question: str, hits: Sequence[Hit]) -> PieceStream[str, None, Draft]:
        yield f"{self.greeting}: "
        yield hits[0].chunk.text + " [1]"
        return Draft(short_answer=None, grounded=True)


@pytest.fixture
def toy_registered() -> Iterator[None]:
    @registry.register("generator", "toy", f"{__name__}:ToyGenerator")
    def make_toy(cls: Any, cfg: GeneratorSettings) -> ToyGenerator:
        return cls(greeting=cfg.model or "toy")

    yield
    del registry._REGISTRY["generator"]["toy"]


def test_an_extension_generator_is_made_by_its_own_factory(toy_registered: None) -> None:
    generator = create_generator(GeneratorSettings(backend="toy", model="玩具"))
    assert isinstance(generator, ToyGenerator) and generator.greeting == "玩具"
    assert "toy" in registry.available("generator") and "toy" in registry.installed("generator")


def test_an_extension_generator_answers_through_the_pipeline(toy_registered: None, tmp_path: Path) -> None:
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "a.txt").write_text("恒口示范区\n新建标准化厂房3.1万平方米。", encoding="utf-8")
    settings = Settings()
    settings.embedder.backend = "hashing"
    settings.index.dir, settings.index.corpus = tmp_path / "index", [tmp_path / "corpus"]
    settings.generator.backend, settings.generator.model = "toy", "玩具"
    build_index(settings, progress=False)
    pipeline = build_pipeline(settings, warm=False)
    try:
        stream = pipeline.ask_stream("恒口示范区新建标准化厂房多少平方米？")
        pieces = list(stream)
        answer = stream.answer
    finally:
        pipeline.close()
    assert answer.backend == "toy" and answer.grounded and "".join(pieces) == answer.answer
    assert answer.answer.startswith("玩具: ") and answer.citations[0].text.endswith("3.1万平方米。")


def test_an_unknown_backend_names_the_registered_ones() -> None:
    with pytest.raises(BackendUnavailableError, match="extractive"):
        create_generator(GeneratorSettings(backend="nope"))


def test_the_evidence_reranker_is_the_default_and_can_be_turned_off() -> None:
    reranker = create_reranker(RetrievalSettings(coverage_weight=0.3))
    assert isinstance(reranker, EvidenceReranker) and reranker.weights.coverage == 0.3
    assert create_reranker(RetrievalSettings(rerank_depth=0)) is None
    assert create_reranker(RetrievalSettings(reranker="")) is None
