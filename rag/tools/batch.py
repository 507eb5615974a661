"""Questions read from files, and batch answering (`rag ask --input`): one JSON record a line, a line that is
not a question reported with its number rather than stopping the batch."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rag.errors import RAGError
from rag.pipeline import Pipeline


def read_question_lines(path: Path) -> tuple[list[tuple[int, dict[str, Any]]], list[tuple[int, str]]]:
    """The file's questions as (line number, record), and the lines that are not one (line number, why)."""
    items: list[tuple[int, dict[str, Any]]] = []
    bad: list[tuple[int, str]] = []
    with open(path, encoding="utf-8", errors="replace") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except ValueError as exc:
                bad.append((n, f"not JSON ({exc})"))
                continue
            if not isinstance(item, dict) or not isinstance(item.get("question"), str):
                bad.append((n, 'each line needs a "question" string'))
                continue
            items.append((n, item))
    return items, bad


def answer_batch(
    pipeline: Pipeline, input_file: Path, output_file: Path, *, top_k: int | None, backend: str | None
) -> tuple[int, list[tuple[int, str]]]:
    """Answer each line of ``input_file`` into ``output_file``, in line order; a line that cannot be answered
    (not JSON, no question, an empty or too long question) gets an error record and the batch goes on.
    Returns how many records were written and the failed lines (line number, why)."""
    items, bad = read_question_lines(input_file)
    records: list[tuple[int, dict[str, Any]]] = [(n, {"id": str(n), "line": n, "error": why}) for n, why in bad]
    for n, item in items:
        key = item.get("id", str(n))
        try:
            found = pipeline.search(item["question"], top_k=top_k)  # retrieved once, answered from
            answer = pipeline.ask(item["question"], backend=backend, found=found).to_dict()
        except RAGError as exc:
            records.append((n, {"id": key, "line": n, "question": item["question"], "error": str(exc)}))
            continue
        answer["id"] = key
        answer["retrieved"] = [
            {"doc_id": h.chunk.doc_id, "chunk_id": h.chunk.id, "score": round(h.score, 6)} for h in found.hits
        ]
        records.append((n, answer))
    records.sort(key=lambda r: r[0])
    with open(output_file, "w", encoding="utf-8") as fh:
        for _, record in records:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    return len(records), [(n, r["error"]) for n, r in records if "error" in r]
