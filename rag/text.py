"""Chinese text utilities shared by backends: tokens for lexical search and figure (number+unit) spans."""

from __future__ import annotations

import logging
import re
import threading
from bisect import bisect_left
from functools import cache
from heapq import merge

# Units that follow figures in reports; longest first so "万平方米" wins over "万".
_UNITS = sorted(
    """% ‰ ％ 万亿元 亿美元 万美元 美元 亿元 万元 千元 元 万亿 亿 万 千 百
    万平方米 平方米 平方公里 公顷 万亩 亩 公里 千米 米 万吨 吨 千瓦 兆瓦
    万千瓦 千瓦时 个百分点 百分点 个 项 户 人次 人 家 名 所 件 次 台 辆
    套 座 条 栋 间 处 批 只 头 倍 年 月 日 天 小时 分钟 岁 期 届 份 余 多""".split(),
    key=len,
    reverse=True,
)
# An Arabic number with at most one unit ("5341万元", "14.5%", "3.1万平方米").
_ARABIC_FIGURE = r"\d+(?:[.,]\d+)*(?:\s?(?:" + "|".join(re.escape(u) for u in _UNITS) + r"))?"
FIGURE_RE = re.compile(
    r"(?<![\d.])"
    + _ARABIC_FIGURE
    + r"|[零〇一二两三四五六七八九十百千万亿]+(?:点[零〇一二三四五六七八九]+)?"
    + r"(?:%|个百分点|万元|亿元|元|个|项|户|人|家|名)",
)
_NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)*")
_SPLIT_RE = re.compile(f"({_ARABIC_FIGURE})")
_WORD_RE = re.compile(r"[\w\u3400-\u9fff]+")

# Function words and question words: they carry no topic and would only add noise to BM25.
STOPWORDS = frozenset(
    """的 了 是 在 和 与 及 等 也 都 而 并 对 为 以 将 把 被 于 从 向 之 其
    这 那 有 又 或 个 中 上 下 里 吗 呢 吧 啊 么 什么 多少 几 哪 哪些 哪个
    哪里 哪儿 谁 怎么 怎样 如何 为什么 何时 什么时候 是否 请问 一下 去年
    今年 的话 所 该 此 各 每 我 你 他 她 它 我们 你们 他们
    the a an of to in and or is are""".split()
)

_jieba_lock = threading.Lock()


@cache
def _jieba() -> object:
    import jieba

    jieba.setLogLevel(logging.WARNING)
    with _jieba_lock:
        jieba.initialize()
    return jieba


def _cut(text: str) -> list[str]:
    jieba = _jieba()
    return list(jieba.cut_for_search(text))  # type: ignore[attr-defined]


def cut_words(text: str) -> list[str]:
    """jieba's precise-mode words of ``text`` (no HMM): "加工贸易" stays one word, unlike in search mode."""
    jieba = _jieba()
    return list(jieba.lcut(text, HMM=False))  # type: ignore[attr-defined]


def tokenize(text: str) -> list[str]:
    """Search tokens of ``text``: jieba words (search mode, so long words also yield their parts), plus
    each figure both whole ("5341万元") and bare ("5341") so numbers with units stay findable."""
    tokens: list[str] = []
    for i, part in enumerate(_SPLIT_RE.split(text)):
        if not part:
            continue
        if i % 2 == 1:  # a figure captured by the split pattern
            compact = part.replace(" ", "")
            tokens.append(compact)
            number = _NUMBER_RE.match(compact)
            if number and number.group() != compact:
                tokens.append(number.group())
            continue
        for word in _cut(part):
            word = word.strip().lower()
            if word and word not in STOPWORDS and _WORD_RE.fullmatch(word):
                tokens.append(word)
    return tokens


def find_figures(text: str) -> list[tuple[int, int]]:
    """Spans of figures (Arabic or Chinese numerals with their units) in ``text``."""
    return [m.span() for m in FIGURE_RE.finditer(text)]


# Bump when tokenize() changes: the lexical index must then be rebuilt.
TOKENIZER_VERSION = "jieba-search+figures/2"


