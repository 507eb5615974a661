"""FastAPI dependencies: the live pipeline of the app, and the API key check of write endpoints."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from rag.api.errors import UnauthorizedError
from rag.api.live import LivePipeline
from rag.pipeline import Pipeline

_bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer <RAG_API__KEY>`")
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="`X-API-Key: <RAG_API__KEY>`")


def get_live(request: Request) -> LivePipeline:
    live: LivePipeline = request.app.state.live
    return live


def get_pipeline(request: Request) -> Pipeline:
    """The pipeline for this request (a sync dependency: FastAPI runs it in a worker thread, so a reload after
    a build published beside the server never blocks the event loop)."""
    return get_live(request).current()


def require_key(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    api_key: Annotated[str | None, Security(_api_key)],
) -> None:
    """Write endpoints need the key when ``RAG_API__KEY`` is set."""
    expected = get_live(request).settings.api.key
    if not expected:
        return
    given = api_key or (bearer.credentials if bearer else None)
    if given is None or not secrets.compare_digest(given.encode(), expected.encode()):
        raise UnauthorizedError("this endpoint needs the API key: send `Authorization: Bearer <key>` or `X-API-Key`")


PipelineDep = Annotated[Pipeline, Depends(get_pipeline)]
LiveDep = Annotated[LivePipeline, Depends(get_live)]
KeyDep = Depends(require_key)
