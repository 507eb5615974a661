"""Citation markers: parse ``[n]`` in answer text, keep only valid ones, renumber them in order of first use."""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.types import Citation, Hit

MARKER_RE = re.compile(r"\[(\d{1,3})\](?!\()")  # "[2]" but not a markdown link "[2](...)"


def parse_markers(text: str) -> list[int]:
    """The marker numbers in ``text``, in order of appearance (repeats included)."""
    return [int(m.group(1)) for m in MARKER_RE.finditer(text)]


def resolve_citations(text: str, hits: Sequence[Hit]) -> tuple[str, list[Citation]]:
    """Rewrite ``text`` so its markers are numbered 1..m in order of first use, drop markers that point to no
    passage, and return the citations for the passages actually cited."""
    order: dict[int, int] = {}
    for n in parse_markers(text):
        if 1 <= n <= len(hits) and n not in order:
            order[n] = len(order) + 1

    def renumber(m: re.Match[str]) -> str:
        n = int(m.group(1))
        return f"[{order[n]}]" if n in order else ""

    rewritten = MARKER_RE.sub(renumber, text)
    rewritten = re.sub(r"(\[\d+\])(?:\1)+", r"\1", rewritten)  # "[1][1]" → "[1]"
    citations = []
    for old, new in sorted(order.items(), key=lambda kv: kv[1]):
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
            )
        )
    return rewritten, citations
