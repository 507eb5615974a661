"""`/v1/chat/completions` and `/v1/models`: the corpus behind any OpenAI-compatible client."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, StreamingResponse

from rag.api import openai_compat
from rag.api.deps import ServiceDep
from rag.api.schemas import STREAM_RESPONSE, ChatCompletionRequest

router = APIRouter(prefix="/v1", tags=["openai"])


@router.get("/models", summary="The answer backends, as models")
async def models() -> dict[str, Any]:
    return openai_compat.list_models()


@router.post(
    "/chat/completions",
    response_model=None,
    summary="Answer the last user message (OpenAI format, `citations` added)",
    responses={200: {"content": {"application/json": {}, **STREAM_RESPONSE["content"]}}},
)
async def chat_completions(body: ChatCompletionRequest, service: ServiceDep) -> JSONResponse | StreamingResponse:
    backend = openai_compat.backend_for(body.model)
    question = body.question()
    stream = await run_in_threadpool(
        service.ask_stream, question, top_k=body.top_k, backend=backend, history=body.turns()
    )
    if body.stream:
        return StreamingResponse(
            openai_compat.completion_chunks(stream, model=body.model), media_type="text/event-stream"
        )
    answer = await run_in_threadpool(stream.read)
    return JSONResponse(openai_compat.completion(answer, model=body.model))
