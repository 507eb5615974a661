"""The documents tab: the index status and the list of documents, uploads and deletes (behind the API key
when one is set) and the full text of a chosen document."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

import gradio as gr

from rag.errors import RAGError
from rag.kbs import DEFAULT_KB
from rag.loaders import supported_suffixes
from rag.service import RagService
from ui import render, service
from ui.answer_settings import kb_names
from ui.context import UIContext
from ui.service import FileResult


@dataclass(frozen=True, slots=True)
class DocumentsTab:
    """The documents tab's components that its events read or write; ``key`` also guards the conversations."""

    docs_status: gr.Markdown
    refresh: gr.Button
    key: gr.Textbox
    files: gr.File
    upload_btn: gr.Button
    upload_result: gr.HTML
    doc_pick: gr.Dropdown
    doc_delete: gr.Button
    doc_text: gr.HTML
    table: gr.Dataframe
    kb: gr.Dropdown  # the knowledge base the tab lists, uploads to and deletes from

    @property
    def listing(self) -> list[Any]:
        """What ``documents_view`` fills: the status, the table and the document dropdown."""
        return [self.docs_status, self.table, self.doc_pick]


def build_documents_tab(ctx: UIContext) -> DocumentsTab:
    t, svc = ctx.t, ctx.svc
    with gr.Tab(t["tab_docs"], id="documents"):
        with gr.Row():
            docs_status = gr.Markdown(elem_id="rag-index-status")
            refresh = gr.Button(t["refresh"], size="sm", scale=0, min_width=80)
        with gr.Row():
            kb = gr.Dropdown(kb_names(ctx), value=DEFAULT_KB, label=t["kb_docs"], elem_id="rag-docs-kb", scale=1)
            key = gr.Textbox(label=t["api_key"], type="password", visible=svc.needs_key, scale=2)
        with gr.Row(equal_height=False):
            with gr.Column():
                files = gr.File(
                    label=t["upload"],
                    file_count="multiple",
                    file_types=list(supported_suffixes()),
                    type="filepath",
                    elem_id="rag-upload",
                )
                gr.Markdown(
                    t["upload_hint"].format(
                        suffixes=" ".join(supported_suffixes()), mb=svc.max_upload_bytes / 1024 / 1024
                    )
                )
                upload_btn = gr.Button(t["upload_btn"], variant="primary", elem_id="rag-upload-btn")
                upload_result = gr.HTML(elem_id="rag-upload-result")
            with gr.Column():
                doc_pick = gr.Dropdown(label=t["doc_pick"], choices=[], elem_id="rag-doc-pick")
                doc_delete = gr.Button(t["doc_delete"], variant="stop", size="sm")
                doc_text = gr.HTML()
        gr.Markdown(f"**{t['docs_list']}**")
        table = gr.Dataframe(
            headers=[t["col_title"], t["col_date"], t["col_source"], t["col_chunks"], t["col_id"]],
            interactive=False,
            wrap=True,
            elem_id="rag-docs",
        )
    return DocumentsTab(
        docs_status, refresh, key, files, upload_btn, upload_result, doc_pick, doc_delete, doc_text, table, kb
    )


def upload_report(results: Sequence[FileResult], t: Mapping[str, str]) -> str:
    """One line per uploaded file: the documents it became, or why it was not added."""
    lines = []
    for r in results:
        if r.ok:
            titles = "、".join(f"{d['title']} ({d['chunks']} {t['st_chunks']})" for d in r.documents)
            lines.append(f"<li>✅ <b>{escape(r.name)}</b> — {escape(t['upload_ok'])}: {escape(titles)}</li>")
        else:
            lines.append(f"<li>❌ <b>{escape(r.name)}</b> — {escape(t['upload_failed'])}: {escape(r.message)}</li>")
    return f'<ul class="rag-upload">{"".join(lines)}</ul>'


Listing = tuple[str, list[list[Any]], Any]  # the status, the table's rows, the document dropdown
Change = tuple[str, str, list[list[Any]], Any]  # what happened, then the listing


