"""The page head: the title, the link to the other language and the index status line."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from html import escape

import gradio as gr

from ui import service
from ui.context import UIContext


def build_header(t: Mapping[str, str], other_lang_href: str | None) -> gr.Markdown:
    """The title and the status line, which the ``status_handler`` fills."""
    switch = f' · <a href="{escape(other_lang_href)}">{t["other_lang"]}</a>' if other_lang_href else ""
    gr.HTML(
        f"<h2 style='margin:0'>{escape(t['title'])}</h2><div class='rag-meta'>{escape(t['subtitle'])}{switch}</div>"
    )
    return gr.Markdown(elem_id="rag-status")


def status_handler(ctx: UIContext) -> Callable[[], str]:
    """The index in one line: loading, failed (and how to fix it), or its documents, model and build."""
    t = ctx.t

    def status_markdown() -> str:
        st = service.index_status(ctx.svc)
        if st.state == "loading":
            return f"⏳ {t['st_loading']}"
        if st.state in ("failed", "damaged"):
            return f"⚠️ **{t['st_failed']}**: {escape(st.detail or '')}\n\n{t['missing_index']}"
        info = st.info or {}
        line = (
            f"**{info['documents']}** {t['st_docs']} · **{info['chunks']}** {t['st_chunks']} · "
            f"{t['st_model']} {info['model']} · {t['st_backend']} {info['backend']} · "
            f"{t['st_built']} {info['built_at']} · {t['st_build']} `{info['build']}`"
        )
        return line + (f"\n\n⚠️ {t['empty_index']}" if st.state == "empty" else "")

    return status_markdown
