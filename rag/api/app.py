"""The FastAPI application: built by ``create_app(settings)``; the pipeline loads in ``lifespan``; one handler
maps the package's errors to HTTP statuses."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from rag import __version__, registry
from rag.api import routes_ask, routes_documents, routes_kbs, routes_openai, routes_ops
from rag.api.limits import BodyLimitMiddleware
from rag.api.metrics import Metrics, MetricsMiddleware
from rag.api.schemas import ERROR_RESPONSES
from rag.errors import (
    BackendUnavailableError,
    ConfigError,
    ConflictError,
    DocumentNotFoundError,
    FileTooLargeError,
    GenerationError,
    IndexBusyError,
    IndexMismatchError,
    IndexNotFoundError,
    IngestError,
    InvalidQueryError,
    KnowledgeBaseNotFoundError,
    NotReadyError,
    RAGError,
    ReadOnlyError,
    StorageFullError,
    UnauthorizedError,
    UnsupportedFileError,
)
from rag.kbs import DEFAULT_KB, KnowledgeBases
from rag.service import RagService, build_service
from rag.settings import Settings

STATUS: dict[type[RAGError], int] = {
    InvalidQueryError: 422,
    IngestError: 422,
    BackendUnavailableError: 400,
    UnauthorizedError: 401,
    ReadOnlyError: 403,
    DocumentNotFoundError: 404,
    KnowledgeBaseNotFoundError: 404,
    ConflictError: 409,
    IndexMismatchError: 409,
    IndexBusyError: 409,
    FileTooLargeError: 413,
    StorageFullError: 507,
    UnsupportedFileError: 415,
    GenerationError: 502,
    NotReadyError: 503,
    IndexNotFoundError: 503,
    ConfigError: 500,
}

DESCRIPTION = """
Grounded question answering over Chinese reports: every answer cites the passages it comes from
(`[n]` markers, `citations[n-1]`), or says honestly that the corpus does not answer.

* `POST /ask` — the answer contract of `rag ask --json` (JSON or Server-Sent Events)
* `POST /v1/chat/completions`, `GET /v1/models` — for OpenAI-compatible clients
* `/documents` — list, read, upload and delete documents; the live index follows without a restart
* `/kbs` — knowledge bases (separate corpora): list, create from files, remove; `kb` in `/ask` and
  `/documents?kb=…`, a knowledge base's name as the model of `/v1/chat/completions`
* `/health`, `/ready`, `/metrics` — operations

Write endpoints need `Authorization: Bearer <key>` (or `X-API-Key`) when `RAG_API__KEY` is set.
"""


async def handle_validation_error(request: Request, exc: Exception) -> Response:
    """422 for a request that does not fit the schema. JSON with ASCII escapes: the errors echo the input, which
    may hold a lone surrogate that UTF-8 cannot encode (FastAPI's own handler then fails with a 500)."""
    errors = jsonable_encoder(exc.errors() if isinstance(exc, RequestValidationError) else [str(exc)])
    if request.url.path.startswith("/v1/"):
        message = "; ".join(str(e.get("msg", e)) if isinstance(e, dict) else str(e) for e in errors)
        body: dict[str, object] = {"error": {"message": message, "type": "invalid_request_error", "code": 422}}
    else:
        body = {"detail": errors}
    return Response(json.dumps(body, ensure_ascii=True), status_code=422, media_type="application/json")


async def handle_rag_error(request: Request, exc: Exception) -> JSONResponse:
    """The one mapping from errors to statuses; `/v1` routes answer in OpenAI's error format."""
    status = next((STATUS[c] for c in type(exc).__mro__ if c in STATUS), 500)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if request.url.path.startswith("/v1/"):
        body: dict[str, object] = {"error": {"message": str(exc), "type": type(exc).__name__, "code": status}}
    else:
        body = {"detail": str(exc), "type": type(exc).__name__}
        if isinstance(exc, BackendUnavailableError):
            body["available"] = registry.available("generator")
    return JSONResponse(body, status_code=status, headers=headers)


def create_app(
    settings: Settings,
    *,
    load_in_background: bool = True,
    service: RagService | None = None,
    load_now: bool = False,
) -> FastAPI:
    """The API over the service ``build_service(settings)`` makes (or ``service``). The model and index load
    when the app starts (in a thread when ``load_in_background``: `/health` answers at once and `/ready` says
    503 until they are in) — or, with ``load_now``, from here on, while the server (and the web UI) is still
    being set up."""
    service = service or build_service(settings, kb=DEFAULT_KB)
    loader: threading.Thread | None = None
    if load_in_background and load_now:
        loader = threading.Thread(target=service.live.load, name="rag-load-pipeline", daemon=True)
        loader.start()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if load_in_background:
            if loader is None:
                threading.Thread(target=service.live.load, name="rag-load-pipeline", daemon=True).start()
        else:
            service.live.load()
        yield

    app = FastAPI(
        title="rag — 中文报告问答",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        responses=ERROR_RESPONSES,  # every route documents the errors the one handler may answer with
    )
    app.state.metrics = metrics = Metrics()
    app.state.service = service  # the default knowledge base's
    app.state.kbs = KnowledgeBases(settings, default=service)
    app.state.settings = settings  # for an edge mounted beside the API (the web UI)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    mb = 1024 * 1024
    app.add_middleware(
        BodyLimitMiddleware,
        json_bytes=int(settings.api.max_body_mb * mb),
        upload_bytes=int(settings.api.max_upload_mb * settings.api.max_upload_files * mb + mb),
        upload_prefixes=("/documents",),
    )
    app.add_exception_handler(RAGError, handle_rag_error)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    for module in (routes_ask, routes_openai, routes_documents, routes_kbs, routes_ops):
        app.include_router(module.router)
    return app


def app_from_env() -> FastAPI:
    """`rag serve`'s app factory: the API from the RAG_* environment, loading in the background from now on."""
    return create_app(Settings(), load_now=True)


def worker_app_from_env() -> FastAPI:
    """The app of one of several server processes (`rag serve --workers N`): the model and index load before
    the process accepts connections, so no request meets a worker that is not ready."""
    return create_app(Settings(), load_in_background=False)
