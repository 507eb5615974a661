"""Follow-up questions: turn "那2020年呢？" into a standalone question from the conversation so far, by a
carry-over rule or with a short LLM prompt (pure functions; the caller runs the model)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

Message = Mapping[str, str]

MAX_REWRITE_CHARS = 300
_LEAD_RE = re.compile(
    r"^(?:那么|那|还有|另外|再问一下|请问|and\s+what\s+about|what\s+about|how\s+about|and)[\s,，、]*", re.I
)
_TAIL_RE = re.compile(r"(?:的情况|情况)?(?:呢|吗|怎么样|又如何|如何|又是多少)?\s*[？?。.!！]*$")
_PRONOUN_RE = re.compile(r"^(?:它|其|该地|该区|当地|这里|那里)")
_YEAR_RE = re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)(?:\s?年)?")
_PLACE_RE = re.compile(
    r"[\u4e00-\u9fff]{1,8}?(?:特别行政区|自治区|自治州|示范区|新区|开发区|高新区|市|区|县|省|镇|乡|村)"
)
# No unit after 多少: a new subject may be counted in another one.
_QUESTION_WORD_RE = re.compile(r"多少|几|哪些|哪里|什么时候|何时|是什么|有哪些|是谁")
_ANY_QUESTION_WORD_RE = re.compile(
    r"多少|几|哪|什么|何|谁|吗|怎|多[大高长重远久深]|how|what|which|who|when|where", re.I
)
_SHORT_FOLLOWUP_CHARS = 12
_HISTORY_TURNS = 6
_HISTORY_MESSAGE_CHARS = 300
_LABEL_RE = re.compile(
    r"^(?:改写后的问题|独立问题|问题|rewritten question|standalone question|question)\s*[:：]\s*", re.I
)

_REWRITE_ZH = (
    "把用户的最后一个问题改写成不依赖对话、可以单独理解的完整问题：补全省略的地点、时间和对象，保留原意。"
    "只输出改写后的问题本身，不要回答它。如果问题已经完整，原样输出。"
)
_REWRITE_EN = (
    "Rewrite the user's last question as a standalone question that can be understood without the "
    "conversation: fill in the omitted place, time and subject, keep its meaning. Output only the rewritten "
    "question, do not answer it. If it is already standalone, output it unchanged."
)


def looks_like_followup(question: str) -> bool:
    """Whether ``question`` leans on an earlier turn: it opens with 那/还有/what about, points back with a
    pronoun, or is a short fragment ending in 呢."""
    q = question.strip()
    if _LEAD_RE.match(q) or _PRONOUN_RE.match(q):
        return True
    return len(q) <= _SHORT_FOLLOWUP_CHARS and bool(re.search(r"呢\s*[？?]?$", q))


def _fragment(question: str) -> str:
    return _TAIL_RE.sub("", _LEAD_RE.sub("", question.strip())).strip(" ，,的")


def _replace_slot(pattern: re.Pattern[str], fragment: str, previous: str) -> tuple[str, str]:
    """``previous`` with its first ``pattern`` slot replaced by the fragment's, and what is left of the
    fragment; unchanged when either side lacks the slot."""
    new = pattern.search(fragment)
    old = pattern.search(previous)
    if new is None or old is None:
        return previous, fragment
    value = new.group()
    if pattern is _YEAR_RE and not value.endswith("年") and old.group().endswith("年"):
        value += "年"
    rest = (fragment[: new.start()] + fragment[new.end() :]).strip(" ，,的")
    return previous[: old.start()] + value + previous[old.end() :], rest


def rewrite_followup(question: str, previous: str) -> str | None:
    """The standalone form of ``question`` given the previous standalone question, or None when ``question``
    does not look like a follow-up. A fragment that only names a new year and/or place replaces those slots
    of ``previous`` ("恒口示范区2019年…多少？" + "那2020年呢？" → "恒口示范区2020年…多少？"); anything else
    keeps the previous question's place and year and asks the new fragment with its question word."""
    if not previous.strip() or not looks_like_followup(question):
        return None
    fragment = _fragment(question)
    if not fragment:
        return None
    pronoun = _PRONOUN_RE.match(fragment)
    place = _PLACE_RE.search(previous)
    if pronoun:
        fragment = (place.group() if place else "") + fragment[pronoun.end() :]
    rewritten, rest = _replace_slot(_YEAR_RE, fragment, previous)
    rewritten, rest = _replace_slot(_PLACE_RE, rest, rewritten)
    if not rest:
        return rewritten if rewritten != previous else None
    if rest in rewritten and rewritten != previous:
        return rewritten  # "农村居民" after "城镇居民…": the place slot took "农村", "居民" is already there
    if not _ANY_QUESTION_WORD_RE.search(rest):
        # "那农村居民呢？" after "城镇居民人均可支配收入增长多少？": the fragment stands in for one part of the
        # previous question (the measured quantity stays), found by a shared affix or a known contrast.
        swapped = _swap_counterpart(rest, rewritten)
        if swapped is not None:
            return swapped
    # A new subject: carry the previous question's place and year over, ask with its question word.
    context = [m.group() for m in (place, _YEAR_RE.search(previous)) if m and m.group() not in fragment]
    asked = "" if _ANY_QUESTION_WORD_RE.search(fragment) else _question_word(previous)
    end = "?" if re.search(r"[A-Za-z]\W*$", fragment) else "？"
    return "".join(context) + fragment + asked + end


