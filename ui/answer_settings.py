"""The answer settings beside the chat: which generator backend answers and how many passages it reads."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from rag import registry
from ui.context import UIContext


@dataclass(frozen=True, slots=True)
class AnswerSettings:
    """The two inputs every question is asked with."""

    backend: gr.Dropdown
    top_k: gr.Slider


def generator_choices(default_backend: str) -> tuple[list[str], str]:
    """The registered generator backends, the configured one first when it is not registered, and that one."""
    backends = registry.available("generator")
    if default_backend not in backends:
        backends = [default_backend, *backends]
    return backends, default_backend


def build_answer_settings(ctx: UIContext) -> AnswerSettings:
    """A closed accordion with the backend dropdown and the ``top_k`` slider."""
    t = ctx.t
    backends, default_backend = generator_choices(ctx.svc.default_backend)
    with gr.Accordion(t["settings"], open=False):
        backend = gr.Dropdown(backends, value=default_backend, label=t["backend"])
        top_k = gr.Slider(1, 20, value=ctx.svc.top_k, step=1, label=t["top_k"])
    return AnswerSettings(backend, top_k)
