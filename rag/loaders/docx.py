"""Word (.docx) reading via python-docx: body paragraphs and tables (each row with its headers) in document order."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rag.errors import IngestError
from rag.loaders.cleaning import RawText

# A .docx is a zip: its parts are checked before anything is inflated, so a small file that expands to
# gigabytes (a zip bomb) is refused instead of filling memory. Real reports stay far below both limits.
MAX_UNCOMPRESSED_BYTES = 256 * 1024 * 1024
MAX_RATIO = 200  # uncompressed / compressed, for parts over 1 MB


def read_docx(path: Path) -> RawText:
    """Extract paragraphs and table cells (row by row) and the core-properties title of a .docx file."""
    import docx
    from docx.table import Table

    check_zip(path)
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


def check_zip(path: Path, *, kind: str = ".docx") -> None:
    """Refuse a zip file (a ``kind`` file: .docx, .xlsx) whose parts would inflate past
    ``MAX_UNCOMPRESSED_BYTES`` or ``MAX_RATIO``, reading only its central directory (the sizes it declares;
    inflating never goes past them, zipfile checks)."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise IngestError(f"{path.name}: corrupt or unreadable {kind} file ({type(exc).__name__}: {exc})") from exc
    total = sum(i.file_size for i in infos)
    if total > MAX_UNCOMPRESSED_BYTES:
        raise IngestError(
            f"{path.name}: the {kind} expands to {total / 1024 / 1024:.0f} MB, over the "
            f"{MAX_UNCOMPRESSED_BYTES // 1024 // 1024} MB limit (a zip bomb, or not a report)"
        )
    for info in infos:
        if info.file_size > 1024 * 1024 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise IngestError(
                f"{path.name}: part {info.filename} is compressed {info.file_size // max(info.compress_size, 1)}:1, "
                f"over {MAX_RATIO}:1 (a zip bomb); refused"
            )


def _table_rows(table: Any) -> list[str]:
    """The table's sentences (``rag.loaders.tables.table_lines``): each row with its column headers and units.
    python-docx repeats a merged cell in every grid cell it covers; a repeat to the right becomes ``None``
    (the header to its left goes on), one below becomes empty, or ``None`` in the first column (the label goes
    on down)."""
    from rag.loaders.tables import table_lines

    grid: list[list[str | None]] = []
    above: list[Any] = []  # the previous row's cell elements, held so that ``is`` compares them (lxml proxies)
    for row in table.rows:
        cells: list[str | None] = []
        elements: list[Any] = []
        for j, cell in enumerate(row.cells):
            tc = cell._tc
            if elements and elements[-1] is tc:
                cells.append(None)
            elif j < len(above) and above[j] is tc:
                cells.append(None if j == 0 else "")
            else:
                cells.append(" ".join(cell.text.split()))
            elements.append(tc)
        above = elements
        grid.append(cells)
    return table_lines(grid)