def _question_word(question: str) -> str:
    """The previous question's question word with its measure word ("多少人", "几个"): what was asked stays."""
    m = _QUESTION_WORD_RE.search(question)
    if not m:
        return ""
    unit = re.match(
        r"(?:万|亿)?(?:个工作日|个百分点|平方米|平方公里|公里|人次|[人名位户家个项所座套辆件元亩吨])",
        question[m.end() :],
    )
    return m.group() + (unit.group() if unit else "")


# Words that name one of a set of alternatives: a follow-up naming another member swaps it in.
_CONTRASTS = (
    ("城镇", "农村", "城市", "乡村", "城区", "城乡"),
    ("出口", "进口"),
    ("开工", "竣工", "签约", "新签约", "在建", "投产", "完工", "开建"),
    ("国家级", "省级", "市级", "县级", "区级", "镇级", "乡级", "村级"),
    ("第一产业", "第二产业", "第三产业", "一产", "二产", "三产"),
    ("上半年", "下半年", "一季度", "二季度", "三季度", "四季度", "全年"),
    ("小学", "初中", "高中", "中学", "大学", "幼儿园"),
    ("男性", "女性", "男", "女"),
    ("低保", "医保", "养老保险", "特困"),
)
_HAN_RUN = re.compile(r"[\u4e00-\u9fff]+")
_FRAGMENT_FIGURE_RE = re.compile(r"(\d+(?:\.\d+)?)([\u4e00-\u9fff%]{1,6}?)(?:的)?")


def _swap_counterpart(fragment: str, previous: str) -> str | None:
    """``previous`` with the words ``fragment`` stands in for replaced by it, or None when none is found: a
    run of the same length sharing a prefix or suffix ("城镇居民" for "农村居民", "市级" for "县级"), else a
    member of the same contrast set ("城镇" for "农村")."""
    figure = _FRAGMENT_FIGURE_RE.fullmatch(fragment)
    if figure:  # "10亿元以上" for "5亿元以上": the same measure, another figure
        tail = figure.group(2)
        old_figure = re.search(rf"(?<![\d.])\d+(?:\.\d+)?{re.escape(tail)}", previous) if tail else None
        return previous.replace(old_figure.group(), fragment, 1) if old_figure else None
    if not _HAN_RUN.fullmatch(fragment):
        return None
    n = len(fragment)
    best: tuple[int, int, int] | None = None  # (shared length, -start, start)
    for run in _HAN_RUN.finditer(previous):
        for i in range(run.start(), run.end() - n + 1):
            old = previous[i : i + n]
            if old == fragment:
                return None  # the previous question already names it: nothing to swap
            shared = max(_common_prefix(old, fragment), _common_prefix(old[::-1], fragment[::-1]))
            if 0 < shared < n and 2 * shared >= n and (best is None or shared > best[0]):
                best = (shared, -i, i)
    if best is not None:
        i = best[2]
        return previous[:i] + fragment + previous[i + n :]
    for group in _CONTRASTS:
        new = next((w for w in sorted(group, key=len, reverse=True) if w in fragment), None)
        old_word = next((w for w in sorted(group, key=len, reverse=True) if w in previous and w != new), None)
        if new and old_word and new not in previous:
            return previous.replace(old_word, fragment, 1)
    return None


def _common_prefix(a: str, b: str) -> int:
    k = 0
    while k < min(len(a), len(b)) and a[k] == b[k]:
        k += 1
    return k


def standalone_question(question: str, history: Sequence[Message]) -> str | None:
    """The rule-based rewrite of ``question`` after ``history`` (earlier turns, oldest first), or None when
    there is no earlier user question or ``question`` does not need one. Earlier follow-ups are resolved in
    turn, so a chain of "那2020年呢？" "那2021年呢？" keeps the original subject."""
    previous = previous_question(history)
    return rewrite_followup(question, previous) if previous else None


def previous_question(history: Sequence[Message]) -> str | None:
    """The last user question of ``history``, itself made standalone."""
    previous: str | None = None
    for message in history:
        content = str(message.get("content", "")).strip()
        if message.get("role") != "user" or not content:
            continue
        previous = (rewrite_followup(content, previous) if previous else None) or content
    return previous


def rewrite_messages(question: str, history: Sequence[Message]) -> list[dict[str, str]]:
    """Chat messages asking an LLM to rewrite ``question`` as a standalone question (last turns only)."""
    english = sum(c.isascii() and c.isalpha() for c in question) > len(question.replace(" ", "")) / 2
    labels = ("User", "Assistant") if english else ("用户", "助手")
    lines = []
    for message in list(history)[-_HISTORY_TURNS:]:
        role = message.get("role")
        if role not in ("user", "assistant"):
            continue
        content = " ".join(str(message.get("content", "")).split())[:_HISTORY_MESSAGE_CHARS]
        lines.append(f"{labels[0] if role == 'user' else labels[1]}: {content}")
    if english:
        user = "Conversation:\n" + "\n".join(lines) + f"\n\nLast question: {question}\nStandalone question:"
    else:
        user = "对话：\n" + "\n".join(lines) + f"\n\n最后一个问题：{question}\n改写后的问题："
    return [{"role": "system", "content": _REWRITE_EN if english else _REWRITE_ZH}, {"role": "user", "content": user}]


def clean_rewrite(output: str) -> str | None:
    """The rewritten question from a model's reply (first line, labels and quotes removed), or None when the
    reply is empty or too long to be a question."""
    for line in output.strip().splitlines():
        line = _LABEL_RE.sub("", line.strip()).strip(" \"'“”「」『』`*")
        if line:
            return line if len(line) <= MAX_REWRITE_CHARS else None
    return None
