"""`/v1/chat/completions` and `/v1/models`: the corpus behind any OpenAI-compatible client."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, StreamingResponse

from rag.api import openai_compat
from rag.api.deps import PipelineDep
from rag.api.schemas import STREAM_RESPONSE, ChatCompletionRequest
from rag.api.streaming import renumbered

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
async def chat_completions(body: ChatCompletionRequest, pipeline: PipelineDep) -> JSONResponse | StreamingResponse:
    backend = openai_compat.backend_for(body.model)
    question = body.question()
    await run_in_threadpool(pipeline.generator, backend)
    if body.stream:
        top_k = body.top_k or pipeline.settings.retrieval.top_k
        stream = pipeline.ask_stream(question, top_k=top_k, backend=backend, history=body.turns())
        items = renumbered(stream, top_k)
        return StreamingResponse(
            openai_compat.completion_chunks(items, model=body.model), media_type="text/event-stream"
        )
    answer = await run_in_threadpool(pipeline.ask, question, top_k=body.top_k, backend=backend, history=body.turns())
    return JSONResponse(openai_compat.completion(answer, model=body.model))
