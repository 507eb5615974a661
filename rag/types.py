"""Domain types shared by every layer: documents, chunks, hits, citations and answers (no dependencies)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Page:
    """Where page ``number`` of a paged source lies in its document's text; ``ocr``: the page was read by OCR."""

    number: int
    start: int
    end: int
    ocr: bool = False


@dataclass(frozen=True, slots=True)
class Document:
    """One cleaned source document; ``text`` is what chunk offsets and citations index into. A paged source
    (PDF, scanned image) lists its ``pages`` in order."""

    id: str
    title: str
    text: str
    source: str
    content_hash: str
    date: str | None = None
    publisher: str | None = None
    pages: tuple[Page, ...] = ()

    def pages_of(self, start: int, end: int) -> tuple[tuple[int, ...], bool]:
        """The numbers of the pages that ``text[start:end]`` overlaps, and whether any of them was OCR'd."""
        hit = [p for p in self.pages if p.start < end and start < p.end] or [
            p for p in self.pages if p.start <= start <= p.end
        ][:1]
        return tuple(p.number for p in hit), any(p.ocr for p in hit)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Chunk:
    """A passage of a document: ``doc.text[start:end] == text``."""

    id: str
    doc_id: str
    text: str
    start: int
    end: int
    heading: str | None = None
    position: int = 0
    pages: tuple[int, ...] = ()  # the page numbers of a paged source the passage lies on
    ocr: bool = False  # some of it was read by OCR

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Hit:
    """A retrieved chunk with its final score and the per-signal scores that produced it."""

    chunk: Chunk
    score: float
    title: str = ""
    source: str = ""
    date: str | None = None
    signals: dict[str, float] = field(default_factory=dict)
    kb: str = ""  # the knowledge base it was found in

    def to_dict(self) -> dict[str, Any]:
        return {
            "kb": self.kb,
            "doc_id": self.chunk.doc_id,
            "chunk_id": self.chunk.id,
            "title": self.title,
            "source": self.source,
            "date": self.date,
            "heading": self.chunk.heading,
            "pages": list(self.chunk.pages),
            "start": self.chunk.start,
            "end": self.chunk.end,
            "score": round(self.score, 6),
            "signals": {k: round(v, 6) for k, v in self.signals.items()},
            "text": self.chunk.text,
        }


@dataclass(frozen=True, slots=True)
class Citation:
    """A numbered source of an answer: ``[n]`` in the answer text points here."""

    n: int
    doc_id: str
    title: str
    source: str
    chunk_id: str
    text: str
    start: int
    end: int
    score: float
    pages: tuple[int, ...] = ()
    ocr: bool = False
    kb: str = ""

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["score"] = round(self.score, 6)
        d["pages"] = list(self.pages)
        return d


@dataclass(frozen=True, slots=True)
class ReaderSpan:
    """A reader's answer: ``passage`` (index into the passages it read), the character span in it, its text, the
    raw margin over the no-answer score and the calibrated probability that the span is right."""

    passage: int
    start: int
    end: int
    text: str
    margin: float
    probability: float


@dataclass(frozen=True, slots=True)
class Draft:
    """What a generator knows beyond its text: the exact short answer span and whether it is grounded."""

    short_answer: str | None = None
    grounded: bool = True
    reason: str | None = None
    no_figure: bool = False  # a figure was asked for, the evidence names the subject but gives no such figure
    reader_probability: float | None = None  # the short answer is the learned reader's span, this likely right


@dataclass(slots=True)
class Answer:
    """The answer contract returned by ``rag ask --json`` and the HTTP API."""

    question: str
    answer: str
    short_answer: str | None
    grounded: bool
    citations: list[Citation]
    backend: str
    timings_ms: dict[str, float] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "question": self.question,
            "answer": self.answer,
            "short_answer": self.short_answer,
            "grounded": self.grounded,
            "citations": [c.to_dict() for c in self.citations],
            "backend": self.backend,
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
        }
        d.update(self.extra)
        return d
