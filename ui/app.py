"""The Gradio chat UI: ``build_ui`` lays out the Blocks over a live pipeline holder; ``mount_ui`` serves it at
``/ui`` (``/ui/en`` in English) inside the FastAPI app and sends ``/`` there."""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Sequence
from html import escape
from pathlib import Path
from typing import Any

import gradio as gr
from fastapi import FastAPI
from starlette.responses import RedirectResponse

from rag import registry
from rag.errors import RAGError
from rag.loaders import SUPPORTED_SUFFIXES
from rag.settings import Settings
from rag.types import Answer
from ui import render, service
from ui.service import PipelineHolder
from ui.store import ConversationStore, Message
from ui.text import EXAMPLES, Lang, strings

PATH = "/ui"
IDLE_POLL_S = 0.1  # how often an idle Gradio queue looks for events
ChatValue = list[dict[str, Any]]


def _bubbles(messages: Sequence[Message]) -> ChatValue:
    return [{"role": m.role, "content": m.display or escape(m.content)} for m in messages]


def _history(messages: Sequence[Message]) -> list[dict[str, str]]:
    """Earlier turns as the pipeline takes them: plain text, failed turns left out."""
    return [{"role": m.role, "content": m.content} for m in messages if m.content]


def build_ui(
    holder: PipelineHolder,
    *,
    store: ConversationStore,
    lang: Lang = "zh",
    examples: Sequence[str] = EXAMPLES,
    other_lang_href: str | None = None,
) -> gr.Blocks:
    """The whole interface (chat with sources, search, documents) over ``holder``; nothing is loaded here."""
    t = strings(lang)
    settings = holder.settings
    backends = registry.available("generator")
    default_backend = settings.generator.backend
    if default_backend not in backends:
        backends = [default_backend, *backends]

    # Conversations belong to the browser that started them (an id kept in its localStorage); the holder of
    # the API key, when one is set, sees everyone's.
    def everyone(key: str | None) -> bool:
        return bool(settings.api.key) and service.check_key(settings, key)

    def allowed(cid: str | None, owner: str, key: str | None) -> bool:
        return bool(cid) and (everyone(key) or (bool(owner) and store.owner_of(str(cid)) == owner))

    def ensure_owner(owner: str | None) -> str:
        return owner or secrets.token_urlsafe(16)

    def conversation_choices(owner: str, key: str | None) -> Any:
        items = [(c.title, c.id) for c in store.conversations(owner=owner or None, everyone=everyone(key))]
        return gr.update(choices=items)

    # --- status ----------------------------------------------------------------------------------------------

    def status_markdown() -> str:
        st = service.index_status(holder)
        if st.state == "loading":
            return f"⏳ {t['st_loading']}"
        if st.state == "failed":
            return f"⚠️ **{t['st_failed']}**: {escape(st.detail or '')}\n\n{t['missing_index']}"
        info = st.info or {}
        line = (
            f"**{info['documents']}** {t['st_docs']} · **{info['chunks']}** {t['st_chunks']} · "
            f"{t['st_model']} {info['model']} · {t['st_backend']} {info['backend']} · "
            f"{t['st_built']} {info['built_at']} · {t['st_build']} `{info['build']}`"
        )
        return line + (f"\n\n⚠️ {t['empty_index']}" if st.state == "empty" else "")

    # --- chat ------------------------------------------------------------------------------------------------

    def ask(
        question: str, cid: str | None, backend: str, top_k: float, owner: str, key: str | None
    ) -> Iterator[tuple[ChatValue, str, str, str | None, Any]]:
        q = (question or "").strip()
        if cid and not allowed(cid, owner, key):
            cid = None  # not this browser's conversation: start a new one
        earlier = store.messages(cid) if cid else []
        if not q:
            yield _bubbles(earlier), "", gr.skip(), cid, gr.skip()
            return
        if cid is None:
            cid = store.create(q, owner=owner or None)
        history = _history(earlier)
        store.add_message(cid, "user", q)
        chat = [*_bubbles(earlier), {"role": "user", "content": escape(q)}]
        yield [*chat, {"role": "assistant", "content": "…"}], "", gr.skip(), cid, conversation_choices(owner, key)
        text = ""
        try:
            pipeline = holder.current()
            answer: Answer | None = None
            for piece in service.ask(pipeline, q, history=history, backend=backend, top_k=int(top_k)):
                if isinstance(piece, Answer):
                    answer = piece
                    break
                text += piece
                yield [*chat, {"role": "assistant", "content": escape(text)}], "", gr.skip(), cid, gr.skip()
            assert answer is not None
        except RAGError as exc:
            shown = render.error_html(str(exc), t)
            store.add_message(cid, "assistant", "", display=shown)
            yield [*chat, {"role": "assistant", "content": shown}], "", render.empty_html(str(exc)), cid, gr.skip()
            return
        contract = answer.to_dict()
        shown = render.answer_html(contract, t)
        docs = service.doc_views(pipeline, [c.doc_id for c in answer.citations])
        panel = render.sources_html(contract, docs, t)
        store.add_message(cid, "assistant", answer.answer, display=shown, answer=contract, sources_html=panel)
        yield [*chat, {"role": "assistant", "content": shown}], "", panel, cid, gr.skip()

    def new_chat() -> tuple[ChatValue, str, None, Any, str]:
        return [], render.empty_html(t["sources_empty"]), None, gr.update(value=None), ""

    def open_chat(cid: str | None, owner: str, key: str | None) -> tuple[ChatValue, str, str | None, str]:
        if not cid or not allowed(cid, owner, key):
            return [], render.empty_html(t["sources_empty"]), None, ""
        messages = store.messages(cid)
        last = next((m.sources_html for m in reversed(messages) if m.sources_html), None)
        return _bubbles(messages), last or render.empty_html(t["sources_empty"]), cid, ""

    def delete_chat(cid: str | None, owner: str, key: str | None) -> tuple[ChatValue, str, None, Any, str]:
        if cid and allowed(cid, owner, key):
            store.delete(cid)
        cleared = new_chat()
        return cleared[0], cleared[1], None, conversation_choices(owner, key), ""

    def show_sources(cid: str | None, owner: str, key: str | None, evt: gr.SelectData) -> Any:
        if not cid or not allowed(cid, owner, key) or not isinstance(evt.index, int):
            return gr.skip()
        messages = store.messages(cid)
        for m in messages[evt.index :]:
            if m.role == "assistant":
                return m.sources_html or render.empty_html(t["sources_empty"])
        return gr.skip()

    def like(cid: str | None, owner: str, key: str | None, evt: gr.LikeData) -> tuple[str, int | None]:
        index = evt.index if isinstance(evt.index, int) else None
        mine = cid is not None and allowed(cid, owner, key)
        message = store.message_at(cid, index) if mine and cid and index is not None else None
        if message is None or message.role != "assistant":
            return t["feedback_none"], None
        if evt.liked is True or evt.liked == "Like":
            store.set_feedback(message.id, 1)
            return t["feedback_thanks_up"], message.id
        if evt.liked is False or evt.liked == "Dislike":
            store.set_feedback(message.id, -1)
            return t["feedback_thanks_down"], message.id
        store.set_feedback(message.id, None)
        return t["feedback_removed"], None

    def save_comment(message_id: int | None, comment: str) -> tuple[str, str]:
        if message_id is None or not store.set_comment(message_id, comment):
            return t["feedback_none"], comment
        return t["feedback_saved"], ""

    # --- search ----------------------------------------------------------------------------------------------

    def search(query: str, top_k: float) -> str:
        try:
            pipeline = holder.current()
            found = pipeline.search(query, top_k=int(top_k))
        except RAGError as exc:
            return render.error_html(str(exc), t)
        hits = [h.to_dict() for h in found.hits]
        docs = service.doc_views(pipeline, [h["doc_id"] for h in hits])
        return render.hits_html(hits, docs, t, t["search_head"].format(n=len(hits), ms=found.ms))

    # --- documents -------------------------------------------------------------------------------------------

    def documents_view() -> tuple[str, list[list[Any]], Any]:
        try:
            docs = service.list_documents(holder.current())
        except RAGError:
            docs = []
        rows = [[d["title"], d["date"] or "", d["source"], d["chunks"], d["id"]] for d in docs]
        choices = [(f"{d['title']} ({d['id']})", d["id"]) for d in docs]
        return status_markdown(), rows, gr.update(choices=choices, value=None)

    def upload(files: list[str] | None, key: str) -> tuple[str, str, list[list[Any]], Any]:
        if not files:
            return render.empty_html(t["upload_none"]), *documents_view()
        if not service.check_key(settings, key):
            return render.error_html(t["bad_key"], t), *documents_view()
        try:
            results = service.upload_files(
                holder, [Path(f) for f in files], upload_dir=Path(gr.utils.get_upload_folder())
            )
        except RAGError as exc:
            return render.error_html(str(exc), t), *documents_view()
        lines = []
        for r in results:
            if r.ok:
                titles = "、".join(f"{d['title']} ({d['chunks']} {t['st_chunks']})" for d in r.documents)
                lines.append(f"<li>✅ <b>{escape(r.name)}</b> — {escape(t['upload_ok'])}: {escape(titles)}</li>")
            else:
                lines.append(f"<li>❌ <b>{escape(r.name)}</b> — {escape(t['upload_failed'])}: {escape(r.message)}</li>")
        return f'<ul class="rag-upload">{"".join(lines)}</ul>', *documents_view()

    def delete_doc(doc_id: str | None, key: str) -> tuple[str, str, list[list[Any]], Any]:
        if not doc_id:
            return "", *documents_view()
        if not service.check_key(settings, key):
            return render.error_html(t["bad_key"], t), *documents_view()
        try:
            title = service.delete_document(holder, doc_id)
        except RAGError as exc:
            return render.error_html(str(exc), t), *documents_view()
        return render.empty_html(t["doc_deleted"].format(title=title)), *documents_view()

    def view_doc(doc_id: str | None) -> str:
        if not doc_id:
            return ""
        try:
            views = service.doc_views(holder.current(), [doc_id])
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

    # --- layout ----------------------------------------------------------------------------------------------

    with gr.Blocks(title=t["title"], analytics_enabled=False, fill_width=True) as demo:
        cid = gr.State(None)
        owner = gr.BrowserState("", storage_key="rag-owner", secret=store.secret())
        rated = gr.State(None)
        switch = f' · <a href="{escape(other_lang_href)}">{t["other_lang"]}</a>' if other_lang_href else ""
        gr.HTML(
            f"<h2 style='margin:0'>{escape(t['title'])}</h2><div class='rag-meta'>{escape(t['subtitle'])}{switch}</div>"
        )
        status = gr.Markdown(elem_id="rag-status")
        with gr.Tabs():
            with gr.Tab(t["tab_chat"], id="chat"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3):
                        chatbot = gr.Chatbot(
                            label=t["chat"],
                            height=560,
                            elem_id="rag-chat",
                            sanitize_html=False,  # every bubble is built (and escaped) by ui.render
                            feedback_options=("Like", "Dislike"),
                            buttons=["copy"],
                            placeholder=t["sources_empty"],
                        )
                        with gr.Row():
                            question = gr.Textbox(
                                show_label=False,
                                placeholder=t["question_ph"],
                                elem_id="rag-question",
                                scale=6,
                                max_lines=4,
                            )
                            send = gr.Button(t["send"], variant="primary", elem_id="rag-send", scale=1, min_width=80)
                            stop = gr.Button(t["stop"], variant="stop", scale=1, min_width=80)
                        examples_set = gr.Examples(
                            examples=[[q] for q in examples], inputs=[question], label=t["examples"]
                        )
                        with gr.Row():
                            comment = gr.Textbox(show_label=False, placeholder=t["feedback_comment"], scale=5)
                            comment_btn = gr.Button(t["feedback_save"], scale=1, min_width=80)
                        feedback_note = gr.Markdown(elem_id="rag-feedback")
                    with gr.Column(scale=2):
                        with gr.Row():
                            new_btn = gr.Button(t["new_chat"], elem_id="rag-new", size="sm")
                            delete_btn = gr.Button(t["delete_chat"], size="sm", variant="secondary")
                        chats = gr.Dropdown(label=t["history"], choices=[], elem_id="rag-history", interactive=True)
                        with gr.Accordion(t["settings"], open=False):
                            backend = gr.Dropdown(backends, value=default_backend, label=t["backend"])
                            top_k = gr.Slider(1, 20, value=settings.retrieval.top_k, step=1, label=t["top_k"])
                        gr.Markdown(f"**{t['sources']}**")
                        sources = gr.HTML(render.empty_html(t["sources_empty"]), elem_id="rag-sources")
            with gr.Tab(t["tab_search"], id="search"):
                with gr.Row():
                    query = gr.Textbox(label=t["search_q"], placeholder=t["search_ph"], scale=5, elem_id="rag-query")
                    search_k = gr.Slider(1, 50, value=10, step=1, label=t["top_k"], scale=2)
                    search_btn = gr.Button(t["search_btn"], variant="primary", scale=1, elem_id="rag-search")
                results = gr.HTML(elem_id="rag-results")
            with gr.Tab(t["tab_docs"], id="documents"):
                with gr.Row():
                    docs_status = gr.Markdown(elem_id="rag-index-status")
                    refresh = gr.Button(t["refresh"], size="sm", scale=0, min_width=80)
                key = gr.Textbox(label=t["api_key"], type="password", visible=bool(settings.api.key))
                with gr.Row(equal_height=False):
                    with gr.Column():
                        files = gr.File(
                            label=t["upload"],
                            file_count="multiple",
                            file_types=list(SUPPORTED_SUFFIXES),
                            type="filepath",
                            elem_id="rag-upload",
                        )
                        gr.Markdown(
                            t["upload_hint"].format(
                                suffixes=" ".join(SUPPORTED_SUFFIXES), mb=settings.api.max_upload_mb
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

        # --- events ------------------------------------------------------------------------------------------
        ask_inputs = [question, cid, backend, top_k, owner, key]
        ask_outputs = [chatbot, question, sources, cid, chats]
        asked = [
            question.submit(ask, ask_inputs, ask_outputs, concurrency_id="ask"),
            send.click(ask, ask_inputs, ask_outputs, concurrency_id="ask"),
            examples_set.load_input_event.then(ask, ask_inputs, ask_outputs, concurrency_id="ask"),
        ]
        stop.click(None, cancels=asked)
        new_btn.click(new_chat, None, [chatbot, sources, cid, chats, feedback_note])
        chats.input(open_chat, [chats, owner, key], [chatbot, sources, cid, feedback_note])
        delete_btn.click(delete_chat, [cid, owner, key], [chatbot, sources, cid, chats, feedback_note])
        chatbot.select(show_sources, [cid, owner, key], [sources])
        chatbot.like(like, [cid, owner, key], [feedback_note, rated])
        comment_btn.click(save_comment, [rated, comment], [feedback_note, comment])
        comment.submit(save_comment, [rated, comment], [feedback_note, comment])
        search_btn.click(search, [query, search_k], [results])
        query.submit(search, [query, search_k], [results])
        docs_outputs = [docs_status, table, doc_pick]
        refresh.click(documents_view, None, docs_outputs).then(status_markdown, None, [status])
        upload_btn.click(upload, [files, key], [upload_result, *docs_outputs], concurrency_id="write").then(
            status_markdown, None, [status]
        )
        doc_delete.click(delete_doc, [doc_pick, key], [upload_result, *docs_outputs], concurrency_id="write").then(
            status_markdown, None, [status]
        )
        doc_pick.input(view_doc, [doc_pick], [doc_text])
        demo.load(ensure_owner, [owner], [owner]).then(status_markdown, None, [status]).then(
            documents_view, None, docs_outputs
        ).then(conversation_choices, [owner, key], [chats])
        key.change(conversation_choices, [owner, key], [chats])
    blocks: gr.Blocks = demo
    return blocks


def database_path(settings: Settings) -> Path:
    """Where conversations and feedback are kept: ``RAG_UI__DB``, or ``ui.sqlite`` in the index folder."""
    return Path(settings.ui.db) if settings.ui.db else Path(settings.index.dir) / "ui.sqlite"


def mount_ui(app: FastAPI, *, holder: PipelineHolder | None = None, path: str = PATH) -> FastAPI:
    """Serve the UI inside ``app`` (built by ``rag.api.create_app``, whose live pipeline it uses) at ``path``
    in the configured language and at ``path/en`` or ``path/zh`` in the other; ``/`` redirects to it. Call it
    after every API route is added: the API keeps ``/ask``, ``/docs``, ``/documents``, ``/v1``…"""
    live: PipelineHolder = holder or app.state.live
    settings = live.settings
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
        (build_ui(live, store=store, lang=other, other_lang_href=f"{path}/"), f"{path}/{other}"),
        (build_ui(live, store=store, lang=lang, other_lang_href=f"{path}/{other}/"), path),
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
