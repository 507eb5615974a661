"""The sources panel beside the chat: the passages an answer cites, shown again when its bubble is selected."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import gradio as gr

from ui import render
from ui.context import UIContext


def no_sources_html(t: Mapping[str, str]) -> str:
    """What the panel shows before any answer."""
    return render.empty_html(t["sources_empty"])


def build_sources_panel(t: Mapping[str, str]) -> gr.HTML:
    """The panel's heading and the panel, which every answer fills."""
    gr.Markdown(f"**{t['sources']}**")
    return gr.HTML(no_sources_html(t), elem_id="rag-sources")


def sources_handler(ctx: UIContext) -> Callable[[str | None, str, str | None, gr.SelectData], Any]:
    """The sources of the selected answer (or of the answer after the selected question)."""

    def show_sources(cid: str | None, owner: str, key: str | None, evt: gr.SelectData) -> Any:
        if not cid or not ctx.allowed(cid, owner, key) or not isinstance(evt.index, int):
            return gr.skip()
        messages = ctx.store.messages(cid)
        for m in messages[evt.index :]:
            if m.role == "assistant":
                return m.sources_html or no_sources_html(ctx.t)
        return gr.skip()

    return show_sources
