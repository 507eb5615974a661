"""`rag serve`'s app factory when the UI is installed: the API with the web UI mounted at /ui (the top layer
composes both; nothing below imports the UI)."""

from __future__ import annotations

import logging

from fastapi import FastAPI

from rag.api.app import app_from_env as api_from_env

log = logging.getLogger(__name__)


def app_from_env() -> FastAPI:
    """The API from the RAG_* environment with the web UI mounted. The API starts loading the index and the
    models first: importing the UI (Gradio, ~3 s) then overlaps with it."""
    api = api_from_env()
    from ui.app import PATH, mount_ui

    app = mount_ui(api)
    log.warning("web UI at %s", PATH)  # uvicorn shows warnings by default; the address matters to the operator
    return app
