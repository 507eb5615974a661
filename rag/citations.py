"""Citation markers, once: parse ``[n]`` in answer text, renumber markers in order of first use (the whole
text, or piece by piece as it streams), and the ``AnswerStream`` every edge reads an answer from."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from collections.abc import Generator as PieceStream

from rag.types import Answer, Citation, Hit

MARKER_RE = re.compile(r"\[(\d{1,3})\](?!\()")  # "[2]" but not a markdown link "[2](...)"
_PARTIAL_TAIL = re.compile(r"\[\d{0,3}\]?$")  # a marker that the next piece may still complete or turn into a link


def parse_markers(text: str) -> list[int]:
    """The marker numbers in ``text``, in order of appearance (repeats included)."""
    return [int(m.group(1)) for m in MARKER_RE.finditer(text)]


def resolve_citations(text: str, hits: Sequence[Hit]) -> tuple[str, list[Citation]]:
    """Rewrite ``text`` so its markers are numbered 1..m in order of first use, drop markers that point to no
    passage and collapse repeats, and return the citations for the passages actually cited."""
    renumberer = MarkerRenumberer(len(hits))
    rewritten = renumberer.feed(text) + renumberer.close()
    citations = []
    for old, new in sorted(renumberer.order.items(), key=lambda kv: kv[1]):
        hit = hits[old - 1]
        c = hit.chunk
        citations.append(
            Citation(
                n=new,
                doc_id=c.doc_id,
                title=hit.title,
                source=hit.source,
                chunk_id=c.id,
                text=c.text,
                start=c.start,
                end=c.end,
                score=hit.score,
                pages=c.pages,
                ocr=c.ocr,
                kb=hit.kb,
            )
        )
    return rewritten, citations


class MarkerRenumberer:
    """Renumber markers as text arrives: backends number them by retrieved passage (``[3]``); the answer numbers
    them 1..m in order of first use, drops markers that point to no passage and collapses repeats. Fed the
    whole text at once or piece by piece, the output is the same."""

    def __init__(self, n_hits: int) -> None:
        self.n_hits = n_hits
        self.order: dict[int, int] = {}  # backend's number → answer's number
        self._pending = ""
        self._last_marker = ""  # the marker the output ends with, if it ends with one

    def feed(self, piece: str) -> str:
        text = self._pending + piece
        tail = _PARTIAL_TAIL.search(text)
        # A complete marker at the very end stays pending too: a following "(" would make it a markdown link.
        cut = tail.start() if tail else len(text)
        self._pending = text[cut:]
        return self._rewrite(text[:cut])

    def close(self) -> str:
        text, self._pending = self._pending, ""
        return self._rewrite(text)

    def _rewrite(self, text: str) -> str:
        out: list[str] = []
        pos = 0
        for m in MARKER_RE.finditer(text):
            if m.start() > pos:
                out.append(text[pos : m.start()])
                self._last_marker = ""
            pos = m.end()
            n = int(m.group(1))
            if not 1 <= n <= self.n_hits:
                continue
            marker = f"[{self.order.setdefault(n, len(self.order) + 1)}]"
            if marker != self._last_marker:
                out.append(marker)
                self._last_marker = marker
        if pos < len(text):
            out.append(text[pos:])
            self._last_marker = ""
        return "".join(out)


# What writes an answer: given a callback to announce how many passages it answers from (before its first
# piece), it yields raw pieces and returns the finished ``Answer``.
AnswerSource = Callable[[Callable[[int], None]], PieceStream[str, None, Answer]]


class AnswerStream:
    """An answer being written, read like httpx's ``Response``: iterate it for the text pieces, their markers
    already numbered as in the final answer, then read ``.answer``. ``read()`` does both at once.

    Errors of the answer step surface from the iteration; every edge (SSE, the OpenAI stream, the UI)
    consumes this one object."""

    def __init__(self, source: AnswerSource) -> None:
        self._renumberer = MarkerRenumberer(0)
        self._source = source(self._passages)
        self._answer: Answer | None = None

    def _passages(self, n_hits: int) -> None:
        self._renumberer = MarkerRenumberer(n_hits)

    def __iter__(self) -> Iterator[str]:
        while True:
            try:
                piece = next(self._source)
            except StopIteration as stop:
                rest = self._renumberer.close()
                if rest:
                    yield rest
                self._answer = stop.value
                return
            text = self._renumberer.feed(piece)
            if text:
                yield text

    @property
    def answer(self) -> Answer:
        """The finished answer (its text equals the pieces joined); only once the stream has been read."""
        if self._answer is None:
            raise RuntimeError("the answer is not finished: iterate the stream (or call read()) first")
        return self._answer

    def read(self) -> Answer:
        """Run the stream to its end and return the answer."""
        for _ in self:
            pass
        return self.answer
