"""The answer settings beside the chat: which generator backend answers and how many passages it reads."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gradio as gr

from rag import registry
from rag.kbs import DEFAULT_KB
from ui.context import UIContext


@dataclass(frozen=True, slots=True)
class AnswerSettings:
    """The inputs every question is asked with: the backend, the passages it reads, the knowledge bases."""

    backend: gr.Dropdown
    top_k: gr.Slider
    kb: gr.Dropdown


def generator_choices(default_backend: str) -> tuple[list[str], str]:
    """The registered generator backends, the configured one first when it is not registered, and that one."""
    backends = registry.available("generator")
    if default_backend not in backends:
        backends = [default_backend, *backends]
    return backends, default_backend


def kb_names(ctx: UIContext) -> list[str]:
    """The knowledge bases one can ask, the default one first."""
    return [DEFAULT_KB, *(ctx.kbs.names() if ctx.kbs else [])]


def build_answer_settings(ctx: UIContext) -> AnswerSettings:
    """The knowledge base selector (several may be asked together), then a closed accordion with the backend
    dropdown and the ``top_k`` slider."""
    t = ctx.t
    backends, default_backend = generator_choices(ctx.svc.default_backend)
    kb = gr.Dropdown(kb_names(ctx), value=[DEFAULT_KB], multiselect=True, label=t["kb"], elem_id="rag-kb")
    with gr.Accordion(t["settings"], open=False):
        backend = gr.Dropdown(backends, value=default_backend, label=t["backend"])
        top_k = gr.Slider(1, 20, value=ctx.svc.top_k, step=1, label=t["top_k"])
    return AnswerSettings(backend, top_k, kb)


def kb_choices_handler(ctx: UIContext) -> Callable[[], Any]:
    """The selector's choices as they are now (a knowledge base made since the page was built shows up)."""

    def kb_choices() -> Any:
        return gr.update(choices=kb_names(ctx))

    return kb_choices
