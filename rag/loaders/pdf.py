"""PDF reading: the text layer of every page via pypdf, pages separated by blank lines."""

from __future__ import annotations

from pathlib import Path

from rag.errors import IngestError
from rag.loaders.cleaning import RawText


def read_pdf(path: Path) -> RawText:
    """Extract all page texts and the metadata title; corrupt, encrypted or text-less PDFs raise IngestError."""
    from pypdf import PdfReader

    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            raise IngestError(f"{path}: PDF is encrypted; decrypt it first")
        pages = [page.extract_text() or "" for page in reader.pages]
        title = reader.metadata.title if reader.metadata else None
    except IngestError:
        raise
    except Exception as exc:  # pypdf raises PdfReadError, but also ValueError/KeyError/... on damaged files
        raise IngestError(f"{path}: corrupt or unreadable PDF ({type(exc).__name__}: {exc})") from exc
    text = "\n\n".join(page.strip() for page in pages if page.strip())
    if not text:
        raise IngestError(f"{path}: PDF has no extractable text (scanned PDF? no text layer); OCR it first")
    return RawText(text=text, title=str(title) if title else None)
