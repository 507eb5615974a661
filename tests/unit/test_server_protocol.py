"""TCP_NODELAY on every served connection, also on the proto-0 listening socket that `--workers N` uses."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest
from uvicorn import Config
from uvicorn.protocols.http.auto import AutoHTTPProtocol
from uvicorn.server import ServerState

from rag.api.protocol import NoDelayHTTPProtocol


async def _app(scope: dict[str, Any], receive: Any, send: Any) -> None:  # never called: no request is sent
    raise AssertionError("no request expected")


async def _nodelay_of_accepted_connection(protocol_class: type) -> int:
    """Serve on a listening socket made as uvicorn makes it for worker processes (``proto`` 0), connect once,
    and read TCP_NODELAY on the server's side of the connection."""
    config = Config(app=_app, http=protocol_class, log_level="warning")
    config.load()
    state = ServerState()
    made: list[Any] = []

    def factory() -> Any:
        protocol = protocol_class(config=config, server_state=state, app_state={})
        made.append(protocol)
        return protocol

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # proto 0, as uvicorn's bind_socket()
    listener.bind(("127.0.0.1", 0))
    assert listener.proto == 0
    loop = asyncio.get_running_loop()
    server = await loop.create_server(factory, sock=listener)
    try:
        _, writer = await asyncio.open_connection(*listener.getsockname())
        for _ in range(100):
            if made and made[0].transport is not None:
                break
            await asyncio.sleep(0.01)
        assert made, "the server did not accept the connection"
        value = made[0].transport.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        writer.close()
        made[0].transport.close()
        return int(value)
    finally:
        server.close()
        await server.wait_closed()


def test_served_connections_have_nagle_off() -> None:
    assert asyncio.run(_nodelay_of_accepted_connection(NoDelayHTTPProtocol)) == 1


@pytest.mark.parametrize("protocol_class", [AutoHTTPProtocol])
def test_without_it_a_proto_zero_listener_leaves_nagle_on(protocol_class: type) -> None:
    """Why the protocol exists: asyncio only sets TCP_NODELAY when the socket's proto is TCP. Should asyncio or
    uvicorn change this, the override can go."""
    assert asyncio.run(_nodelay_of_accepted_connection(protocol_class)) == 0
