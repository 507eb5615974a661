"""Text cleaning, page-furniture removal and header metadata (title, date, publisher) shared by all loaders."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date as Date
from pathlib import Path

from rag.errors import IngestError
from rag.types import Document, Page

TITLE_MAX_CHARS = 80
MAX_DOCUMENT_CHARS = 20_000_000  # about 60 MB of UTF-8 Chinese: far more than any report
# How many non-empty lines at the top of a text count as its "header" for date/publisher/title.
HEADER_LINES = 12
TITLE_SEARCH_LINES = 30

_NEWLINES = re.compile(r"\r\n|[\r\f\v\x85\u2028\u2029]")
_TRAILING_SPACE = re.compile(r"[ \t\u00a0\u3000]+$", re.MULTILINE)
_BLANK_RUNS = re.compile(r"\n{3,}")

# Whole lines that are site chrome, never content (matched on the stripped line).
_FURNITURE_LINES = [
    re.compile(r"进入移动版[,，]?\s*省流量[,，]?\s*体验好"),
    re.compile(r"[(（\[【]?责任编辑\s*[:：]\s*[^\s，。,]{1,20}[)）\]】]?"),
    re.compile(r"更多精彩内容请关注[:：]?"),
    re.compile(r"(官方)?微信(公众号)?|官方微博|客户端|电子报|手机版|扫一扫|分享到[:：]?"),
]
# Chrome that may be glued to the start of a content line: drop the prefix, keep the rest.
_FURNITURE_PREFIX = re.compile(r"^\s*网站首页\s*我要评论\s*分享文章\s*回到顶部\s*")
_FOLLOW_US = re.compile(r"更多精彩内容请关注[:：]?")
# A lone outlet name in a "follow us" block, e.g. 河北新闻网 / 河北日报 / 长城网客户端.
_SITE_NAME = re.compile(r"\S{1,12}(网|报|新闻|日报|晚报|客户端|微信|微博|公众号|电视台|APP|App|app)")

_DATE = re.compile(
    r"(?<!\d)(?P<y>(?:19|20)\d{2})\s*(?:[-/.]|年)\s*(?P<m>\d{1,2})\s*(?:[-/.]|月)\s*(?P<d>\d{1,2})(?!\d)\s*日?"
)
_TIME = re.compile(r"\d{1,2}:\d{2}(?::\d{2})?")
_PUBLISHER = re.compile(r"来源\s*[:：]\s*(?P<name>[^\s|｜,，;；、]+)")
_PUBLISHER_STOP = re.compile(r"(日期|时间|作者|编辑|发布|记者|浏览|点击)[:：]?.*$")
_HEADER_KEYWORDS = re.compile(r"来源|日期|发布|时间")

_BYLINE = re.compile(
    r"^[(（]?(本报|本台|本网)?(特约|首席|见习)?(记者|通讯员|实习生|作者|摄影|摄像|供稿|撰稿|文\s*[/／]|图\s*[/／])"
)
_EDITOR_LIST = re.compile(
    r"^(总策划|策划|总监制|监制|出品人?|统筹|主编|副主编|编辑|责任编辑|责编|校对|美编|审核|审校)\s*[:：]?"
)
_CONTINUATION = re.compile(r"^[(（](上接|下转|接|转)[^)）]{0,12}[)）]$")
_BREADCRUMB = re.compile(r">>|＞＞|»|›|当前位置|您的位置|首页\s*>")
_DATE_LINE_REST = re.compile(r"[\s\d年月日第版页星期周一二三四五六天()（）/\-.:：,，|｜]*")
_MARKDOWN_HEADING = re.compile(r"^#{1,6}\s+")
# A page's own number printed at its top or foot: "3", "- 3 -", "— 3 —", "第3页", "第 3 页 共 12 页", "3/12", "Page 3".
_PAGE_NUMBER = re.compile(
    r"[-—–－·•\s]*(?:第\s*)?\d{1,4}\s*页?\s*(?:(?:[/／]|共)\s*\d{1,4}\s*页?)?[-—–－·•\s]*|(?i:page)\s*\d{1,4}"
    r"(?:\s*(?i:of)\s*\d{1,4})?"
)
_CONTINUES = re.compile(r"[，、,\u4e00-\u9fff\d]$")  # a page that ends like this ends mid-sentence …
_CONTINUED = re.compile(r"^[\u4e00-\u9fff\d]")  # … when the next one starts like this
# Running heads and feet: an edge line found on this many pages (and on a third of them: odd and even pages
# may have their own) is furniture.
RUNNING_LINE_PAGES = 2


@dataclass(frozen=True, slots=True)
class ReadOptions:
    """What readers may be told (from the ``loaders`` settings): whether to OCR scanned pages, and the
    LibreOffice command that converts legacy Office files. A reader that takes an ``options`` keyword gets it."""

    ocr: bool = True
    office: str = "soffice"
    ocr_cache_dir: Path | None = None  # where OCR results are kept by page image (None: not kept)


@dataclass(frozen=True, slots=True)
class RawPage:
    """One page of a paged source (PDF, multi-page TIFF) as its reader extracted it; ``ocr`` marks text that
    came from optical character recognition rather than a text layer."""

    number: int  # 1-based, as the page is printed in a viewer's page box
    text: str
    ocr: bool = False


@dataclass(frozen=True, slots=True)
class RawText:
    """What a format reader extracts from a file before cleaning: the text and any embedded metadata.

    A paged source gives ``pages`` (its text is then theirs joined, and citations can name the page)."""

    text: str
    title: str | None = None
    date: str | None = None
    pages: tuple[RawPage, ...] = ()

    @classmethod
    def from_pages(cls, pages: tuple[RawPage, ...], *, title: str | None = None) -> RawText:
        return cls(text="\n\n".join(page.text for page in pages), title=title, pages=pages)


@dataclass(frozen=True, slots=True)
class HeaderMetadata:
    """What the top of a cleaned text says about itself."""

    title: str | None
    date: str | None
    publisher: str | None


def clean_text(text: str) -> str:
    """Normalise newlines/whitespace/Unicode (NFC) and drop page-furniture lines; content is otherwise untouched."""
    text = unicodedata.normalize("NFC", text).removeprefix("\ufeff")
    text = _NEWLINES.sub("\n", text)
    text = _TRAILING_SPACE.sub("", text)
    text = "\n".join(_drop_furniture(text.split("\n")))
    text = _BLANK_RUNS.sub("\n\n", text)
    return text.strip("\n")


def _drop_furniture(lines: list[str]) -> list[str]:
    kept: list[str] = []
    in_follow_block = False
    for line in lines:
        stripped = line.strip()
        if in_follow_block:
            # After "更多精彩内容请关注" come outlet names and channel labels; the block ends at real text.
            if not stripped or _is_furniture_line(stripped) or _SITE_NAME.fullmatch(stripped):
                continue
            in_follow_block = False
        if _FOLLOW_US.fullmatch(stripped):
            in_follow_block = True
            continue
        if _is_furniture_line(stripped):
            continue
        prefix = _FURNITURE_PREFIX.match(line)
        if prefix:
            line = line[prefix.end() :]
            if not line.strip():
                continue
        kept.append(line)
    return kept


def _is_furniture_line(stripped: str) -> bool:
    return any(p.fullmatch(stripped) for p in _FURNITURE_LINES)


def extract_metadata(text: str) -> HeaderMetadata:
    """Title, ISO date and publisher (来源) stated in the header lines of a cleaned text."""
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    header = lines[:HEADER_LINES]
    return HeaderMetadata(title=extract_title(lines), date=_header_date(header), publisher=_header_publisher(header))


def extract_title(lines: list[str]) -> str | None:
    """The first line near the top that reads like a headline (not a byline, date, breadcrumb …)."""
    for line in lines[:TITLE_SEARCH_LINES]:
        candidate = _MARKDOWN_HEADING.sub("", line.strip()).strip()
        if is_meaningful_title(candidate) and not _is_header_noise(candidate):
            return cap_title(candidate)
    return None


def is_meaningful_title(title: str | None) -> bool:
    """Whether a (metadata) title is worth using: long enough and not a placeholder or file name."""
    if not title:
        return False
    title = title.strip()
    if len(title) < 4:
        return False
    lowered = title.lower()
    if lowered in {"untitled", "无标题", "title", "document", "microsoft word"}:
        return False
    return not re.search(r"\.(docx?|pdf|txt|html?|wps)$|^microsoft (word|powerpoint)", lowered)


def cap_title(title: str) -> str:
    """Collapse inner whitespace runs and cap a title at ``TITLE_MAX_CHARS`` characters."""
    title = re.sub(r"\s+", " ", title).strip()
    if len(title) > TITLE_MAX_CHARS:
        title = title[: TITLE_MAX_CHARS - 1].rstrip() + "…"
    return title


def _is_header_noise(line: str) -> bool:
    if _BYLINE.match(line) or _EDITOR_LIST.match(line) or _CONTINUATION.match(line) or _BREADCRUMB.search(line):
        return True
    if _PUBLISHER.search(line) or re.search(r"(日期|发布时间|时间)\s*[:：]", line):
        return True
    if _is_furniture_line(line):
        return True
    # Pure dates and page numbers: "2020年5月14日 15", "2017-10-12 09:17:23", "第3版".
    rest = _TIME.sub("", _DATE.sub("", line))
    return any(ch.isdigit() for ch in line) and _DATE_LINE_REST.fullmatch(rest) is not None


def _header_date(header: list[str]) -> str | None:
    # Lines naming 来源/日期 win; otherwise a short line (a dateline, not a body sentence) may carry it.
    keyed = [line for line in header if _HEADER_KEYWORDS.search(line)]
    short = [line for line in header if len(line) <= 40 and line not in keyed]
    for line in keyed + short:
        for match in _DATE.finditer(line):
            iso = parse_iso_date(match.group(0))
            if iso:
                return iso
    return None


def parse_iso_date(value: str) -> str | None:
    """``YYYY-MM-DD`` for a date written as 2021-09-09, 2021/9/9, 2021.9.9 or 2021年9月9日; else None."""
    match = _DATE.search(value)
    if not match:
        return None
    try:
        return Date(int(match["y"]), int(match["m"]), int(match["d"])).isoformat()
    except ValueError:
        return None


def _header_publisher(header: list[str]) -> str | None:
    for line in header:
        match = _PUBLISHER.search(line)
        if match:
            name = _PUBLISHER_STOP.sub("", match["name"]).strip()
            if 1 < len(name) <= 30:
                return name
    return None


def build_document(
    raw_text: str,
    *,
    doc_id: str,
    source: str,
    name: str,
    fallback_title: str,
    title: str | None = None,
    date: str | None = None,
    publisher: str | None = None,
    pages: Sequence[RawPage] = (),
) -> Document:
    """Clean ``raw_text`` and assemble a Document; explicit metadata wins over what the header says.

    A paged source gives its ``pages`` instead (``raw_text`` is then unused): each is cleaned on its own
    (``join_pages``) and the document records where each page lies in its text. ``name`` identifies the
    input in the error raised when nothing is left after cleaning.
    """
    pages_at: tuple[Page, ...] = ()
    if pages:
        raw_text, pages_at = join_pages(pages)
    if len(raw_text) > MAX_DOCUMENT_CHARS:
        raise IngestError(
            f"{name}: {len(raw_text):,} characters, over the {MAX_DOCUMENT_CHARS:,}-character limit of one document; "
            "split it into several files"
        )
    text = raw_text if pages else clean_text(raw_text)
    if not text.strip():
        raise IngestError(f"{name}: no text left after cleaning (the document is empty or only page furniture)")
    found = extract_metadata(text)
    best_title = cap_title(title) if is_meaningful_title(title) and title else found.title
    return Document(
        id=doc_id,
        title=best_title or cap_title(fallback_title),
        text=text,
        source=source,
        content_hash=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        date=date or found.date,
        publisher=publisher or found.publisher,
        pages=pages_at,
    )


def join_pages(pages: Sequence[RawPage]) -> tuple[str, tuple[Page, ...]]:
    """The cleaned text of ``pages`` and where each lies in it.

    Each page is cleaned on its own; its printed page number and running header or footer lines (the same
    edge line on several pages) are dropped. Pages are joined by a blank line, or by nothing where a
    sentence runs on from one page to the next. Pages left empty are not listed.
    """
    bodies = [_page_lines(clean_text(page.text)) for page in pages]
    running = _running_lines(bodies)
    parts: list[str] = []
    spans: list[Page] = []
    pos = 0
    for page, lines in zip(pages, bodies, strict=True):
        while lines and _edge_key(lines[0]) in running:
            lines = lines[1:]
        while lines and _edge_key(lines[-1]) in running:
            lines = lines[:-1]
        body = "\n".join(lines).strip("\n")
        if not body:
            continue
        if parts:
            glue = "" if _CONTINUES.search(parts[-1]) and _CONTINUED.match(body) else "\n\n"
            parts.append(glue)
            pos += len(glue)
        spans.append(Page(page.number, pos, pos + len(body), page.ocr))
        parts.append(body)
        pos += len(body)
    return "".join(parts), tuple(spans)


def _page_lines(text: str) -> list[str]:
    """The lines of a cleaned page without the page number printed at its top or foot."""
    lines = text.split("\n")
    for edge in (0, -1):
        while lines and not lines[edge].strip():
            lines.pop(edge)
        if lines and _PAGE_NUMBER.fullmatch(lines[edge].strip()):
            lines.pop(edge)
    return lines


def _edge_key(line: str) -> str:
    return re.sub(r"\d+", "#", line.strip())


def _running_lines(bodies: Sequence[list[str]]) -> set[str]:
    """Edge lines (the first or last of a page, digits aside) repeated on enough pages to be a running head."""
    counts = Counter(key for lines in bodies if lines for key in {_edge_key(lines[0]), _edge_key(lines[-1])})
    need = max(RUNNING_LINE_PAGES, len(bodies) // 3)
    return {key for key, n in counts.items() if key and n >= need}


def file_doc_id(rel: str) -> str:
    """Stable document id of a file: first 16 hex chars of sha1 of its posix path relative to the corpus root."""
    return hashlib.sha1(rel.encode("utf-8")).hexdigest()[:16]
