"""Streaming helpers: renumber citation markers on the fly and format Server-Sent Events (no framework)."""

from __future__ import annotations

import json
import re
from collections.abc import Generator as PieceStream
from collections.abc import Iterator
from typing import Any

from rag.pipeline import iter_pieces
from rag.types import Answer

_PARTIAL_TAIL = re.compile(r"\[\d{0,3}\]?$")  # a marker that may still be cut by the next piece
_MARKER = re.compile(r"\[(\d{1,3})\](?!\()")


class MarkerRenumberer:
    """Rewrite a stream of answer pieces the way ``resolve_citations`` rewrites the whole text.

    Backends number markers by retrieved passage (``[3]``); the final answer numbers them 1..m in order of first
    use, drops markers that point to no passage and collapses repeats. Doing the same piece by piece makes the
    streamed text equal to the final ``Answer.answer``.
    """

    def __init__(self, n_hits: int) -> None:
        self.n_hits = n_hits
        self.order: dict[int, int] = {}
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
        for m in _MARKER.finditer(text):
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


def renumbered(stream: PieceStream[str, None, Answer], n_hits: int) -> Iterator[str | Answer]:
    """The stream's pieces with markers renumbered as in the final answer, then the ``Answer`` itself."""
    fixer = MarkerRenumberer(n_hits)
    for item in iter_pieces(stream):
        if isinstance(item, Answer):
            rest = fixer.close()
            if rest:
                yield rest
            yield item
        else:
            text = fixer.feed(item)
            if text:
                yield text


def sse(event: str, data: Any) -> str:
    """One Server-Sent Event with a JSON payload."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def sse_data(data: Any) -> str:
    """One unnamed Server-Sent Event (the OpenAI streaming format)."""
    payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return f"data: {payload}\n\n"
