"""FastAPI dependencies: the app's service, and the API key of write endpoints (checked by the service)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from rag.kbs import KnowledgeBases
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
