"""The chat tab: ask with the answer streamed in, start, open and delete conversations, rate an answer and
comment on it; beside the chat, the conversation list, the answer settings and the sources panel."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

import gradio as gr
from gradio.helpers import Examples

from rag.errors import RAGError
from ui import render, service
from ui.answer_settings import AnswerSettings, build_answer_settings
from ui.context import Session, UIContext
from ui.sources import build_sources_panel, no_sources_html, sources_handler
from ui.store import Message

ChatValue = list[dict[str, Any]]
# The handlers' types; ``Choices`` is ``ui.context.choices_handler``'s.
Choices = Callable[[str, str | None], Any]
AskUpdate = tuple[ChatValue, str, str, str | None, Any]  # chat, question box, sources, conversation, history
Ask = Callable[[str, str | None, str, float, list[str] | None, str, str | None], Iterator[AskUpdate]]
Cleared = tuple[ChatValue, str, None, Any, str]
Open = Callable[[str | None, str, str | None], tuple[ChatValue, str, str | None, str]]
Delete = Callable[[str | None, str, str | None], Cleared]
Like = Callable[[str | None, str, str | None, gr.LikeData], tuple[str, int | None]]
SaveComment = Callable[[int | None, str], tuple[str, str]]


def bubbles(messages: Sequence[Message]) -> ChatValue:
    """Stored messages as chat bubbles: the HTML they were shown with, or their escaped text."""
    return [{"role": m.role, "content": m.display or escape(m.content)} for m in messages]


def plain_history(messages: Sequence[Message]) -> list[dict[str, str]]:
    """Earlier turns as the pipeline takes them: plain text, failed turns left out."""
    return [{"role": m.role, "content": m.content} for m in messages if m.content]


@dataclass(frozen=True, slots=True)
class ChatTab:
    """The chat tab's components that its events read or write."""

    chatbot: gr.Chatbot
    question: gr.Textbox
    send: gr.Button
    stop: gr.Button
    examples: Examples  # what ``gr.Examples`` (a function) makes
    comment: gr.Textbox
    comment_btn: gr.Button
    feedback_note: gr.Markdown
    new_btn: gr.Button
    delete_btn: gr.Button
    chats: gr.Dropdown
    settings: AnswerSettings
    sources: gr.HTML


def build_chat_tab(ctx: UIContext, examples: Sequence[str]) -> ChatTab:
    """The chat on the left; the conversations, the answer settings and the sources on the right."""
    t = ctx.t
    with gr.Tab(t["tab_chat"], id="chat"), gr.Row(equal_height=False):
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
                    show_label=False, placeholder=t["question_ph"], elem_id="rag-question", scale=6, max_lines=4
                )
                send = gr.Button(t["send"], variant="primary", elem_id="rag-send", scale=1, min_width=80)
                stop = gr.Button(t["stop"], variant="stop", scale=1, min_width=80)
            examples_set = gr.Examples(examples=[[q] for q in examples], inputs=[question], label=t["examples"])
            with gr.Row():
                comment = gr.Textbox(show_label=False, placeholder=t["feedback_comment"], scale=5)
                comment_btn = gr.Button(t["feedback_save"], scale=1, min_width=80)
            feedback_note = gr.Markdown(elem_id="rag-feedback")
        with gr.Column(scale=2):
            with gr.Row():
                new_btn = gr.Button(t["new_chat"], elem_id="rag-new", size="sm")
                delete_btn = gr.Button(t["delete_chat"], size="sm", variant="secondary")
            chats = gr.Dropdown(label=t["history"], choices=[], elem_id="rag-history", interactive=True)
            settings = build_answer_settings(ctx)
            sources = build_sources_panel(t)
    return ChatTab(
        chatbot,
        question,
        send,
        stop,
        examples_set,
        comment,
        comment_btn,
        feedback_note,
        new_btn,
        delete_btn,
        chats,
        settings,
        sources,
    )


