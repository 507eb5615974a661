"""The Gradio chat UI: ``build_ui`` composes the Blocks from the builders of ``ui`` over the service;
``mount_ui`` serves it at ``/ui`` (``/ui/en`` in English) inside the FastAPI app and sends ``/`` there."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gradio as gr
from fastapi import FastAPI
from starlette.responses import RedirectResponse

from rag.kbs import KnowledgeBases
from rag.service import RagService
from rag.settings import Settings
from ui import render
from ui.answer_settings import kb_choices_handler
from ui.chat import build_chat_tab, wire_chat
from ui.context import UIContext, build_session, choices_handler, ensure_owner
from ui.documents_tab import build_documents_tab, document_handlers, wire_documents
from ui.search_tab import build_search_tab, wire_search
from ui.status import build_header, status_handler
from ui.store import ConversationStore
from ui.text import EXAMPLES, Lang, strings

PATH = "/ui"
IDLE_POLL_S = 0.1  # how often an idle Gradio queue looks for events


def build_ui(
    svc: RagService,
    *,
    store: ConversationStore,
    lang: Lang = "zh",
    examples: Sequence[str] = EXAMPLES,
    other_lang_href: str | None = None,
    kbs: KnowledgeBases | None = None,
) -> gr.Blocks:
    """The whole interface (chat with sources, search, documents) over ``svc`` (and, for the chat's
    knowledge base selector, ``kbs``); nothing is loaded here."""
    ctx = UIContext(svc, store, strings(lang), kbs)
    # Handlers wired in more than one place are made here, once (``ui.context`` says why).
    status_markdown = status_handler(ctx)
    conversation_choices = choices_handler(ctx)
    documents_handlers = document_handlers(ctx, status_markdown)
    with gr.Blocks(title=ctx.t["title"], analytics_enabled=False, fill_width=True) as demo:
        session = build_session(store)
        status = build_header(ctx.t, other_lang_href)
        with gr.Tabs():
            chat = build_chat_tab(ctx, examples)
            search = build_search_tab(ctx.t)
            documents = build_documents_tab(ctx)
        # In the order they always had: Gradio numbers the API names of a function wired twice in this order.
        wire_chat(ctx, chat, session, documents.key, conversation_choices)
        wire_search(ctx, search)
        wire_documents(documents, documents_handlers, status, status_markdown)
        owner, key = session.owner, documents.key
        kb_choices = kb_choices_handler(ctx)
        demo.load(ensure_owner, [owner], [owner]).then(status_markdown, None, [status]).then(
            documents_handlers.documents_view, [documents.kb], documents.listing
        ).then(conversation_choices, [owner, key], [chat.chats]).then(kb_choices, None, [chat.settings.kb]).then(
            kb_choices, None, [documents.kb]
        )
        key.change(conversation_choices, [owner, key], [chat.chats])
    blocks: gr.Blocks = demo
    return blocks


def database_path(settings: Settings) -> str | Path:
    """Where conversations and feedback are kept: ``RAG_UI__DB`` (a SQLite file or a database URL), or
    ``ui.sqlite`` in the index folder."""
    return settings.ui.db if settings.ui.db else Path(settings.index.dir) / "ui.sqlite"


def mount_ui(app: FastAPI, *, path: str = PATH) -> FastAPI:
    """Serve the UI inside ``app`` (built by ``rag.api.create_app``, whose service and settings it uses) at ``path``
    in the configured language and at ``path/en`` or ``path/zh`` in the other; ``/`` redirects to it. Call it
    after every API route is added: the API keeps ``/ask``, ``/docs``, ``/documents``, ``/v1``…"""
    svc: RagService = app.state.service
    kbs: KnowledgeBases | None = getattr(app.state, "kbs", None)
    settings: Settings = app.state.settings
    store = ConversationStore(database_path(settings))
    lang: Lang = settings.ui.lang
    other: Lang = "en" if lang == "zh" else "zh"
    common: dict[str, Any] = {
        "css": render.CSS,
        "ssr_mode": False,
        "footer_links": ["api"],
        "max_file_size": f"{settings.api.max_upload_mb:g}mb",
    }
    # The more specific path first: a mount at /ui would otherwise take /ui/en.
    for blocks, at in (
        (build_ui(svc, store=store, lang=other, other_lang_href=f"{path}/", kbs=kbs), f"{path}/{other}"),
        (build_ui(svc, store=store, lang=lang, other_lang_href=f"{path}/{other}/", kbs=kbs), path),
    ):
        # A mounted app never "launches", and Gradio checks that an input file was uploaded by a browser (not
        # a server path named in the request) only once launched: without this, any server file could be
        # handed to the upload handler and copied into Gradio's cache.
        blocks.has_launched = True
        # Gradio's queue looks for work every 1 ms when idle (and for progress every 10 ms): ~750 wakeups a
        # second for the two mounted UIs, 10.7 % of a core doing nothing (scripts/measure_idle_cpu.py); at
        # 100 ms, 14 wakeups a second and 0.47 %. An event waits at most 100 ms more before it starts.
        blocks._queue.sleep_when_free = IDLE_POLL_S
        blocks._queue.progress_update_sleep_when_free = IDLE_POLL_S * 4
        gr.mount_gradio_app(app, blocks, path=at, **common)
    if not any(getattr(r, "path", None) == "/" for r in app.router.routes):

        def to_ui() -> RedirectResponse:
            return RedirectResponse(f"{path}/")

        app.add_api_route("/", to_ui, methods=["GET", "HEAD"], include_in_schema=False)
    return app
