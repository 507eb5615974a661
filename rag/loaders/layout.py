"""The layout step: text boxes (an OCR engine's, or the character runs of a PDF page) into reading-order text —
columns read one after the other, each line's boxes joined, the lines of a paragraph rejoined. The boxes'
characters are never changed."""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

# A text column is at least this many characters (box heights) wide; a table's columns are narrower, so a
# table is read row by row instead of column by column.
MIN_COLUMN_CHARS = 10
# At most this share of the boxes may cross a column gutter (headlines spanning the columns).
MAX_CROSSING_SHARE = 0.2
# A box crossing the gutter is a headline over both columns when it covers this share of each column's width.
SPANNING_SHARE = 0.25
# Characters that end a sentence (or a clause that a heading or a list item may end with).
_SENTENCE_ENDS = frozenset("。！？；：”’」』…!?;:")


@dataclass(frozen=True, slots=True)
class TextBox:
    """One text box (an OCR engine's, or a run of a PDF line's characters): its axis-aligned bounds (y grows
    downwards), the text, the engine's confidence."""

    x0: float
    y0: float
    x1: float
    y1: float
    text: str
    score: float = 1.0

    @property
    def height(self) -> float:
        return self.y1 - self.y0


@dataclass(frozen=True, slots=True)
class _Line:
    x0: float
    y0: float
    x1: float
    y1: float
    text: str
    cells: bool  # boxes wide apart (table cells): a line of its own


def layout_text(boxes: Sequence[TextBox]) -> str:
    """The boxes' text in reading order: column by column (left to right), each top to bottom; the lines of one
    paragraph joined, paragraphs ended by ``"\\n"``. The boxes' characters are never changed."""
    boxes = [box for box in boxes if box.text.strip() and box.x1 > box.x0 and box.y1 > box.y0]
    if not boxes:
        return ""
    char = statistics.median(box.height for box in boxes)
    parts: list[str] = []
    previous: tuple[_Line, float, float, bool] | None = None  # a line, its block's edges, whether one of several
    for block in _blocks(boxes, char):
        lines = _lines(block, char)
        left, right = _edges(lines)
        for i, line in enumerate(lines):
            if previous is not None:
                parts.append(_separator(previous, line, left, char, same_block=i > 0))
            parts.append(line.text)
            previous = (line, left, right, len(lines) > 1)
    return "".join(parts)


def _edges(lines: list[_Line]) -> tuple[float, float]:
    """A block's left and right margin: the middle of its three outermost lines, so that one box the detector ran
    into the gutter does not make every other line look short (or indented)."""
    lefts, rights = sorted(line.x0 for line in lines)[:3], sorted(line.x1 for line in lines)[-3:]
    return statistics.median_low(lefts), statistics.median_high(rights)


def _blocks(boxes: list[TextBox], char: float) -> list[list[TextBox]]:
    """Split the boxes into text blocks in reading order at column gutters (recursively)."""
    gutter = _find_gutter(boxes, char)
    if gutter is None:
        return [boxes]
    g0, g1 = gutter
    left = [box for box in boxes if box.x1 <= g1]
    right = [box for box in boxes if box.x0 >= g0 and box.x1 > g1]
    spanning = []
    for box in boxes:
        if box.x0 < g0 and box.x1 > g1:
            # A headline covers much of both columns; a line the detector ran into the gutter (or merged with a
            # short line of the next column) belongs to the column that holds most of it.
            shares = [_share(box, side) for side in (left, right)]
            if min(shares) >= SPANNING_SHARE:
                spanning.append(box)
            else:
                (left if shares[0] >= shares[1] else right).append(box)
    if not spanning:
        return _blocks(left, char) + _blocks(right, char)
    # Headlines cut the page into bands; each band has its own columns.
    result: list[list[TextBox]] = []
    rest = left + right
    for span in sorted(spanning, key=lambda box: box.y0):
        above = [box for box in rest if (box.y0 + box.y1) / 2 < span.y0]
        rest = [box for box in rest if (box.y0 + box.y1) / 2 >= span.y0]
        if above:
            result.extend(_blocks(above, char))
        result.append([span])
    if rest:
        result.extend(_blocks(rest, char))
    return result


