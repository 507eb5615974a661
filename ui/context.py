"""What the UI builders share: the service, the conversation store and the interface strings
(``UIContext``), who may open which conversation, and the per-browser state (``Session``).

Event handlers are closures made once per interface, as Gradio wants them: it names each API endpoint after
its function (so the names stay), shows its docstring on the API page (so handlers have none), and queues
all the events of one function object together, one at a time (so each is wired as one object)."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import gradio as gr

from rag.kbs import KnowledgeBases
from rag.service import RagService
from ui import service
from ui.store import ConversationStore


@dataclass(frozen=True, slots=True)
class UIContext:
    """One interface's view of the app: the service it calls (the default knowledge base's; ``kbs``: all of
    them, for the chat), its conversations and ``t``, its strings."""

    svc: RagService
    store: ConversationStore
    t: Mapping[str, str]
    kbs: KnowledgeBases | None = None

    # Conversations belong to the browser that started them (an id kept in its localStorage); the holder of
    # the API key, when one is set, sees everyone's.
    def everyone(self, key: str | None) -> bool:
        return self.svc.needs_key and service.check_key(self.svc, key)

    def allowed(self, cid: str | None, owner: str, key: str | None) -> bool:
        return bool(cid) and (self.everyone(key) or (bool(owner) and self.store.owner_of(str(cid)) == owner))


def choices_handler(ctx: UIContext) -> Callable[[str, str | None], Any]:
    """The history dropdown's choices: this browser's conversations (everyone's with the key)."""

    def conversation_choices(owner: str, key: str | None) -> Any:
        items = [(c.title, c.id) for c in ctx.store.conversations(owner=owner or None, everyone=ctx.everyone(key))]
        return gr.update(choices=items)

    return conversation_choices


@dataclass(frozen=True, slots=True)
class Session:
    """Per-browser state: the open conversation, the browser's owner id and the last rated message."""

    cid: gr.State
    owner: gr.BrowserState
    rated: gr.State


def build_session(store: ConversationStore) -> Session:
    """The invisible state components; call inside the ``gr.Blocks``."""
    cid = gr.State(None)
    owner = gr.BrowserState("", storage_key="rag-owner", secret=store.secret())
    rated = gr.State(None)
    return Session(cid, owner, rated)


def ensure_owner(owner: str | None) -> str:  # a handler (no docstring): a new browser gets a random owner id
    return owner or secrets.token_urlsafe(16)
