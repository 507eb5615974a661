"""Operations: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.concurrency import run_in_threadpool

from rag.api.deps import ServiceDep, answer_limiter
from rag.api.metrics import CONTENT_TYPE, Metrics

router = APIRouter(tags=["operations"])


@router.get("/health", summary="Liveness: the process answers")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready", summary="Readiness: index and model loaded (503 otherwise)")
async def ready(service: ServiceDep) -> JSONResponse:
    status = await run_in_threadpool(service.status)  # a build published beside the server shows at once
    return JSONResponse(status, 200 if status["status"] == "ready" else 503)


@router.get("/metrics", response_class=PlainTextResponse, summary="Prometheus metrics")
async def metrics(request: Request, service: ServiceDep) -> PlainTextResponse:
    collector: Metrics = request.app.state.metrics
    live = service.live
    info: dict[str, Any] = live.describe() if live.ready else {}
    gauges = {
        "rag_ready": ("1 when the index and model are loaded.", 1.0 if live.ready else 0.0),
        "rag_index_documents": ("Documents in the live index.", float(info.get("documents", 0))),
        "rag_index_chunks": ("Chunks in the live index.", float(info.get("chunks", 0))),
        "rag_index_reloads": ("Index builds switched to since start.", float(live.reloads)),
    }
    turns = answer_limiter(request).statistics()
    gauges |= {
        "rag_answer_threads": ("Questions the local backend answers at once.", float(turns.total_tokens)),
        "rag_answers_running": ("Local answers being worked on now.", float(turns.borrowed_tokens)),
        "rag_answers_waiting": ("Local answers waiting for their turn.", float(turns.tasks_waiting)),
    }
    return PlainTextResponse(collector.render(gauges), media_type=CONTENT_TYPE)
