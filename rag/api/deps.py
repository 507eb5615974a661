"""FastAPI dependencies: the app's service, the API key of write endpoints (checked by the service), and the
turns local answers take on the cores."""

from __future__ import annotations

from typing import Annotated

import anyio
from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from rag.kbs import KnowledgeBases
from rag.machine import available_cpus
from rag.service import RagService

_bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer <RAG_API__KEY>`")
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="`X-API-Key: <RAG_API__KEY>`")


def get_service(request: Request) -> RagService:
    service: RagService = request.app.state.service
    return service


def given_key(
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    api_key: Annotated[str | None, Security(_api_key)],
) -> str | None:
    """The key the request sent, if any (``X-API-Key`` or ``Authorization: Bearer``)."""
    return api_key or (bearer.credentials if bearer else None)


def require_key(
    service: Annotated[RagService, Depends(get_service)], key: Annotated[str | None, Depends(given_key)]
) -> None:
    """Write endpoints need the key when ``RAG_API__KEY`` is set (checked before the body is read)."""
    service.check_key(key)


def get_kbs(request: Request) -> KnowledgeBases:
    kbs: KnowledgeBases = request.app.state.kbs
    return kbs


ServiceDep = Annotated[RagService, Depends(get_service)]
KbsDep = Annotated[KnowledgeBases, Depends(get_kbs)]
KeyDep = Depends(require_key)
KeyValue = Annotated[str | None, Depends(given_key)]


def answer_limiter(request: Request) -> anyio.CapacityLimiter:
    """The app's turns for local answers (``RAG_API__ANSWER_THREADS``), made in the event loop at first use."""
    state = request.app.state
    limiter: anyio.CapacityLimiter | None = getattr(state, "answer_limiter", None)
    if limiter is None:
        # Twice the cores: an answer waiting for the reader's windows (run outside the interpreter lock) leaves
        # its core to another; at the cores alone, reader-heavy news questions lost 12 % (BENCHMARKS.md).
        turns = state.settings.api.answer_threads or 2 * available_cpus()
        limiter = state.answer_limiter = anyio.CapacityLimiter(turns)
    return limiter
