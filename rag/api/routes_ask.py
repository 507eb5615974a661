"""`POST /ask`: the answer contract as JSON, or as Server-Sent Events."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, StreamingResponse

from rag.api.deps import KbsDep
from rag.api.schemas import AnswerModel, AskRequest
from rag.api.streaming import sse
from rag.citations import AnswerStream
from rag.errors import RAGError
from rag.kbs import KnowledgeBases

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
    stream = await run_in_threadpool(answer_stream, kbs, body)  # an unknown backend fails here, as a 400
    if body.stream or "text/event-stream" in request.headers.get("accept", ""):
        return StreamingResponse(events(stream), media_type="text/event-stream")
    answer = await run_in_threadpool(stream.read)
    return JSONResponse(answer.to_dict())


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