# A run of sentence-ending marks plus the closing quotes/brackets that belong to the same sentence.
# Half-width "." and "," are deliberately absent: in this corpus they appear inside numbers and as commas.
_SENTENCE_END = re.compile(r"[。！？!?；;…]+[”’」』）)】》]*")
# Short quoted/bracketed groups: a sentence end strictly inside one is not a split point (“好。”).
_PROTECTED = re.compile(
    r"“[^“”\n]{0,40}”|‘[^‘’\n]{0,40}’|「[^「」\n]{0,40}」|《[^《》\n]{0,40}》"
    r"|（[^（）\n]{0,20}）|\([^()\n]{0,20}\)|【[^【】\n]{0,20}】"
)


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Return ``(start, end)`` spans of the sentences of ``text``; every line break is also a boundary."""
    protected = [(m.start(), m.end()) for m in _PROTECTED.finditer(text)]
    protected_starts = [s for s, _ in protected]
    ends: list[int] = []
    for m in _SENTENCE_END.finditer(text):
        pos = m.end()
        k = bisect_left(protected_starts, pos) - 1
        if k >= 0 and protected[k][0] < pos < protected[k][1]:
            continue  # inside a short quote: its closing mark ends the sentence instead
        ends.append(pos)
    newlines = [i for m in re.finditer(r"\n", text) for i in (m.start(), m.end())]
    spans: list[tuple[int, int]] = []
    prev = 0
    for cut in merge(ends, newlines, [len(text)]):
        if cut > prev:
            span = trim_span(text, prev, cut)
            if span is not None:
                spans.append(span)
            prev = cut
    return spans


def trim_span(text: str, start: int, end: int) -> tuple[int, int] | None:
    """``(start, end)`` narrowed to exclude surrounding whitespace; None when only whitespace."""
    seg = text[start:end]
    stripped = seg.strip()
    if not stripped:
        return None
    lead = len(seg) - len(seg.lstrip())
    return start + lead, start + lead + len(stripped)


# News credits: the reporter, editor or source of an item ("（记者 郑晓）", "编辑：林晓雨", "来源：澜州发布",
# "本报记者 王五"). Their names are never the answer to a question about what the item reports.
_CREDIT_WORDS = r"(?:本报|本台|本网|新华社|央视)?(?:特约|首席|见习)?(?:记者|通讯员|实习生|摄影|摄像|撰稿|供稿)"
_EDITOR_WORDS = r"(?:来源|作者|编辑|责任编辑|责编|校对|审核|审校|监制|主编|美编|统筹|摄影|记者|通讯员)"
_END = r"(?=[\s、，,。；;：:）)|｜/]|$)"  # a name ends at a space, a punctuation mark or the end of the line
_PERSON = rf"[\u4e00-\u9fff·]{{2,4}}{_END}"
_MORE = rf"(?:[ \t、]+(?!{_EDITOR_WORDS}[:：]){_PERSON}(?![:：])){{0,3}}"
_CREDIT_RE = re.compile(
    # a parenthesised credit: "（记者 郑晓 通讯员 李四）"
    rf"[（(][^（）()\n]{{0,30}}{_CREDIT_WORDS}[^（）()\n]{{0,40}}[）)]"
    # a labelled credit: "编辑：林晓雨", "来源：澜州发布 编辑：林晓雨"
    rf"|(?<![\u4e00-\u9fff]){_EDITOR_WORDS}\s*[:：]\s*[\u4e00-\u9fff·A-Za-z]{{2,16}}{_END}{_MORE}"
    # a spaced credit: "本报记者 王五 李六"
    rf"|{_CREDIT_WORDS}[ \t]+{_PERSON}{_MORE}",
    re.MULTILINE,
)
_ASKS_CREDIT_RE = re.compile(r"记者|编辑|作者|来源|出处|通讯员|摄影|撰稿|供稿|报道|哪家媒体|发布者")


def credit_spans(text: str, question: str = "") -> list[tuple[int, int]]:
    """Character spans of the news credits in ``text`` (bylines, editors, sources); none when the question asks
    about them ("这篇报道的记者是谁？")."""
    if question and _ASKS_CREDIT_RE.search(question):
        return []
    return [m.span() for m in _CREDIT_RE.finditer(text)]