def ask_handler(ctx: UIContext, conversation_choices: Choices) -> Ask:
    """Stream the answer into a new bubble, then show it rendered with its sources; keep both turns (in a new
    conversation when none of this browser's is open)."""
    store, t = ctx.store, ctx.t

    def ask(
        question: str, cid: str | None, backend: str, top_k: float, kbs: list[str] | None, owner: str, key: str | None
    ) -> Iterator[AskUpdate]:
        q = (question or "").strip()
        if cid and not ctx.allowed(cid, owner, key):
            cid = None  # not this browser's conversation: start a new one
        earlier = store.messages(cid) if cid else []
        if not q:
            yield bubbles(earlier), "", gr.skip(), cid, gr.skip()
            return
        if cid is None:
            cid = store.create(q, owner=owner or None)
        history = plain_history(earlier)
        store.add_message(cid, "user", q)
        chat = [*bubbles(earlier), {"role": "user", "content": escape(q)}]
        yield [*chat, {"role": "assistant", "content": "…"}], "", gr.skip(), cid, conversation_choices(owner, key)
        text = ""
        try:
            stream = service.ask(
                ctx.svc, q, history=history, backend=backend, top_k=int(top_k), kbs=ctx.kbs, names=kbs or []
            )
            for piece in stream:
                text += piece
                yield [*chat, {"role": "assistant", "content": escape(text)}], "", gr.skip(), cid, gr.skip()
            answer = stream.answer
        except RAGError as exc:
            shown = render.error_html(str(exc), t)
            store.add_message(cid, "assistant", "", display=shown)
            yield [*chat, {"role": "assistant", "content": shown}], "", render.empty_html(str(exc)), cid, gr.skip()
            return
        contract = answer.to_dict()
        shown = render.answer_html(contract, t)
        docs = service.cited_doc_views(ctx.svc, ctx.kbs, answer.citations)
        panel = render.sources_html(contract, docs, t)
        store.add_message(cid, "assistant", answer.answer, display=shown, answer=contract, sources_html=panel)
        yield [*chat, {"role": "assistant", "content": shown}], "", panel, cid, gr.skip()

    return ask


def conversation_handlers(ctx: UIContext, conversation_choices: Choices) -> tuple[Callable[[], Cleared], Open, Delete]:
    """Start a new conversation, open one of this browser's (with its last sources), delete the open one."""
    store, t = ctx.store, ctx.t

    def new_chat() -> Cleared:
        return [], no_sources_html(t), None, gr.update(value=None), ""

    def open_chat(cid: str | None, owner: str, key: str | None) -> tuple[ChatValue, str, str | None, str]:
        if not cid or not ctx.allowed(cid, owner, key):
            return [], no_sources_html(t), None, ""
        messages = store.messages(cid)
        last = next((m.sources_html for m in reversed(messages) if m.sources_html), None)
        return bubbles(messages), last or no_sources_html(t), cid, ""

    def delete_chat(cid: str | None, owner: str, key: str | None) -> Cleared:
        if cid and ctx.allowed(cid, owner, key):
            store.delete(cid)
        cleared = new_chat()
        return cleared[0], cleared[1], None, conversation_choices(owner, key), ""

    return new_chat, open_chat, delete_chat


def feedback_handlers(ctx: UIContext) -> tuple[Like, SaveComment]:
    """Keep a thumbs up or down (or its removal) on an answer, then a comment on the rated answer."""
    store, t = ctx.store, ctx.t

    def like(cid: str | None, owner: str, key: str | None, evt: gr.LikeData) -> tuple[str, int | None]:
        index = evt.index if isinstance(evt.index, int) else None
        mine = cid is not None and ctx.allowed(cid, owner, key)
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

    return like, save_comment


def wire_chat(ctx: UIContext, tab: ChatTab, session: Session, key: gr.Textbox, conversation_choices: Choices) -> None:
    """The chat tab's events; ``key`` (the documents tab's API key box) lets its holder open every conversation.
    Asking runs in the ``ask`` concurrency group, which the stop button cancels."""
    ask = ask_handler(ctx, conversation_choices)
    new_chat, open_chat, delete_chat = conversation_handlers(ctx, conversation_choices)
    like, save_comment = feedback_handlers(ctx)
    cid, owner, rated = session.cid, session.owner, session.rated
    ask_inputs = [tab.question, cid, tab.settings.backend, tab.settings.top_k, tab.settings.kb, owner, key]
    ask_outputs = [tab.chatbot, tab.question, tab.sources, cid, tab.chats]
    asked = [
        tab.question.submit(ask, ask_inputs, ask_outputs, concurrency_id="ask"),
        tab.send.click(ask, ask_inputs, ask_outputs, concurrency_id="ask"),
        tab.examples.load_input_event.then(ask, ask_inputs, ask_outputs, concurrency_id="ask"),
    ]
    tab.stop.click(None, cancels=asked)
    tab.new_btn.click(new_chat, None, [tab.chatbot, tab.sources, cid, tab.chats, tab.feedback_note])
    tab.chats.input(open_chat, [tab.chats, owner, key], [tab.chatbot, tab.sources, cid, tab.feedback_note])
    tab.delete_btn.click(delete_chat, [cid, owner, key], [tab.chatbot, tab.sources, cid, tab.chats, tab.feedback_note])
    tab.chatbot.select(sources_handler(ctx), [cid, owner, key], [tab.sources])
    tab.chatbot.like(like, [cid, owner, key], [tab.feedback_note, rated])
    tab.comment_btn.click(save_comment, [rated, tab.comment], [tab.feedback_note, tab.comment])
    tab.comment.submit(save_comment, [rated, tab.comment], [tab.feedback_note, tab.comment])
