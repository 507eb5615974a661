"""HTML (.html, .htm) reading: boilerplate-free article text and title via trafilatura."""

from __future__ import annotations

import codecs
import html as html_lib
import re
from pathlib import Path

from rag.errors import IngestError
from rag.loaders.cleaning import RawText, parse_iso_date
from rag.loaders.tables import markdown_tables
from rag.loaders.text import decode_bytes

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_TITLE_TAG = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


def read_html(path: Path) -> RawText:
    """Extract the main text (tables included) and title of an HTML page; nav, footers and ads are dropped."""
    import trafilatura

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IngestError(f"{path}: cannot read file ({exc.strerror or exc})") from exc
    markup = decode_html(data, name=str(path))
    if "<html" not in markup[:2048].lower():
        # trafilatura refuses markup that does not look like a page; give fragments a document shell.
        markup = f"<html><body>{markup}</body></html>"
    try:
        text = trafilatura.extract(
            markup,
            include_tables=True,
            favor_recall=True,
            include_comments=False,
            include_images=False,
            output_format="txt",
        )
        if not text or not text.strip():
            text = trafilatura.html2txt(markup)
    except Exception as exc:  # lxml/trafilatura raise many types on malformed markup
        raise IngestError(f"{path}: cannot parse HTML ({type(exc).__name__}: {exc})") from exc
    if not text or not text.strip():
        raise IngestError(f"{path}: no text found in HTML page")
    title, date = _html_metadata(markup)
    return RawText(text=markdown_tables(text), title=title, date=date)  # trafilatura writes tables as Markdown


def decode_html(data: bytes, *, name: str) -> str:
    """Decode HTML bytes with the charset its ``<meta>`` declares, else like a text file."""
    declared = _META_CHARSET.search(data[:4096])
    if declared:
        try:
            encoding = codecs.lookup(declared.group(1).decode("ascii")).name
        except LookupError:
            encoding = None
        if encoding in {"gb2312", "gbk", "cp936"}:
            encoding = "gb18030"
        if encoding:
            try:
                return data.decode(encoding).removeprefix("\ufeff")
            except UnicodeDecodeError:
                pass  # the declaration lies; fall back to detection
    return decode_bytes(data, name=name)


def _html_metadata(markup: str) -> tuple[str | None, str | None]:
    import trafilatura

    title: str | None = None
    date: str | None = None
    try:
        # Only dates the page states in its markup (meta tags, time elements), no guessing from the URL or body.
        meta = trafilatura.extract_metadata(markup, date_config={"extensive_search": False, "original_date": True})
        title = meta.title
        date = parse_iso_date(meta.date) if meta.date else None
    except Exception:  # metadata is best effort; the text is what matters
        pass
    if not title:
        match = _TITLE_TAG.search(markup)
        if match:
            title = html_lib.unescape(re.sub(r"\s+", " ", match.group(1))).strip() or None
    return title, date