@dataclass(frozen=True, slots=True)
class DocumentHandlers:
    """The tab's event handlers (``ui.context`` says why they are closures)."""

    documents_view: Callable[[str | None], Listing]
    upload: Callable[[list[str] | None, str, str | None], Change]
    delete_doc: Callable[[str | None, str, str | None], Change]
    view_doc: Callable[[str | None, str | None], str]


def document_handlers(ctx: UIContext, status_markdown: Callable[[], str]) -> DocumentHandlers:
    """List the documents, add uploaded files, delete a document (the last two with the key, when one is set),
    show a document's full text, in the knowledge base picked; a change answers with what happened and the new
    listing."""
    svc, t = ctx.svc, ctx.t

    def of(kb: str | None) -> RagService:
        return ctx.kbs.service(kb) if ctx.kbs is not None and kb else svc

    def documents_view(kb: str | None) -> Listing:
        try:
            docs = service.list_documents(of(kb))
        except RAGError:
            docs = []
        rows = [[d["title"], d["date"] or "", d["source"], d["chunks"], d["id"]] for d in docs]
        choices = [(f"{d['title']} ({d['id']})", d["id"]) for d in docs]
        return status_markdown(), rows, gr.update(choices=choices, value=None)

    def upload(files: list[str] | None, key: str, kb: str | None) -> Change:
        if not files:
            return render.empty_html(t["upload_none"]), *documents_view(kb)
        if not service.check_key(svc, key):
            return render.error_html(t["bad_key"], t), *documents_view(kb)
        try:
            results = service.upload_files(
                of(kb), [Path(f) for f in files], upload_dir=Path(gr.utils.get_upload_folder()), key=key
            )
        except RAGError as exc:
            return render.error_html(str(exc), t), *documents_view(kb)
        return upload_report(results, t), *documents_view(kb)

    def delete_doc(doc_id: str | None, key: str, kb: str | None) -> Change:
        if not doc_id:
            return "", *documents_view(kb)
        if not service.check_key(svc, key):
            return render.error_html(t["bad_key"], t), *documents_view(kb)
        try:
            title = service.delete_document(of(kb), doc_id, key=key)
        except RAGError as exc:
            return render.error_html(str(exc), t), *documents_view(kb)
        return render.empty_html(t["doc_deleted"].format(title=title)), *documents_view(kb)

    def view_doc(doc_id: str | None, kb: str | None) -> str:
        if not doc_id:
            return ""
        try:
            views = service.doc_views(of(kb), [doc_id])
        except RAGError as exc:
            return render.error_html(str(exc), t)
        view = views.get(doc_id)
        if view is None or view.text is None:
            return ""
        meta = f"{t['date']} {view.date or '—'} · {t['source']} {view.source}"
        return (
            f'<div class="rag-source"><div class="rag-source-head">{escape(view.title)}</div>'
            f'<div class="rag-source-meta">{escape(meta)}</div>'
            f'<div class="rag-fulltext">{escape(view.text)}</div></div>'
        )

    return DocumentHandlers(documents_view, upload, delete_doc, view_doc)


def wire_documents(
    tab: DocumentsTab, handlers: DocumentHandlers, status: gr.Markdown, status_markdown: Callable[[], str]
) -> None:
    """The tab's events; uploads and deletes share the ``write`` concurrency group, and each refresh or change
    then updates the ``status`` line at the top of the page."""
    tab.refresh.click(handlers.documents_view, [tab.kb], tab.listing).then(status_markdown, None, [status])
    tab.kb.input(handlers.documents_view, [tab.kb], tab.listing)
    tab.upload_btn.click(
        handlers.upload, [tab.files, tab.key, tab.kb], [tab.upload_result, *tab.listing], concurrency_id="write"
    ).then(status_markdown, None, [status])
    tab.doc_delete.click(
        handlers.delete_doc,
        [tab.doc_pick, tab.key, tab.kb],
        [tab.upload_result, *tab.listing],
        concurrency_id="write",
    ).then(status_markdown, None, [status])
    tab.doc_pick.input(handlers.view_doc, [tab.doc_pick, tab.kb], [tab.doc_text])