def _share(box: TextBox, side: list[TextBox]) -> float:
    """How much of the side's width the box covers."""
    lo, hi = min(b.x0 for b in side), max(b.x1 for b in side)
    return max(0.0, min(hi, box.x1) - max(lo, box.x0)) / (hi - lo)


def _find_gutter(boxes: list[TextBox], char: float) -> tuple[float, float] | None:
    """The widest vertical strip (at least one character wide) that at most a few boxes cross and that has a text
    column at least ``MIN_COLUMN_CHARS`` wide on each side, or None."""
    lo, hi = int(min(box.x0 for box in boxes)), int(max(box.x1 for box in boxes)) + 1
    steps = [0] * (hi - lo + 1)
    for box in boxes:
        steps[int(box.x0) - lo] += 1
        steps[int(box.x1) - lo] -= 1
    coverage = list(itertools.accumulate(steps[:-1]))  # how many boxes cover each pixel column
    allowed = int(len(boxes) * MAX_CROSSING_SHARE)
    best: tuple[float, float] | None = None
    x = 0
    while x < len(coverage):
        if coverage[x] > allowed:
            x += 1
            continue
        end = x
        while end < len(coverage) and coverage[end] <= allowed:
            end += 1
        g0, g1 = float(x + lo), float(end + lo)
        if g1 - g0 >= char and (best is None or g1 - g0 > best[1] - best[0]) and _splits_columns(boxes, g0, g1, char):
            best = (g0, g1)
        x = end
    return best


def _splits_columns(boxes: list[TextBox], g0: float, g1: float, char: float) -> bool:
    left = [box for box in boxes if box.x1 <= g1]
    right = [box for box in boxes if box.x0 >= g0 and box.x1 > g1]
    if len(left) < 2 or len(right) < 2:
        return False
    width = min(max(b.x1 for b in side) - min(b.x0 for b in side) for side in (left, right))
    return width >= MIN_COLUMN_CHARS * char


def _lines(boxes: list[TextBox], char: float) -> list[_Line]:
    """Group a block's boxes into lines (vertical overlap), each line's boxes joined in x order."""
    groups: list[list[TextBox]] = []
    for box in sorted(boxes, key=lambda b: (b.y0 + b.y1) / 2):
        if groups:
            top, bottom = min(b.y0 for b in groups[-1]), max(b.y1 for b in groups[-1])
            overlap = min(bottom, box.y1) - max(top, box.y0)
            if overlap >= 0.5 * min(box.height, bottom - top):
                groups[-1].append(box)
                continue
        groups.append([box])
    lines = []
    for group in groups:
        group.sort(key=lambda b: b.x0)
        text, cells = group[0].text, False
        for before, box in itertools.pairwise(group):
            # A gap of a character or more separates table cells (or words): keep them apart so that figures
            # never run together.
            gap = box.x0 - before.x1 >= char
            text, cells = text + (" " if gap else "") + box.text, cells or gap
        bounds = (group[0].x0, min(b.y0 for b in group), max(b.x1 for b in group), max(b.y1 for b in group))
        lines.append(_Line(*bounds, text=text, cells=cells))
    return lines


def _separator(
    previous: tuple[_Line, float, float, bool], following: _Line, next_left: float, char: float, *, same_block: bool
) -> str:
    """What goes between a line and the next: nothing inside a paragraph, ``"\\n"`` at its end."""
    line, left, right, several = previous
    if following.x0 - next_left >= char:  # an indented first line starts a paragraph
        return "\n"
    if (
        not several
        or line.cells
        or following.cells
        or (same_block and following.y0 - line.y1 > 1.2 * max(line.y1 - line.y0, char))
    ):
        return "\n"  # a block of one line (a headline), a table row, or a blank line between
    last = line.text.rstrip()[-1]
    short = right - line.x1 >= 2 * char
    if short and (last in _SENTENCE_ENDS or line.x0 - left >= char or line.x1 - left < (right - left) / 2):
        return "\n"  # a short line that ends a sentence, a one-line paragraph, or a heading
    first = following.text.lstrip()[:1]
    return " " if last.isascii() and last.isalpha() and first.isascii() and first.isalpha() else ""
