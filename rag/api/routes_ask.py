"""`POST /ask`: the answer contract as JSON, or as Server-Sent Events."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, StreamingResponse

from rag.api.deps import PipelineDep
from rag.api.schemas import AnswerModel, AskRequest
from rag.api.streaming import renumbered, sse
from rag.errors import RAGError
from rag.pipeline import Pipeline
from rag.types import Answer

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
async def ask(body: AskRequest, request: Request, pipeline: PipelineDep) -> JSONResponse | StreamingResponse:
    """The answer, its exact short answer and the cited passages; `"stream": true` or `Accept: text/event-stream`
    streams it as Server-Sent Events."""
    if body.stream or "text/event-stream" in request.headers.get("accept", ""):
        await run_in_threadpool(pipeline.generator, body.backend)  # an unknown backend fails here, as a 400
        return StreamingResponse(ask_events(pipeline, body), media_type="text/event-stream")
    return JSONResponse(await run_in_threadpool(answer_dict, pipeline, body))


def answer_dict(pipeline: Pipeline, body: AskRequest) -> dict[str, object]:
    """The JSON answer, in one worker-thread hop (an unknown backend raises before any search, as a 400)."""
    pipeline.generator(body.backend)
    answer = pipeline.ask(
        body.question, top_k=body.top_k, backend=body.backend, history=body.turns(), **body.filter_kwargs()
    )
    return answer.to_dict()


def ask_events(pipeline: Pipeline, body: AskRequest) -> Iterator[str]:
    """Sync on purpose: Starlette pulls each event in a worker thread."""
    top_k = body.top_k or pipeline.settings.retrieval.top_k
    try:
        stream = pipeline.ask_stream(
            body.question, top_k=top_k, backend=body.backend, history=body.turns(), **body.filter_kwargs()
        )
        for item in renumbered(stream, top_k):
            if isinstance(item, Answer):
                yield sse("answer", item.to_dict())
            else:
                yield sse("piece", {"text": item})
    except RAGError as exc:
        yield sse("error", {"detail": str(exc), "type": type(exc).__name__})
    yield sse("done", {})
