"""PDF reading with pdfplumber: every page's text in reading order, its ruled tables as labelled sentences, and
pages without a text layer (scans) read by OCR; each page keeps its number for citations."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rag.errors import IngestError
from rag.loaders.cleaning import RawPage, RawText, ReadOptions
from rag.loaders.layout import TextBox, layout_text
from rag.loaders.tables import TABLE_UNIT_RE, table_lines

# A page whose images cover this share of it and whose text layer has fewer characters is a scan.
SCAN_IMAGE_SHARE = 0.5
SCAN_TEXT_CHARS = 30
OCR_DPI = 200  # scans are rendered at this resolution for OCR (BENCHMARKS.md, OCR)
# Characters of one line farther apart than this (in points) are separate boxes: a column gutter or table gap.
WORD_GAP = 6.0


def read_pdf(path: Path, *, options: ReadOptions | None = None) -> RawText:
    """The pages' texts (tables as sentences whose figures carry their row and column labels) and the metadata
    title. Pages with no text layer but an image are OCR'd unless ``options.ocr`` is off; corrupt, encrypted
    or text-less PDFs raise IngestError."""
    import pdfplumber
    from pdfminer.pdfdocument import PDFPasswordIncorrect

    options = options or ReadOptions()
    try:
        with pdfplumber.open(path) as pdf:
            title = _title(pdf.metadata)
            pages: list[RawPage] = []
            scanned: list[Any] = []
            for number, page in enumerate(pdf.pages, start=1):
                text = page_text(page)
                if _is_scan(page, text):
                    scanned.append(page)
                elif text.strip():
                    pages.append(RawPage(number, text))
            if scanned and options.ocr:
                pages += _ocr(scanned, name=path.name, cache=options.ocr_cache_dir)
    except IngestError:
        raise
    except PDFPasswordIncorrect:
        raise IngestError(f"{path}: PDF is encrypted with a password; decrypt it first") from None
    except Exception as exc:  # pdfminer raises PDFSyntaxError, PSEOF, but also ValueError/KeyError/... on damage
        raise IngestError(f"{path}: corrupt or unreadable PDF ({type(exc).__name__}: {exc})") from exc
    if not pages:
        hint = (
            "; OCR is off (RAG_LOADERS__OCR=false): turn it on to read scans"
            if scanned and not options.ocr
            else "; OCR it first"
        )
        raise IngestError(f"{path}: PDF has no extractable text (scanned PDF? no text layer){hint}")
    return RawText.from_pages(tuple(sorted(pages, key=lambda p: p.number)), title=title)


def page_text(page: Any) -> str:
    """One page's text: prose in reading order (columns, lines of a paragraph rejoined) with each table, as
    sentences, where it stands; a ``单位：…`` line right above a table gives its cells' unit."""
    tables = sorted(page.find_tables(), key=lambda t: t.bbox[1])
    prose = page
    for table in tables:
        prose = prose.outside_bbox(table.bbox)
    boxes = _boxes(prose)
    blocks: list[str] = []
    above = 0.0
    for table in tables:
        top, bottom = table.bbox[1], table.bbox[3]
        band = [b for b in boxes if above <= b.y0 < top]
        unit = None
        if band:
            last = max(band, key=lambda b: b.y0)
            found = TABLE_UNIT_RE.match(last.text.strip())
            if found:
                unit, band = found.group(1), [b for b in band if b is not last]
        blocks += [layout_text(band), "\n".join(table_lines(table.extract(), unit=unit))]
        above = bottom
    blocks.append(layout_text([b for b in boxes if b.y0 >= above]))
    return "\n".join(block for block in blocks if block.strip())


def _is_scan(page: Any, text: str) -> bool:
    """A page to OCR: images cover most of it and its text layer holds next to nothing (none, or a stamp such
    as a scanner app's watermark or a page number)."""
    if len("".join(text.split())) >= SCAN_TEXT_CHARS or not page.images:
        return False
    covered = sum(abs(float((i["x1"] - i["x0"]) * (i["bottom"] - i["top"]))) for i in page.images)
    return covered >= SCAN_IMAGE_SHARE * float(page.width) * float(page.height)


def _boxes(page: Any) -> list[Any]:
    """The page's text as boxes of characters that sit close together on one line (what OCR would find)."""
    words = page.extract_words(x_tolerance=WORD_GAP, keep_blank_chars=True, use_text_flow=False)
    return [TextBox(w["x0"], w["top"], w["x1"], w["bottom"], w["text"], 1.0) for w in words if w["text"].strip()]


def _ocr(pages: Sequence[Any], *, name: str, cache: Path | None) -> list[RawPage]:
    from rag.loaders.ocr import ocr_pages

    images = (page.to_image(resolution=OCR_DPI).original for page in pages)
    texts = ocr_pages(images, total=len(pages), desc=f"OCR {name}", cache=cache)
    return [RawPage(page.page_number, text, ocr=True) for page, text in zip(pages, texts, strict=True) if text.strip()]


def _title(metadata: dict[str, Any]) -> str | None:
    title = metadata.get("Title")
    if isinstance(title, bytes):
        title = title.decode("utf-16" if title.startswith(b"\xfe\xff") else "latin-1", errors="replace")
    return str(title).strip() or None if title else None
