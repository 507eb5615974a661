"""`POST /ask`: the answer contract as JSON, or as Server-Sent Events."""

from __future__ import annotations

from collections.abc import Iterator

import anyio
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, StreamingResponse

from rag.api.deps import KbsDep, answer_limiter
from rag.api.schemas import AnswerModel, AskRequest
from rag.api.streaming import sse
from rag.citations import AnswerStream
from rag.errors import RAGError
from rag.kbs import KnowledgeBases
from rag.pipeline import FALLBACK_BACKEND

router = APIRouter(tags=["ask"])

SSE_DOC = (
    '`event: piece` (`{"text": …}`) for each piece of the answer, then `event: answer` with the full answer '
    "(as the JSON response), then `event: done`."
)


@router.post(
    "/ask",
    summary="Answer a question from the corpus, with citations",
    response_model=AnswerModel,
    responses={200: {"content": {"text/event-stream": {"schema": {}, "example": SSE_DOC}}}},
)
async def ask(body: AskRequest, request: Request, kbs: KbsDep) -> JSONResponse | StreamingResponse:
    """The answer, its exact short answer and the cited passages; `"stream": true` or `Accept: text/event-stream`
    streams it as Server-Sent Events."""
    if body.stream or "text/event-stream" in request.headers.get("accept", ""):
        stream = await run_in_threadpool(answer_stream, kbs, body)  # an unknown backend fails here, as a 400
        return StreamingResponse(events(stream), media_type="text/event-stream")
    # One hop to a worker thread for the whole answer; the local backend's answers take turns on the cores.
    limiter = answer_limiter(request) if answers_locally(kbs, body) else None
    answer = await anyio.to_thread.run_sync(lambda: answer_stream(kbs, body).read(), limiter=limiter)
    return JSONResponse(answer.to_dict())


def answers_locally(kbs: KnowledgeBases, body: AskRequest) -> bool:
    """Whether the extractive backend answers (CPU-bound here), not an LLM server."""
    return (body.backend or kbs.settings.generator.backend) == FALLBACK_BACKEND


def answer_stream(kbs: KnowledgeBases, body: AskRequest) -> AnswerStream:
    return kbs.ask_stream(
        body.question,
        kbs=body.kbs(),
        top_k=body.top_k,
        backend=body.backend,
        history=body.turns(),
        filters=body.retrieval_filters(),
    )


def events(stream: AnswerStream) -> Iterator[str]:
    """Sync on purpose: Starlette pulls each event in a worker thread."""
    try:
        for piece in stream:
            yield sse("piece", {"text": piece})
        yield sse("answer", stream.answer.to_dict())
    except RAGError as exc:
        yield sse("error", {"detail": str(exc), "type": type(exc).__name__})
    yield sse("done", {})
