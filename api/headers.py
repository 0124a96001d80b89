"""Headers on every answer: `Cache-Control: no-store` and `X-Content-Type-Options: nosniff`.

Answers carry resident IDs, risk and keys: no browser or proxy cache may keep them. A route
that sets its own Cache-Control (the workspace page's static files: `no-cache`) keeps it.
Pure ASGI, one header pass per answer.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

NO_STORE = (b"cache-control", b"no-store")
NOSNIFF = (b"x-content-type-options", b"nosniff")


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                names = {name.lower() for name, _ in headers}
                if NO_STORE[0] not in names:
                    headers.append(NO_STORE)
                if NOSNIFF[0] not in names:
                    headers.append(NOSNIFF)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
