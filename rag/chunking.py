"""Chinese-aware chunking: sentence spans, section headings and size-bounded overlapping chunks."""

from __future__ import annotations

import hashlib
import re
from bisect import bisect_left, bisect_right

from rag.errors import ConfigError
from rag.text import split_sentences, trim_span
from rag.types import Chunk, Document

# Numbers with their separators and units ("15.75亿元", "3.1万平方米", "2017-10-12", "1,200"): never cut inside.
_NUMBER = re.compile(
    r"[0-9０-９]+(?:[.,:\-/．][0-9０-９]+)*(?:[%％‰]|[十百千万亿]+)?"
    r"(?:平方米|平方公里|立方米|公里|千米|[元米吨亩户人个次项家所条座辆台套名岁年月日时分秒倍克斤度])?"
)
# Secondary split points for over-long sentences; a half-width comma/colon between digits is part of a number.
_STRONG_BREAK = re.compile(r"[，：]|(?<![0-9])[,:]|[,:](?![0-9])")
_WEAK_BREAK = re.compile(r"、")
_LINE = re.compile(r"[^\n]+")

_CN_NUM = "一二三四五六七八九十百零〇"
# Headings with an explicit marker: bullets, "（一）", "三、", "第一章", "1." / "1、".
_MARKED_HEADING = re.compile(
    rf"^(?:[*●■◆▲★•◎]\s*\S|[（(][{_CN_NUM}]+[）)]|[{_CN_NUM}]+、|第[{_CN_NUM}0-9]+[章节篇部分]|[0-9]{{1,2}}(?:[.．](?![0-9])|、|\s))"
)
_ENUMERATION = re.compile(rf"^[{_CN_NUM}]+是")  # "一是……" opens a sentence, not a section
# Bylines, captions, dates and editorial notes ("(上接一版)") are short and unpunctuated but never headings.
_NOT_HEADING = re.compile(
    r"^(?:本报)?(?:记者|通讯员|责任编辑|编辑|总策划|校对|图[一二三四五六七八九十0-9]*[:：])"
    r"|来源[:：]|^[0-9]{4}[-/年][0-9]{1,2}[-/月]|^[（(][^（）()]*[）)]$"
)
_HAS_SENTENCE_END = re.compile(r"[。！？!?；;…]")
_MAX_MARKED_HEADING = 60
_MAX_PLAIN_HEADING = 40


def detect_heading(line: str, *, next_line: str | None = None) -> bool:
    """Whether ``line`` is a section heading; ``next_line`` (the next non-blank line) sharpens unmarked ones."""
    s = line.strip()
    if not s or _HAS_SENTENCE_END.search(s) or _ENUMERATION.match(s) or _NOT_HEADING.search(s):
        return False
    if _MARKED_HEADING.match(s):
        return len(s) <= _MAX_MARKED_HEADING
    if len(s) >= _MAX_PLAIN_HEADING or len(s) < 2:
        return False
    if next_line is None:
        return True
    # An unmarked short line is a heading only when a real paragraph follows it (not a caption or byline).
    nxt = next_line.strip()
    return len(nxt) >= max(2 * len(s), 24)


def chunk_id(doc_id: str, start: int, end: int, text: str) -> str:
    """Stable id from the document id, the position and the content of a chunk."""
    digest = hashlib.sha1(f"{start}:{end}:{text}".encode(), usedforsecurity=False).hexdigest()
    return f"{doc_id}:{digest[:12]}"


def chunk_document(doc: Document, *, size: int = 300, overlap: int = 60, min_size: int = 40) -> list[Chunk]:
    """Pack sentences of ``doc`` into chunks of at most ``size`` chars that overlap by whole sentences."""
    if size < 1 or overlap < 0 or min_size < 0:
        raise ConfigError(
            f"invalid chunking parameters {size=}, {overlap=}, {min_size=}: need size >= 1, the others >= 0"
        )
    text = doc.text
    headings = _heading_spans(text)
    heading_starts = [s for s, _ in headings]
    units: list[tuple[int, int]] = []
    for s, e in split_sentences(text):
        units.extend(_split_long(text, s, e, size) if e - s > size else [(s, e)])
    if not units:
        return []
    is_heading = [bool(heading_starts) and _starts_heading(heading_starts, s) for s, _ in units]
    # A page that starts a paragraph starts a chunk too (as a heading does), so a citation names one page.
    page_starts = {page.start for page in doc.pages[1:]}
    breaks = [h or s in page_starts for h, (s, _) in zip(is_heading, units, strict=True)]
    ranges = _pack(units, breaks, size=size, overlap=overlap, min_size=min_size)
    chunks: list[Chunk] = []
    for position, (i, j) in enumerate(ranges):
        start, end = units[i][0], units[j][1]
        body = text[start:end]
        heading = _heading_for(text, headings, units, is_heading, i, j)
        pages, ocr = doc.pages_of(start, end) if doc.pages else ((), False)
        chunks.append(
            Chunk(chunk_id(doc.id, start, end, body), doc.id, body, start, end, heading, position, pages, ocr)
        )
    return chunks


