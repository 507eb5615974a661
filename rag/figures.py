"""The figure guard: every number an answer states must occur, by value, in a passage it cites.

Figures are compared as normalised values, not strings: ``5341万`` == ``五千三百四十一万`` == ``53,410,000`` ==
``53.41 million``; ``14.5%`` == ``百分之十四点五``. Percentages (and per-mille values) only match their own kind.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

_CN_DIGITS = dict(zip("零〇一二两三四五六七八九", (0, 0, 1, 2, 2, 3, 4, 5, 6, 7, 8, 9), strict=True))
_CN_SMALL = {"十": 10, "百": 100, "千": 1000}
_SCALES = {
    "万亿": 1e12,
    "亿": 1e8,
    "千万": 1e7,
    "百万": 1e6,
    "万": 1e4,
    "千": 1e3,
    "thousand": 1e3,
    "million": 1e6,
    "billion": 1e9,
    "trillion": 1e12,
}
_PERCENT = {"%": "%", "％": "%", "个百分点": "%", "百分点": "%", "percent": "%", "‰": "‰"}
# Full-width digits and decimal point, mapped one character to one so offsets stay valid.
_HALF_WIDTH = str.maketrans("０１２３４５６７８９．", "0123456789.")

_FIGURE_RE = re.compile(
    r"(?P<pre>百分之)?(?:"
    # Arabic: 5341 | 53,410,000 | 14.5, then a scale (万, 亿, million…) and a percent sign. Not glued to a
    # Latin word on the left ("G20", "v1.5").
    r"(?<![A-Za-z\d.])(?P<num>\d{1,3}(?:,\d{3})+(?![\d,])(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"(?P<scale>万亿|亿|千万|百万|万|千(?![米瓦克])|\s?(?:thousand|million|billion|trillion)\b)?"
    # Chinese: 五千三百四十一万 | 十四点五 | 二〇二〇
    r"|(?P<cn>[零〇一二两三四五六七八九十百千万亿]+(?:点[零〇一二三四五六七八九]+)?)"
    r")(?P<pct>\s?(?:%|％|‰|个百分点|百分点|percent\b))?"
)
_MARKER_RE = re.compile(r"\[\d{1,3}\]")
# "1." "2、" "3)" at the start of a line (after an optional bullet), and "(1)" "（2）": list ordinals.
_ORDINAL_RE = re.compile(r"(?m)^[ \t>*\-•]*(\d{1,2})[.、．)）](?!\d)|[(（](\d{1,2})[)）]")
# What may follow a Chinese numeral for it to be a figure rather than part of a word (统一, 十分, 千万不要).
_CN_UNIT_RE = re.compile(
    r"[%％元个项户人家名所件次台辆套座条栋间处批只头倍年月日天岁期届份余多亩吨米公顷平千万亿]|小时|分钟|百分点"
)
_CN_IDIOMS = frozenset({"千万", "万万", "亿万", "千千万万", "万一", "一一"})


@dataclass(frozen=True, slots=True)
class Figure:
    """A number found in text: its span, its normalised value and its kind (``""``, ``"%"`` or ``"‰"``)."""

    text: str
    start: int
    end: int
    value: float
    kind: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "start": self.start, "end": self.end}


def parse_chinese_number(numeral: str) -> float | None:
    """The value of a Chinese numeral (``五千三百四十一万`` → 53410000, ``十四点五`` → 14.5, ``二〇二〇`` →
    2020); None when it is not one."""
    integer, _, fraction = numeral.partition("点")
    if not integer or any(c not in _CN_DIGITS and c not in _CN_SMALL and c not in "万亿" for c in integer):
        return None
    if fraction and any(c not in _CN_DIGITS for c in fraction):
        return None
    if all(c in _CN_DIGITS for c in integer):  # a digit sequence: 二〇二〇, or a single digit
        value = float("".join(str(_CN_DIGITS[c]) for c in integer))
    else:
        total = section = number = 0.0
        for c in integer:
            if c in _CN_DIGITS:
                number = _CN_DIGITS[c]
            elif c in _CN_SMALL:
                section += (number or 1) * _CN_SMALL[c]  # 十四: the leading 一 is implied
                number = 0
            elif c == "万":
                total += (section + number or (0 if total else 1)) * 1e4
                section = number = 0
            else:  # 亿 scales everything before it, so 三万亿 is 3e12
                total = (total + section + number or 1) * 1e8
                section = number = 0
        value = total + section + number
    if fraction:
        value += float("0." + "".join(str(_CN_DIGITS[c]) for c in fraction))
    return value


def _is_claim(text: str, m: re.Match[str], ordinals: set[int]) -> bool:
    """Whether a match in an answer states a figure (rather than being a list ordinal or a word like 统一)."""
    start = m.start()
    if start > 0 and text[start - 1] == "第":
        return False
    if m.group("num") is not None:
        if start in ordinals:
            return False
        nxt = text[m.end() : m.end() + 1]
        glued_to_word = nxt.isascii() and nxt.isalpha()  # "5G", "3D": names, not quantities
        return not glued_to_word
    cn = m.group("cn")
    if m.group("pre") or m.group("pct") or "点" in cn:
        return True
    after = text[m.end() : m.end() + 3]
    followed_by_unit = bool(_CN_UNIT_RE.match(after))
    if cn in _CN_IDIOMS:
        return followed_by_unit
    if all(c in _CN_DIGITS for c in cn):  # 二〇二〇年 is a year; a lone 一/两 is too often a word
        return len(cn) == 4 and after.startswith("年")
    return len(cn) >= 2 and (followed_by_unit or cn[-1] in "万亿")


def extract_figures(text: str, *, claims_only: bool = False) -> list[Figure]:
    """The figures of ``text`` with their values. ``claims_only`` (for answers) skips citation markers, list
    ordinals ("1." at a line start, "（2）"), ordinals after 第 and Chinese numerals that are parts of words."""
    scan = text.translate(_HALF_WIDTH)
    ordinals: set[int] = set()
    if claims_only:
        scan = _MARKER_RE.sub(lambda m: " " * len(m.group()), scan)
        ordinals = {m.start(1) if m.group(1) else m.start(2) for m in _ORDINAL_RE.finditer(scan)}
    figures: list[Figure] = []
    for m in _FIGURE_RE.finditer(scan):
        if m.group("num") is not None:
            value = float(m.group("num").replace(",", ""))
            scale = (m.group("scale") or "").strip()
            value *= _SCALES.get(scale, 1.0)
        else:
            parsed = parse_chinese_number(m.group("cn"))
            if parsed is None:
                continue
            value = parsed
        pct = (m.group("pct") or "").strip()
        kind = _PERCENT.get(pct, "%" if m.group("pre") else "")
        if claims_only and not _is_claim(scan, m, ordinals):
            continue
        start, end = m.span()
        # A trailing space belongs to the separator before "%", never to the figure's span.
        figures.append(Figure(text[start:end], start, end, value, kind))
    return figures


def _same(a: Figure, b: Figure) -> bool:
    return a.kind == b.kind and math.isclose(a.value, b.value, rel_tol=1e-9, abs_tol=1e-12)


def unsupported_figures(answer: str, passages: Iterable[str]) -> list[Figure]:
    """The figures stated in ``answer`` whose value occurs in none of ``passages`` (the cited ones)."""
    known = [f for p in passages for f in extract_figures(p)]
    return [f for f in extract_figures(answer, claims_only=True) if not any(_same(f, k) for k in known)]
