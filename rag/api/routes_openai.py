"""`/v1/chat/completions` and `/v1/models`: the corpus behind any OpenAI-compatible client."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, StreamingResponse

from rag.api import openai_compat
from rag.api.deps import KbsDep
from rag.api.schemas import STREAM_RESPONSE, ChatCompletionRequest

router = APIRouter(prefix="/v1", tags=["openai"])


@router.get("/models", summary="The answer backends and the knowledge bases, as models")
async def models(kbs: KbsDep) -> dict[str, Any]:
    return openai_compat.list_models(await run_in_threadpool(kbs.names))


@router.post(
    "/chat/completions",
    response_model=None,
    summary="Answer the last user message (OpenAI format, `citations` added)",
    responses={200: {"content": {"application/json": {}, **STREAM_RESPONSE["content"]}}},
)
async def chat_completions(body: ChatCompletionRequest, kbs: KbsDep) -> JSONResponse | StreamingResponse:
    kb, backend = openai_compat.route_model(body.model, kbs.exists)
    question = body.question()
    stream = await run_in_threadpool(
        lambda: kbs.ask_stream(
            question, kbs=[kb] if kb else [], top_k=body.top_k, backend=backend, history=body.turns()
        )
    )
    if body.stream:
        return StreamingResponse(
            openai_compat.completion_chunks(stream, model=body.model), media_type="text/event-stream"
        )
    answer = await run_in_threadpool(stream.read)
    return JSONResponse(openai_compat.completion(answer, model=body.model))
