"""JSON Lines reading: one document per line, bad lines reported as errors while good lines still load."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag.errors import IngestError
from rag.loaders.cleaning import build_document, parse_iso_date
from rag.loaders.text import decode_bytes
from rag.types import Document

_OPTIONAL_FIELDS = ("title", "source", "date", "publisher")


@dataclass(slots=True)
class JsonlResult:
    """Documents of the good lines and one IngestError (naming file and line number) per bad line."""

    documents: list[Document] = field(default_factory=list)
    errors: list[IngestError] = field(default_factory=list)


def read_jsonl(path: Path, *, rel: str) -> JsonlResult:
    """Load ``{"id", "title", "text"}`` records (optional ``source``, ``date``, ``publisher``) from a .jsonl file.

    A line that is not valid JSON, lacks ``id``/``text``, has wrongly typed fields or repeats an id becomes an
    entry of ``errors`` and is skipped. A file that cannot be read or decoded at all raises IngestError.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IngestError(f"{path}: cannot read file ({exc.strerror or exc})") from exc
    result = JsonlResult()
    seen: set[str] = set()
    # Split on \n only: JSON strings may legally hold raw U+2028/U+0085, which str.splitlines() would break on.
    for lineno, line in enumerate(decode_bytes(data, name=str(path)).split("\n"), start=1):
        if not line.strip():
            continue
        where = f"{path} line {lineno}"
        try:
            doc = _record_document(line, rel=rel, where=where)
            if doc.id in seen:
                raise IngestError(f"{where}: duplicate id {doc.id!r}")
        except IngestError as exc:
            result.errors.append(exc)
            continue
        seen.add(doc.id)
        result.documents.append(doc)
    return result


def _record_document(line: str, *, rel: str, where: str) -> Document:
    try:
        record: Any = json.loads(line)
    except json.JSONDecodeError as exc:
        raise IngestError(f"{where}: invalid JSON ({exc.msg} at column {exc.colno})") from exc
    if not isinstance(record, dict):
        raise IngestError(f"{where}: expected a JSON object, got {type(record).__name__}")
    record_id = record.get("id")
    if isinstance(record_id, bool) or not isinstance(record_id, str | int) or not str(record_id).strip():
        raise IngestError(f"{where}: missing or invalid 'id' (a non-empty string or integer is required)")
    text = record.get("text")
    if not isinstance(text, str) or not text.strip():
        raise IngestError(f"{where}: missing or empty 'text'")
    for key in _OPTIONAL_FIELDS:
        if record.get(key) is not None and not isinstance(record[key], str):
            raise IngestError(f"{where}: field {key!r} must be a string")
    doc_id = str(record_id).strip()
    date: str | None = None
    if record.get("date"):
        date = parse_iso_date(record["date"])
        if date is None:
            raise IngestError(f"{where}: 'date' {record['date']!r} is not a date like 2021-09-09")
    return build_document(
        text,
        doc_id=doc_id,
        source=record.get("source") or f"{rel}#{doc_id}",
        name=where,
        fallback_title=doc_id,
        title=record.get("title"),
        date=date,
        publisher=(record.get("publisher") or "").strip() or None,
    )
