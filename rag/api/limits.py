"""Request body limits, enforced before a handler reads the body: a declared ``Content-Length`` over the limit
is refused at once (413, nothing read), and a body sent without one is counted as it streams in."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodyLimitMiddleware:
    """Caps request bodies: ``upload_bytes`` for ``POST /documents`` and the UI's uploads, ``json_bytes`` for
    every other request (questions, chat messages). The limits are settings (``RAG_API__MAX_BODY_MB``,
    ``RAG_API__MAX_UPLOAD_MB``)."""

    def __init__(self, app: ASGIApp, *, json_bytes: int, upload_bytes: int, upload_prefixes: tuple[str, ...]) -> None:
        self.app = app
        self.json_bytes = json_bytes
        self.upload_bytes = upload_bytes
        self.upload_prefixes = upload_prefixes

    def limit_for(self, path: str, method: str) -> int:
        if method == "POST" and any(path == p or path.startswith(p + "/") for p in self.upload_prefixes):
            return self.upload_bytes
        if "/gradio_api/upload" in path:  # the UI's file uploads (Gradio checks each file's size itself too)
            return self.upload_bytes
        return self.json_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"], scope["method"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(scope, send, limit)
            return
        seen = 0
        started = refused = False

        async def counted_receive() -> Message:
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    # Answer now and tell the app the client is gone: it stops reading, and whatever it
                    # would send is dropped (frameworks turn an exception raised here into a 400 of their own).
                    refused = True
                    if not started:
                        await _refuse(scope, send, limit)
                    return {"type": "http.disconnect"}
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if refused:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, counted_receive, tracked_send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(scope: Scope, send: Send, limit: int) -> None:
    message = f"the request body is over the {limit / 1024 / 1024:g} MB limit (RAG_API__MAX_BODY_MB / MAX_UPLOAD_MB)"
    if scope["path"].startswith("/v1/"):
        body: dict[str, Any] = {"error": {"message": message, "type": "RequestTooLargeError", "code": 413}}
    else:
        body = {"detail": message, "type": "RequestTooLargeError"}
    payload = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    # The body was not read: the client may still be sending it, so the connection is closed after this.
    headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
