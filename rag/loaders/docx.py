"""Word (.docx) reading via python-docx: body paragraphs and table rows in document order."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rag.errors import IngestError
from rag.loaders.cleaning import RawText

# Cells of one table row are joined with this, so a row's figures stay on one line next to their labels.
CELL_SEPARATOR = " | "


def read_docx(path: Path) -> RawText:
    """Extract paragraphs and table cells (row by row) and the core-properties title of a .docx file."""
    import docx
    from docx.table import Table

    try:
        document = docx.Document(str(path))
        blocks: list[str] = []
        for item in document.iter_inner_content():
            if isinstance(item, Table):
                blocks.extend(_table_rows(item))
            else:
                blocks.append(item.text)
        title = document.core_properties.title
    except Exception as exc:  # BadZipFile, KeyError, PackageNotFoundError, lxml errors, ...
        raise IngestError(f"{path}: corrupt or unreadable .docx file ({type(exc).__name__}: {exc})") from exc
    text = "\n\n".join(block.strip() for block in blocks if block.strip())
    if not text:
        raise IngestError(f"{path}: .docx file contains no text")
    return RawText(text=text, title=title or None)


def _table_rows(table: Any) -> list[str]:
    rows: list[str] = []
    for row in table.rows:
        cells: list[str] = []
        seen: set[int] = set()
        for cell in row.cells:
            # Merged cells repeat the same underlying element once per grid column; keep one.
            if id(cell._tc) in seen:
                continue
            seen.add(id(cell._tc))
            cells.append(" ".join(cell.text.split()))
        if any(cells):
            rows.append(CELL_SEPARATOR.join(cells))
    return rows
