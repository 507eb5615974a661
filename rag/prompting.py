"""Prompts for LLM answer backends: numbered passages that fit a token budget, and grounded-answer rules in
the question's language (pure functions; no model, no network)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rag.types import Hit

# What the model must answer, verbatim, when the passages do not hold the answer; mapped to grounded=False.
NOT_FOUND_ZH = "资料中没有相关内容"
NOT_FOUND_EN = "The passages do not contain the answer"

# Conservative token estimate, used when no tokenizer is given. Multilingual vocabularies (Qwen, Llama 3,
# GPT-4o) spend about 0.7–1.3 tokens per Han character; English-centric byte-level ones up to 3 (one per
# UTF-8 byte). 2 per character covers the first kind with room to spare; the backend shrinks the budget and
# retries when a server still reports that the prompt overflows its window.
CJK_CHAR_TOKENS = 2.0
ASCII_CHARS_PER_TOKEN = 3.0  # English BPE averages ~4 characters a token; 3 errs on the safe side
MESSAGE_OVERHEAD_TOKENS = 8  # role markers and separators a chat template adds to each message
MIN_PASSAGE_TOKENS = 48  # a passage cut shorter than this says too little to be worth its number

_CJK_RE = re.compile(r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef]")
_ASCII_RUN_RE = re.compile(r"[A-Za-z]+|\d|[^\sA-Za-z\d]")
_SPACES_RE = re.compile(r"\s+")

TokenCounter = Callable[[str], int]

_RULES_ZH = (
    "你是一个严谨的问答助手，只根据用户给出的编号资料回答问题。\n"
    "规则：\n"
    "1. 只使用资料中的信息，不要使用资料以外的知识，不要编造。\n"
    "2. 每句陈述后面用方括号标注所依据资料的编号，例如：新建标准化厂房3.1万平方米[1]。\n"
    "3. 数字、单位和名称必须与资料原文完全一致。\n"
    f"4. 如果资料中没有问题的答案，只回答：{NOT_FOUND_ZH}。\n"
    "5. 用中文简洁作答。"
)
_RULES_EN = (
    "You are a careful question-answering assistant. Answer only from the numbered passages the user gives.\n"
    "Rules:\n"
    "1. Use only information in the passages; never use outside knowledge and never guess.\n"
    "2. After each claim, cite the passage it comes from in square brackets, e.g. [1].\n"
    "3. Copy numbers, units and names exactly as the passages write them.\n"
    f"4. If the passages do not contain the answer, reply exactly: {NOT_FOUND_EN}.\n"
    "5. Answer briefly, in English."
)
_USER_ZH = "资料：\n{passages}\n\n问题：{question}"
_USER_EN = "Passages:\n{passages}\n\nQuestion: {question}"


@dataclass(frozen=True, slots=True)
class Prompt:
    """Chat messages for one question; passages ``[1]..[n_passages]`` are the first hits, in rank order."""

    messages: list[dict[str, str]]
    n_passages: int
    truncated: bool  # the last passage was cut to fit
    tokens: int  # estimated prompt tokens
    english: bool


def estimate_tokens(text: str) -> int:
    """A conservative token count without a tokenizer (see ``CJK_CHAR_TOKENS``): CJK characters count 2, each
    digit and symbol 1, Latin words one per 3 letters, other non-ASCII characters one per UTF-8 byte."""
    cjk = len(_CJK_RE.findall(text))
    rest = _CJK_RE.sub(" ", text)
    total = cjk * CJK_CHAR_TOKENS
    for piece in _ASCII_RUN_RE.findall(rest):
        if piece.isascii():
            total += math.ceil(len(piece) / ASCII_CHARS_PER_TOKEN) if piece.isalpha() else 1
        else:
            total += len(piece.encode("utf-8"))
    return math.ceil(total)


def is_english(text: str) -> bool:
    """Whether ``text`` is mostly Latin letters (the rule question analysis uses)."""
    letters = sum(c.isascii() and c.isalpha() for c in text)
    return letters > len(text.replace(" ", "")) / 2


def not_found_phrase(question: str) -> str:
    return NOT_FOUND_EN if is_english(question) else NOT_FOUND_ZH


def format_passage(n: int, hit: Hit, text: str | None = None) -> str:
    """``[n] 《title》(date) text`` with the passage's whitespace collapsed."""
    body = _SPACES_RE.sub(" ", hit.chunk.text if text is None else text).strip()
    head = f"[{n}]"
    if hit.title:
        head += f" 《{hit.title}》"
    if hit.date:
        head += f"({hit.date})"
    return f"{head} {body}"


def _fit(n: int, hit: Hit, room: int, count: TokenCounter) -> str | None:
    """The longest prefix of the passage (cut at a character, marked "…") whose line fits ``room`` tokens."""
    text = _SPACES_RE.sub(" ", hit.chunk.text).strip()
    lo, hi = 0, len(text)
    while lo < hi:  # the largest k with count(line(k)) <= room
        mid = (lo + hi + 1) // 2
        if count(format_passage(n, hit, text[:mid] + "…")) <= room:
            lo = mid
        else:
            hi = mid - 1
    return format_passage(n, hit, text[:lo] + "…") if lo else None


def build_prompt(
    question: str,
    hits: Sequence[Hit],
    *,
    context_tokens: int,
    max_tokens: int,
    count_tokens: TokenCounter = estimate_tokens,
) -> Prompt:
    """The messages for ``question``: rules in the question's language, then as many passages as fit into
    ``context_tokens - max_tokens - overhead``, best-ranked first; the first one that does not fit is cut to
    the room left (when at least ``MIN_PASSAGE_TOKENS``), the lower-ranked rest dropped."""
    english = is_english(question)
    system = _RULES_EN if english else _RULES_ZH
    template = _USER_EN if english else _USER_ZH
    overhead = count_tokens(system) + count_tokens(template.format(passages="", question=question))
    overhead += 2 * MESSAGE_OVERHEAD_TOKENS
    room = context_tokens - max_tokens - overhead
    separator = max(1, count_tokens("\n\n"))  # the blank line between passages
    lines: list[str] = []
    truncated = False
    for n, hit in enumerate(hits, start=1):
        line = format_passage(n, hit)
        cost = count_tokens(line) + separator
        if cost <= room:
            lines.append(line)
            room -= cost
            continue
        if room >= MIN_PASSAGE_TOKENS:
            cut = _fit(n, hit, room - separator, count_tokens)
            if cut is not None:
                lines.append(cut)
                truncated = True
        break
    user = template.format(passages="\n\n".join(lines), question=question)
    messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
    tokens = count_tokens(system) + count_tokens(user) + 2 * MESSAGE_OVERHEAD_TOKENS
    return Prompt(messages, len(lines), truncated, tokens, english)


_NORMALISE_RE = re.compile(r"\[\d{1,3}\]|[\s\W_]+")


def is_not_found(answer: str) -> bool:
    """Whether the model's answer is the fixed "the passages do not say" reply (in either language), allowing
    for punctuation, a citation marker or a few extra words around it."""
    text = _NORMALISE_RE.sub("", answer).lower()
    for phrase in (NOT_FOUND_ZH, NOT_FOUND_EN):
        key = _NORMALISE_RE.sub("", phrase).lower()
        if key in text and len(text) <= 2 * len(key):
            return True
    return False
