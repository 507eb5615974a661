"""HTML for the chat bubbles, the sources panel and the search results, from the answer contract (plain dicts,
so a stored answer renders exactly as a fresh one). Every piece of corpus or user text is escaped here."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any
from urllib.parse import quote

from rag.types import Page

CONTEXT_CHARS = 150
MARKER_RE = re.compile(r"\[(\d+)\]")

CSS = """
.rag-answer { line-height: 1.7; }
.rag-short { font-size: 1.9em; font-weight: 700; line-height: 1.2; margin-bottom: .25em; }
.rag-nofigure { font-weight: 600; color: var(--body-text-color-subdued); margin-bottom: .25em; }
.rag-from { font-size: .85em; color: var(--body-text-color-subdued); margin-top: .2em; }
.rag-cite { color: var(--color-accent); font-weight: 600; font-size: .85em; vertical-align: super; }
.rag-meta { margin-top: .4em; font-size: .8em; color: var(--body-text-color-subdued); }
.rag-notfound { border-left: 4px solid #b0b4ba; background: rgba(128,128,128,.10); padding: .5em .8em;
  border-radius: 6px; color: var(--body-text-color-subdued); }
.rag-notfound-head { font-weight: 600; margin-bottom: .3em; }
.rag-note { margin-top: .4em; font-size: .85em; }
.rag-error { border-left: 4px solid #d97706; background: rgba(217,119,6,.12); padding: .5em .8em; border-radius: 6px; }
.rag-unsupported { background: rgba(220,38,38,.15); border-bottom: 2px dotted #dc2626; cursor: help; }
.rag-warning { border-left: 4px solid #dc2626; background: rgba(220,38,38,.08); padding: .4em .7em;
  border-radius: 6px; margin-bottom: .6em; font-size: .9em; }
.rag-sources { display: flex; flex-direction: column; gap: .7em; }
.rag-source { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: .6em .8em; }
.rag-source-head { font-weight: 600; }
.rag-n { color: var(--color-accent); margin-right: .3em; }
.rag-source-meta { font-size: .8em; color: var(--body-text-color-subdued); margin: .2em 0 .4em; word-break: break-all; }
.rag-context { margin: 0; padding: .4em .6em; border-left: 3px solid var(--border-color-primary);
  font-size: .92em; line-height: 1.7; white-space: pre-wrap; }
.rag-context mark, .rag-fulltext mark { background: #fde68a; color: #111; padding: 0 .1em; border-radius: 2px; }
.rag-fulltext { max-height: 24em; overflow-y: auto; white-space: pre-wrap; font-size: .9em; line-height: 1.7;
  padding: .4em; }
.rag-source details summary { cursor: pointer; font-size: .85em; margin-top: .4em; }
.rag-empty { color: var(--body-text-color-subdued); padding: 1em; }
"""


@dataclass(frozen=True, slots=True)
class DocView:
    """What the sources panel shows of a document: its metadata and cleaned text (``None`` when gone)."""

    id: str
    title: str
    source: str
    date: str | None
    text: str | None
    pages: tuple[Page, ...] = ()  # where each page of a paged source (PDF, scan) lies in ``text``

    def page_at(self, pos: int) -> Page | None:
        """The page that holds character ``pos`` of the text."""
        return next((p for p in self.pages if p.start <= pos < p.end), None)


def _para(text: str) -> str:
    return escape(text).replace("\n", "<br>")


def _mark_figures(html_text: str, figures: Sequence[str], title: str) -> str:
    """Wrap each figure (already escaped text) in a warning span, longest first so parts never split a figure."""
    escaped = sorted({escape(f) for f in figures if f}, key=len, reverse=True)
    if not escaped:
        return html_text
    pattern = re.compile("|".join(re.escape(f) for f in escaped))
    span = f'<span class="rag-unsupported" title="{escape(title)}">'
    return pattern.sub(lambda m: f"{span}{m.group(0)} ⚠</span>", html_text)


def unsupported_figures(answer: Mapping[str, Any]) -> list[str]:
    """The figures the answer states but its citations do not hold (``unsupported_figures``, when present)."""
    out: list[str] = []
    for item in answer.get("unsupported_figures") or []:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, Mapping):
            value = item.get("figure") or item.get("text") or item.get("value")
            if value:
                out.append(str(value))
    return out


def answer_html(answer: Mapping[str, Any], t: Mapping[str, str]) -> str:
    """The chat bubble of a finished answer: grounded ones with their [n] markers and a footnote; "not found"
    ones in a grey box with a note on what to do."""
    body = _para(str(answer.get("answer", "")))
    body = MARKER_RE.sub(r'<span class="rag-cite">[\1]</span>', body)
    figures = unsupported_figures(answer)
    body = _mark_figures(body, figures, t["unsupported_title"])
    if not answer.get("grounded"):
        reason = answer.get("reason")
        extra = f"<br>({escape(str(reason))})" if reason else ""
        return (
            f'<div class="rag-notfound"><div class="rag-notfound-head">ⓘ {escape(t["not_found"])}</div>'
            f'<div>{body}</div><div class="rag-note">{escape(t["not_found_note"])}{extra}</div></div>'
        )
    seconds = float((answer.get("timings_ms") or {}).get("total", 0.0)) / 1000
    meta = t["meta"].format(n=len(answer.get("citations") or []), backend=answer.get("backend", "?"), seconds=seconds)
    warning = ""
    fallback = answer.get("fallback")
    if isinstance(fallback, Mapping):
        note = t["fallback"].format(backend=fallback.get("from", "?"), reason=fallback.get("reason", ""))
        warning += f'<div class="rag-warning">⚠ {escape(note)}</div>'
    if answer.get("rewritten_question"):
        meta = t["rewritten"].format(q=answer["rewritten_question"]) + " · " + meta
    if figures:
        warning += f'<div class="rag-warning">⚠ {escape(t["unsupported"])}: {escape("、".join(figures))}</div>'
    return f'{_lead_html(answer, t)}<div class="rag-answer">{body}</div>{_from_html(answer, t)}{warning}' + (
        f'<div class="rag-meta">{escape(meta)}</div>'
    )


def _lead_html(answer: Mapping[str, Any], t: Mapping[str, str]) -> str:
    """What the answer leads with: the figure (or name, date), big; or the note that the quoted report text
    gives no figure for what was asked."""
    short = answer.get("short_answer")
    if short:
        return f'<div class="rag-short">{escape(str(short))}</div>'
    if answer.get("no_figure"):
        return f'<div class="rag-nofigure">{escape(t["no_figure"])}</div>'
    return ""


def _from_html(answer: Mapping[str, Any], t: Mapping[str, str]) -> str:
    """The source of the quoted sentence: the first citation's title and date."""
    citations = list(answer.get("citations") or [])
    if not citations:
        return ""
    first = citations[0]
    date = f" · {first['date']}" if first.get("date") else ""
    title = escape(str(first.get("title", "")) + date)
    return f'<div class="rag-from">{escape(t["from"])} [{first.get("n", 1)}] {title}</div>'


def error_html(message: str, t: Mapping[str, str], *, key: str = "error") -> str:
    return f'<div class="rag-error">⚠ <b>{escape(t[key])}</b>: {_para(message)}</div>'


def context_html(text: str, start: int, end: int, *, window: int = CONTEXT_CHARS, emphasis: str | None = None) -> str:
    """``text[start:end]`` highlighted inside ``window`` characters of its surroundings (escaped)."""
    start, end = max(0, start), min(len(text), end)
    lo, hi = max(0, start - window), min(len(text), end + window)
    cited = escape(text[start:end])
    if emphasis and escape(emphasis) in cited:
        cited = cited.replace(escape(emphasis), f"<strong>{escape(emphasis)}</strong>", 1)
    return (
        ("…" if lo > 0 else "")
        + escape(text[lo:start])
        + f"<mark>{cited}</mark>"
        + escape(text[end:hi])
        + ("…" if hi < len(text) else "")
    )


def _card(
    label: str,
    passage: Mapping[str, Any],
    doc: DocView | None,
    t: Mapping[str, str],
    *,
    emphasis: str | None = None,
    extra_meta: str = "",
) -> str:
    doc_id = str(passage.get("doc_id", ""))
    title = (doc.title if doc else None) or passage.get("title") or doc_id
    source = (doc.source if doc else None) or passage.get("source") or ""
    date = (doc.date if doc else None) or passage.get("date")
    start, end = int(passage.get("start", 0)), int(passage.get("end", 0))
    text = doc.text if doc is not None else None
    cited = str(passage.get("text", ""))
    if text is not None and text[start:end] == cited:
        context = context_html(text, start, end, emphasis=emphasis)
    else:  # the document changed or was removed since: show the passage alone
        context = f"<mark>{escape(cited)}</mark>"
    meta = [f"{escape(t['date'])} {escape(date or '—')}", f"{escape(t['source'])} {escape(source)}"]
    pages = [int(p) for p in passage.get("pages") or ()]
    if pages:
        meta.append(escape(t["page"].format(pages="–".join(map(str, sorted({pages[0], pages[-1]}))))))
    if passage.get("ocr"):
        meta.append(escape(t["ocr"]))
    meta.append(f"{escape(t['score'])} {float(passage.get('score', 0.0)):.3f}")
    if extra_meta:
        meta.append(extra_meta)
    full = ""
    page = doc.page_at(start) if doc is not None and text is not None and text[start:end] == cited else None
    if page is not None and text is not None:  # the page as it reads, the cited span (within it) highlighted
        body = context_html(text[page.start : page.end], start - page.start, end - page.start, window=len(text))
        full = (
            f"<details><summary>{escape(t['page_text'].format(page=page.number))}</summary>"
            f'<div class="rag-fulltext">{body}</div></details>'
        )
    elif text is not None:
        body = context_html(text, start, end, window=len(text))
        href = f"/documents/{quote(doc_id)}"
        full = (
            f"<details><summary>{escape(t['full_text'])} · "
            f'<a href="{href}" target="_blank" rel="noopener">{escape(t["open_json"])}</a></summary>'
            f'<div class="rag-fulltext">{body}</div></details>'
        )
    return (
        f'<div class="rag-source" data-doc="{escape(doc_id)}"><div class="rag-source-head">'
        f'<span class="rag-n">{escape(label)}</span>{escape(str(title))}</div>'
        f'<div class="rag-source-meta">{" · ".join(meta)}</div>'
        f'<blockquote class="rag-context">{context}</blockquote>{full}</div>'
    )


def sources_html(answer: Mapping[str, Any], docs: Mapping[str, DocView], t: Mapping[str, str]) -> str:
    """The sources panel of an answer: each citation in its surrounding text, cited span highlighted."""
    citations = list(answer.get("citations") or [])
    if not citations:
        return f'<div class="rag-empty">{escape(t["not_found_note"] if not answer.get("grounded") else "")}</div>'
    figures = unsupported_figures(answer)
    head = ""
    if figures:
        head = f'<div class="rag-warning">⚠ {escape(t["unsupported"])}: {escape("、".join(figures))}</div>'
    short = answer.get("short_answer")
    cards = [
        _card(f"[{c.get('n', i + 1)}]", c, docs.get(str(c.get("doc_id"))), t, emphasis=short)
        for i, c in enumerate(citations)
    ]
    return f'<div class="rag-sources">{head}{"".join(cards)}</div>'


def hits_html(hits: Iterable[Mapping[str, Any]], docs: Mapping[str, DocView], t: Mapping[str, str], head: str) -> str:
    """Ranked passages of a search, each in its surrounding text."""
    cards = []
    for rank, hit in enumerate(hits, 1):
        signals = hit.get("signals") or {}
        extra = " ".join(f"{escape(k)} {float(v):.3f}" for k, v in signals.items())
        cards.append(_card(f"#{rank}", hit, docs.get(str(hit.get("doc_id"))), t, extra_meta=extra))
    if not cards:
        return f'<div class="rag-empty">{escape(t["search_none"])}</div>'
    return f'<div class="rag-meta">{escape(head)}</div><div class="rag-sources">{"".join(cards)}</div>'


def empty_html(message: str) -> str:
    return f'<div class="rag-empty">{_para(message)}</div>'