def _heading_spans(text: str) -> list[tuple[int, int]]:
    """Trimmed spans of heading lines; an unmarked heading right after another heading is a subtitle."""
    lines = [(m.start(), m.end()) for m in _LINE.finditer(text) if not m.group().isspace()]
    spans: list[tuple[int, int]] = []
    prev_was_heading = False
    for k, (s, e) in enumerate(lines):
        line = text[s:e]
        nxt = text[lines[k + 1][0] : lines[k + 1][1]] if k + 1 < len(lines) else ""
        heading = detect_heading(line, next_line=nxt)
        if heading and prev_was_heading and not _MARKED_HEADING.match(line.strip()):
            heading = False
        if heading:
            span = trim_span(text, s, e)
            if span is not None:
                spans.append(span)
        prev_was_heading = heading
    return spans


def _starts_heading(heading_starts: list[int], pos: int) -> bool:
    k = bisect_left(heading_starts, pos)
    return k < len(heading_starts) and heading_starts[k] == pos


def _split_long(text: str, start: int, end: int, size: int) -> list[tuple[int, int]]:
    """Cut an over-long sentence at commas/colons, then 、, then anywhere outside a number."""
    numbers = [(m.start(), m.end()) for m in _NUMBER.finditer(text, start, end)]
    number_starts = [s for s, _ in numbers]
    pieces: list[tuple[int, int]] = []
    pos = start
    while end - pos > size:
        limit = pos + size
        half = pos + size // 2
        cut = (
            _last_break(_STRONG_BREAK, text, half, limit)
            or _last_break(_WEAK_BREAK, text, half, limit)
            or _last_break(_STRONG_BREAK, text, pos, limit)
            or _last_break(_WEAK_BREAK, text, pos, limit)
        )
        if cut is None:
            cut = limit
            k = bisect_right(number_starts, cut - 1) - 1
            if k >= 0 and numbers[k][0] < cut < numbers[k][1]:
                # Back off to the number's start; only a number filling the window forces the cut past it.
                cut = numbers[k][0] if numbers[k][0] > pos else numbers[k][1]
        span = trim_span(text, pos, cut)
        if span is not None:
            pieces.append(span)
        pos = cut
    span = trim_span(text, pos, end)
    if span is not None:
        pieces.append(span)
    return pieces


def _last_break(pattern: re.Pattern[str], text: str, lo: int, hi: int) -> int | None:
    """Position just after the last match of ``pattern`` in ``text[lo:hi]``, if any."""
    found = None
    # One character past `hi` so lookaheads see the real next character ("1,|200" is not a break).
    for m in pattern.finditer(text, lo, hi + 1):
        if m.end() <= hi:
            found = m.end()
    return found if found is not None and found > lo else None


def _pack(
    units: list[tuple[int, int]], is_heading: list[bool], *, size: int, overlap: int, min_size: int
) -> list[list[int]]:
    """Greedy packing into ``[first, last]`` unit ranges; a heading starts a fresh chunk without overlap."""
    n, limit = len(units), size + min_size
    ranges: list[list[int]] = []
    i = 0
    while i < n:
        j = i
        merged_back = False
        while j + 1 < n and units[j + 1][1] - units[i][0] <= size:
            if is_heading[j + 1] and units[j][1] - units[i][0] >= min_size:
                break
            if (
                is_heading[j + 1]
                and not is_heading[i]
                and ranges
                and j >= ranges[-1][1]
                and units[j][1] - units[ranges[-1][0]][0] <= limit
            ):
                # A short section tail joins the previous chunk rather than the next section.
                ranges[-1][1] = j
                merged_back = True
                break
            j += 1
        if merged_back:
            i = j + 1
            continue
        ranges.append([i, j])
        if j + 1 >= n:
            break
        if is_heading[j + 1]:
            i = j + 1
            continue
        # Overlap: the trailing whole sentences within `overlap` that still leave room for the next one.
        k = j + 1
        while (
            k - 1 > i
            and not is_heading[k]  # a heading may open the overlap but never sit inside it
            and units[j][1] - units[k - 1][0] <= overlap
            and units[j + 1][1] - units[k - 1][0] <= size
        ):
            k -= 1
        i = k
    if len(ranges) > 1:
        (pi, _), (li, lj) = ranges[-2], ranges[-1]
        if units[lj][1] - units[li][0] < min_size and units[lj][1] - units[pi][0] <= limit:
            ranges[-2][1] = lj
            ranges.pop()
    return ranges


def _heading_for(
    text: str, headings: list[tuple[int, int]], units: list[tuple[int, int]], is_heading: list[bool], i: int, j: int
) -> str | None:
    """The innermost heading of a leading run of heading lines, else the nearest heading before the chunk."""
    while is_heading[i] and i < j and is_heading[i + 1]:
        i += 1
    k = bisect_right(headings, (units[i][0], len(text) + 1)) - 1
    if k < 0:
        return None
    s, e = headings[k]
    return text[s:e]
