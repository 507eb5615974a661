"""The search tab: the passages a query retrieves, ranked, without an answer."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import gradio as gr

from rag.errors import RAGError
from ui import render, service
from ui.context import UIContext


@dataclass(frozen=True, slots=True)
class SearchTab:
    """The search tab's components."""

    query: gr.Textbox
    top_k: gr.Slider
    search_btn: gr.Button
    results: gr.HTML


def build_search_tab(t: Mapping[str, str]) -> SearchTab:
    with gr.Tab(t["tab_search"], id="search"):
        with gr.Row():
            query = gr.Textbox(label=t["search_q"], placeholder=t["search_ph"], scale=5, elem_id="rag-query")
            top_k = gr.Slider(1, 50, value=10, step=1, label=t["top_k"], scale=2)
            search_btn = gr.Button(t["search_btn"], variant="primary", scale=1, elem_id="rag-search")
        results = gr.HTML(elem_id="rag-results")
    return SearchTab(query, top_k, search_btn, results)


def search_handler(ctx: UIContext) -> Callable[[str, float], str]:
    """The hits as cards with their documents' titles and dates, under a line with their number and time."""
    t = ctx.t

    def search(query: str, top_k: float) -> str:
        try:
            found = ctx.svc.search(query, top_k=int(top_k))
        except RAGError as exc:
            return render.error_html(str(exc), t)
        hits = [h.to_dict() for h in found.hits]
        docs = service.doc_views(ctx.svc, [h["doc_id"] for h in hits])
        return render.hits_html(hits, docs, t, t["search_head"].format(n=len(hits), ms=found.ms))

    return search


def wire_search(ctx: UIContext, tab: SearchTab) -> None:
    search = search_handler(ctx)
    tab.search_btn.click(search, [tab.query, tab.top_k], [tab.results])
    tab.query.submit(search, [tab.query, tab.top_k], [tab.results])
