"""Document loaders: find corpus files and turn each into cleaned ``Document`` objects, whatever the format."""

from __future__ import annotations

import importlib
import inspect
import logging
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath

from rag.errors import IngestError
from rag.loaders.cleaning import RawText, ReadOptions, build_document, clean_text, extract_metadata, file_doc_id
from rag.types import Document

__all__ = [
    "SUPPORTED_SUFFIXES",
    "ReadOptions",
    "SourceFile",
    "clean_text",
    "discover_files",
    "extract_metadata",
    "load_source",
]

# Readers by suffix, "module:function" (imported when a file of that kind is met): each turns a file into a
# ``RawText`` (or plain text) and raises ``IngestError`` with the reason it cannot. ``register_reader`` adds
# one; `.jsonl` (many documents a file) is read by ``rag.loaders.jsonl`` instead.
_READERS: dict[str, str] = {
    ".txt": "rag.loaders.text:read_text_file",
    ".md": "rag.loaders.tables:read_markdown",
    ".html": "rag.loaders.html:read_html",
    ".htm": "rag.loaders.html:read_html",
    ".pdf": "rag.loaders.pdf:read_pdf",
    ".docx": "rag.loaders.docx:read_docx",
    ".csv": "rag.loaders.tables:read_csv",
    ".xlsx": "rag.loaders.tables:read_xlsx",
    ".doc": "rag.loaders.office:read_legacy_office",  # converted by LibreOffice when one is met
    ".wps": "rag.loaders.office:read_legacy_office",
    ".xls": "rag.loaders.office:read_legacy_office",
    ".png": "rag.loaders.ocr:read_image",  # scans: read by OCR (RAG_LOADERS__OCR)
    ".jpg": "rag.loaders.ocr:read_image",
    ".jpeg": "rag.loaders.ocr:read_image",
    ".tif": "rag.loaders.ocr:read_image",
    ".tiff": "rag.loaders.ocr:read_image",
}


def supported_suffixes() -> tuple[str, ...]:
    """The file suffixes the corpus, builds and uploads accept."""
    return tuple(sorted([*_READERS, ".jsonl"]))


SUPPORTED_SUFFIXES = supported_suffixes()  # the built-in ones


def register_reader(suffix: str, target: str) -> None:
    """Read files ending in ``suffix`` with ``target`` (``"package.module:function"``, a function of a ``Path``
    returning ``rag.loaders.cleaning.RawText`` or the text, given ``options=ReadOptions(…)`` too when it has
    that keyword); the corpus, builds and uploads then accept them."""
    _READERS[suffix.lower()] = target


logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A corpus file: its path, the root it was found under, and ``rel``: its posix path from the root's parent
    (``corpus/a.txt``), which is the document's ``source`` and the seed of its id."""

    path: Path
    root: Path
    rel: str

    @property
    def suffix(self) -> str:
        return self.path.suffix.lower()


def discover_files(paths: Sequence[Path]) -> list[SourceFile]:
    """Supported files under ``paths``: folders are walked recursively in sorted order, skipping hidden entries.

    A file given directly is its own source with its parent folder as root; it must have a supported suffix.
    A file reached twice is listed once. Raises IngestError for a missing path or an unsupported file.
    """
    found: list[SourceFile] = []
    seen: set[Path] = set()
    for given in paths:
        path = Path(given)
        if path.is_dir():
            candidates = [(file, path) for file in _walk(path)]
        elif path.is_file():
            if path.suffix.lower() not in supported_suffixes():
                raise IngestError(
                    f"{path}: unsupported file type {path.suffix or '(no suffix)'!r}; "
                    f"supported: {', '.join(supported_suffixes())}"
                )
            candidates = [(path, path.parent)]
        else:
            raise IngestError(f"{path}: no such file or directory")
        for file, root in candidates:
            key = file.resolve()
            if key not in seen:
                seen.add(key)
                # rel starts with the root folder's own name ("corpus/a.txt"): sources stay distinct across roots.
                rel = (PurePath(root.resolve().name) / file.relative_to(root)).as_posix()
                found.append(SourceFile(path=file, root=root, rel=rel))
    return found


def _walk(root: Path) -> list[Path]:
    files: list[Path] = []
    # os.walk does not follow directory symlinks, so a link loop cannot make discovery endless.
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if not name.startswith(".") and PurePath(name).suffix.lower() in supported_suffixes():
                files.append(Path(dirpath) / name)
    return files


def load_source(
    source: SourceFile,
    *,
    on_error: Callable[[IngestError], None] | None = None,
    options: ReadOptions | None = None,
) -> Iterable[Document]:
    """Load one source file as documents (one per file; one per good line of a .jsonl file, read as it goes).

    A file that cannot be loaded at all (empty, binary, undecodable, corrupt, no text) raises IngestError here.
    Per-record problems (bad .jsonl lines) do not stop the file: each is passed to ``on_error``, or logged
    as a warning on this module's logger when no callback is given, and the good records are returned.
    """
    suffix = source.suffix
    if suffix == ".jsonl":
        from rag.loaders.jsonl import iter_jsonl

        return iter_jsonl(source.path, rel=source.rel, on_error=on_error or _log_skipped)
    try:
        raw = _read_raw(source, options or ReadOptions())
        return [
            build_document(
                raw.text,
                doc_id=file_doc_id(source.rel),
                source=source.rel,
                name=source.rel,
                fallback_title=PurePath(source.rel).stem,
                title=raw.title,
                date=raw.date,
                pages=raw.pages,
            )
        ]
    except IngestError as exc:
        # Errors name the file as the corpus knows it (corpus/a.pdf), never by its absolute server path.
        raise IngestError(str(exc).replace(str(source.path), source.rel)) from exc


def _log_skipped(error: IngestError) -> None:
    logger.warning("skipped record: %s", error)


def _read_raw(source: SourceFile, options: ReadOptions) -> RawText:
    target = _READERS.get(source.suffix)
    if target is None:
        raise IngestError(
            f"{source.path}: unsupported file type {source.suffix!r}; supported: {', '.join(supported_suffixes())}"
        )
    module, _, name = target.partition(":")
    reader: Callable[[Path], RawText | str] = getattr(importlib.import_module(module), name)
    takes_options = "options" in inspect.signature(reader).parameters
    raw = reader(source.path, options=options) if takes_options else reader(source.path)  # type: ignore[call-arg]
    return RawText(text=raw) if isinstance(raw, str) else raw
