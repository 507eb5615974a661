"""JSON Lines reading: one document per line, bad lines reported as errors while good lines still load.

UTF-8 files (the JSON Lines format's encoding) are read a line at a time, so a file of any size loads in
memory bounded by its longest line; other encodings are decoded whole, as text files are."""

from __future__ import annotations

import codecs
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from rag.errors import IngestError
from rag.loaders.cleaning import build_document, parse_iso_date
from rag.loaders.text import decode_bytes
from rag.types import Document

_OPTIONAL_FIELDS = ("title", "source", "date", "publisher")
_SNIFF_BYTES = 64 * 1024
_BLOCK_BYTES = 1 << 20


def iter_jsonl(path: Path, *, rel: str, on_error: Callable[[IngestError], None]) -> Iterator[Document]:
    """Load ``{"id", "title", "text"}`` records (optional ``source``, ``date``, ``publisher``) from a .jsonl file.

    A file that cannot be read, is empty, binary or undecodable raises IngestError here, before the first
    document. A line that is not valid JSON, lacks ``id``/``text``, has wrongly typed fields or repeats an id
    is passed to ``on_error`` and skipped. Lines split on ``\\n`` only: JSON strings may legally hold raw
    U+2028/U+0085, which ``str.splitlines()`` would break on.
    """
    try:
        fh = open(path, "rb")  # noqa: SIM115 -- closed by the generator it is handed to, or below
    except OSError as exc:
        raise IngestError(f"{path}: cannot read file ({exc.strerror or exc})") from exc
    try:
        streamable = _streamable_utf8(fh, name=str(path))
        if not streamable:
            fh.seek(0)
            text = decode_bytes(fh.read(), name=str(path))
    except OSError as exc:
        fh.close()
        raise IngestError(f"{path}: cannot read file ({exc.strerror or exc})") from exc
    except BaseException:
        fh.close()
        raise
    if streamable:
        fh.seek(0)
        return _records(_utf8_lines(fh), path=path, rel=rel, on_error=on_error)
    fh.close()
    return _records(iter(text.split("\n")), path=path, rel=rel, on_error=on_error)


def _streamable_utf8(fh: IO[bytes], *, name: str) -> bool:
    """Whether the file is UTF-8 (BOM allowed) throughout, read a block at a time; raises IngestError for an
    empty or binary file. False for UTF-16 (by its BOM) and for any other encoding."""
    head = fh.read(_SNIFF_BYTES)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return False
    if b"\x00" in head:
        raise IngestError(f"{name}: looks like binary data, not text (contains NUL bytes)")
    decoder = codecs.getincrementaldecoder("utf-8")()
    blank = True
    block = head
    try:
        while block:
            decoder.decode(block)
            blank = blank and not block.removeprefix(codecs.BOM_UTF8).strip()
            block = fh.read(_BLOCK_BYTES)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    if blank:
        raise IngestError(f"{name}: file is empty")
    return True


def _utf8_lines(fh: IO[bytes]) -> Iterator[str]:
    with fh:
        for n, raw in enumerate(fh):
            # checked as UTF-8 already: "replace" only matters for a file rewritten since, which stays readable
            line = raw.decode("utf-8", errors="replace")
            yield line.removeprefix("\ufeff") if n == 0 else line


def _records(
    lines: Iterator[str], *, path: Path, rel: str, on_error: Callable[[IngestError], None]
) -> Iterator[Document]:
    seen: set[str] = set()
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path} line {lineno}"
        try:
            doc = _record_document(line, rel=rel, where=where)
            if doc.id in seen:
                raise IngestError(f"{where}: duplicate id {doc.id!r}")
        except IngestError as exc:
            on_error(exc)
            continue
        seen.add(doc.id)
        yield doc


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
