"""The OpenAI chat-completions format: answer backends as models, answers as completions and chunks."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from rag import registry
from rag.api.streaming import sse_data
from rag.citations import AnswerStream
from rag.errors import BackendUnavailableError, RAGError
from rag.types import Answer

MODEL_PREFIX = "rag-"


def model_ids() -> list[str]:
    return [MODEL_PREFIX + name for name in registry.available("generator")]


def list_models(kbs: Sequence[str] = ()) -> dict[str, Any]:
    """The backends that can run here (a registered backend whose library is not installed is left out), then
    the named knowledge bases."""
    ids = [MODEL_PREFIX + name for name in registry.installed("generator")] + list(kbs)
    return {"object": "list", "data": [{"id": m, "object": "model", "created": 0, "owned_by": "rag"} for m in ids]}


def route_model(model: str, is_kb: Callable[[str], bool]) -> tuple[str | None, str | None]:
    """The knowledge base and the answer backend a model id names: ``rag-<backend>``, ``<kb>``,
    ``<kb>/rag-<backend>`` (None: the default). ``is_kb`` is asked only of a name that is no backend's."""
    kb, _, rest = model.rpartition("/") if "/" in model else ("", "", model)
    if not kb and rest not in ("", "rag") and not rest.startswith(MODEL_PREFIX) and is_kb(rest):
        return rest, None
    if kb and not is_kb(kb):
        raise BackendUnavailableError(f"unknown knowledge base {kb!r} in model {model!r}; `GET /kbs` lists them")
    return kb or None, backend_for(rest)


def backend_for(model: str) -> str | None:
    """The answer backend a model id names (``rag`` alone: the configured default)."""
    if model in ("", "rag"):
        return None
    if model.startswith(MODEL_PREFIX) and model in model_ids():
        return model.removeprefix(MODEL_PREFIX)
    raise BackendUnavailableError(f"unknown model {model!r}; available: {', '.join(model_ids())}")


def _rag_fields(answer: Answer) -> dict[str, Any]:
    data = answer.to_dict()
    return {
        "citations": data["citations"],
        "rag": {k: v for k, v in data.items() if k not in ("answer", "citations")},
    }


def completion(answer: Answer, *, model: str) -> dict[str, Any]:
    """A ``chat.completion`` object; ``citations`` (and ``rag``: short answer, grounded, …) are extra fields."""
    return {
        "id": "chatcmpl-" + secrets.token_hex(12),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": answer.answer}, "finish_reason": "stop"}],
        **_rag_fields(answer),
    }


def completion_chunks(stream: AnswerStream, *, model: str) -> Iterator[str]:
    """``chat.completion.chunk`` events: the role, the text pieces, a last chunk with ``finish_reason`` and the
    citations, then ``[DONE]``."""
    base = {"id": "chatcmpl-" + secrets.token_hex(12), "object": "chat.completion.chunk", "created": int(time.time())}
    base["model"] = model

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        return sse_data({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra})

    yield chunk({"role": "assistant", "content": ""})
    try:
        for piece in stream:
            yield chunk({"content": piece})
        yield chunk({}, "stop", **_rag_fields(stream.answer))
    except RAGError as exc:  # headers are sent: report in the stream, the way OpenAI servers do
        yield sse_data({"error": {"message": str(exc), "type": type(exc).__name__, "code": None}})
    yield sse_data("[DONE]")
