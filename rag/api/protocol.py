"""uvicorn's HTTP/1.1 protocol with Nagle's algorithm off on every connection.

asyncio turns Nagle off only for sockets whose ``proto`` is TCP. The listening socket that uvicorn binds for
``--workers N`` is made with ``proto`` 0, so in worker processes the accepted connections keep Nagle on:
a response written as headers then body then waits for the client's delayed ACK, about 40 ms on Linux,
on every keep-alive request after the first. Setting TCP_NODELAY here makes both modes alike.
"""

from __future__ import annotations

import contextlib
import socket
from typing import Any

from uvicorn.protocols.http.auto import AutoHTTPProtocol


class NoDelayHTTPProtocol(AutoHTTPProtocol):  # type: ignore[misc,valid-type]
    """The protocol uvicorn would pick (httptools when installed, else h11), with TCP_NODELAY set."""

    def connection_made(self, transport: Any) -> None:
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)
