"""A test MCP server built with the official Python SDK (`mcp`), on loopback, in this process.

It serves streamable HTTP at `/mcp` (or, with `sse`, only the older HTTP+SSE transport: its event
stream at `/sse`, messages posted to `/messages/`) with two tools, `echo` and `add`, and demands a
bearer token:
a request without one of the tokens it accepts gets a 401 with a `WWW-Authenticate` challenge,
as RFC 6750 says. It keeps the `Authorization` header of every request and the names of the
tools called, so a test can see what reached it. `/token` is an OAuth token endpoint that
answers a `refresh_token` grant with a new access token (which the server then accepts).
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from typing import Any

import uvicorn
from mcp.server.mcpserver import MCPServer


class McpTestServer:
    def __init__(self, tokens: set[str], refresh_tokens: dict[str, str] | None = None, sse: bool = False) -> None:
        self.tokens = set(tokens)
        # refresh token -> the access token a refresh with it gets
        self.refresh_tokens = dict(refresh_tokens or {})
        self.authorizations: list[str | None] = []
        self.calls: list[str] = []
        self.refreshes: list[dict[str, str]] = []
        self._lock = threading.Lock()

        server = MCPServer("switchboard-test")

        @server.tool()
        def echo(text: str) -> str:
            """Says the text back."""
            with self._lock:
                self.calls.append("echo")
            return f"echo: {text}"

        @server.tool()
        def add(a: int, b: int) -> int:
            """Adds two numbers."""
            with self._lock:
                self.calls.append("add")
            return a + b

        inner = server.sse_app() if sse else server.streamable_http_app(streamable_http_path="/mcp")
        outer = self

        async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                await inner(scope, receive, send)
                return
            headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
            if scope["path"] == "/token":
                await outer._token(receive, send)
                return
            authorization = headers.get("authorization")
            with outer._lock:
                outer.authorizations.append(authorization)
            token = (authorization or "").removeprefix("Bearer ")
            if token not in outer.tokens:
                body = json.dumps({"error": "invalid_token"}).encode()
                await send({
                    "type": "http.response.start",
                    "status": 401,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"www-authenticate", b'Bearer realm="switchboard-test", error="invalid_token"'),
                    ],
                })
                await send({"type": "http.response.body", "body": body})
                return
            await inner(scope, receive, send)

        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the test MCP server did not start")
            time.sleep(0.02)
        port = self._server.servers[0].sockets[0].getsockname()[1]
        self.base = f"http://127.0.0.1:{port}"
        self.url = f"{self.base}/sse" if sse else f"{self.base}/mcp"

    async def _token(self, receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        form = dict(urllib.parse.parse_qsl(body.decode()))
        with self._lock:
            self.refreshes.append(form)
            access = self.refresh_tokens.get(form.get("refresh_token", ""))
            if form.get("grant_type") == "refresh_token" and access:
                self.tokens.add(access)
                status, answer = 200, {"access_token": access, "token_type": "Bearer", "expires_in": 3600}
            else:
                status, answer = 400, {"error": "invalid_grant"}
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": json.dumps(answer).encode()})

    def close(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)


def closed_port_url() -> str:
    """The URL of an MCP server that is not there: a loopback port nothing listens on."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/mcp"



if __name__ == "__main__":
    # For the bench (engine/examples/mcp_bench.rs): serves with the token given, prints its URL,
    # and stops when its standard input closes.
    import sys

    served = McpTestServer({sys.argv[1]})
    print(served.url, flush=True)
    sys.stdin.read()
    served.close()
