"""The HTTP service (FastAPI): ``create_app(settings)``; `rag serve` runs it with uvicorn."""

from __future__ import annotations

from rag.api.app import create_app

__all__ = ["create_app"]
