"""`rag serve`'s app factory when the UI is installed: the API with the web UI mounted at /ui (the top layer
composes both; nothing below imports the UI). The API is ready first; the UI is mounted once the index and
model are in, so importing Gradio (3 s of one core) never delays the answers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.routing import BaseRoute, Mount

from rag.api.app import app_from_env as api_from_env

log = logging.getLogger(__name__)

PATH = "/ui"  # ui.app.PATH, repeated so that this module imports no Gradio
# The UI waits at most this long for the pipeline before it is mounted anyway (it then shows the load error).
WAIT_FOR_PIPELINE_S = 60.0
LOADING_PAGE = """<!doctype html><html lang="zh"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="1"><title>rag — 正在加载</title></head>
<body style="font-family: sans-serif; margin: 3em">
<p>网页界面正在加载，请稍候…（问答接口 <a href="/docs">/docs</a> 已可用）</p>
<p>The web UI is loading; this page reloads itself.</p></body></html>"""


def app_from_env() -> FastAPI:
    """The API from the RAG_* environment, with the web UI mounted as soon as the pipeline is loaded."""
    return mount_ui_later(api_from_env())


def mount_ui_later(app: FastAPI, *, path: str = PATH) -> FastAPI:
    """Serve a self-reloading "loading" page (503) at ``path`` until the UI is built, then the UI itself. The UI
    is imported and built in a thread after the pipeline loads: on two cores, importing Gradio beside the load
    slowed both (one interpreter lock), and `/ready` came 2.5 s later (BENCHMARKS.md, "Ready")."""

    def loading() -> HTMLResponse:
        return HTMLResponse(LOADING_PAGE, status_code=503, headers={"Retry-After": "1"})

    def to_ui() -> RedirectResponse:
        return RedirectResponse(f"{path}/")

    before = len(app.router.routes)
    for at in (path, f"{path}/{{rest:path}}"):
        app.add_api_route(at, loading, methods=["GET", "HEAD"], include_in_schema=False)
    placeholders = app.router.routes[before:]
    app.add_api_route("/", to_ui, methods=["GET", "HEAD"], include_in_schema=False)
    app.state.ui_ready_at = None
    started = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(a: FastAPI) -> AsyncIterator[Any]:
        async with started(a) as state, contextlib.AsyncExitStack() as stack:
            task = asyncio.create_task(_mount_when_loaded(app, path, placeholders, stack))
            try:
                yield state
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    app.router.lifespan_context = lifespan
    return app


async def _mount_when_loaded(
    app: FastAPI, path: str, placeholders: list[BaseRoute], stack: contextlib.AsyncExitStack
) -> None:
    live = app.state.service.live
    deadline = time.monotonic() + WAIT_FOR_PIPELINE_S
    while not live.ready and live.error is None and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    try:
        before = len(app.router.routes)
        await asyncio.to_thread(_mount, app, path)
        mounts = [r for r in app.router.routes[before:] if isinstance(r, Mount)]
        for route in mounts:  # what Gradio runs in the lifespan of an app it is mounted in before the start
            gradio_app: Any = route.app
            await stack.enter_async_context(gradio_app.router.lifespan_context(gradio_app))
            blocks = gradio_app.get_blocks()
            blocks.run_startup_events()
            await blocks.run_extra_startup_events()
    except Exception:  # the API keeps serving; the loading page stays and the log says why
        log.exception("the web UI could not be built")
        return
    for placeholder in placeholders:
        app.router.routes.remove(placeholder)
    app.state.ui_ready_at = time.monotonic()
    log.warning("web UI at %s", path)  # uvicorn shows warnings by default; the address matters to the operator


def _mount(app: FastAPI, path: str) -> None:
    """Import Gradio and mount the UI, in a worker thread: inside an event loop of its own, which is closed
    after (outside a running loop Gradio opens loops it never closes)."""
    from ui.app import mount_ui

    mount: Callable[..., FastAPI] = mount_ui

    async def build() -> None:
        mount(app, path=path)

    asyncio.run(build())
