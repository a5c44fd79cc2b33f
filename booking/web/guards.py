"""ASGI middleware for a desk on the public internet: security headers on every page and
route we serve, and a bound on request bodies that refuses (413) before buffering."""

from __future__ import annotations

import json

from starlette.routing import request_response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Our pages may be framed only by ourselves (the embed page frames the Calendly sandbox's
# page, which is ours); the inline Calendly embed is Calendly framed by us, not the reverse.
SECURITY_HEADERS = (
    (b"content-security-policy", b"frame-ancestors 'self'"),
    (b"x-frame-options", b"SAMEORIGIN"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
)


class SecurityHeaders:
    """Adds the security headers to every HTTP response (a header already set wins), and
    answers an API address holding control characters (which no route can match) with
    the API's own 404 envelope rather than a bare text page."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        if path.startswith("/api/") and any(ord(ch) < 32 or ord(ch) == 127 for ch in path):
            await _answer(send, 404, "not_found", "There is no such address in this API.")
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(n, v) for n, v in SECURITY_HEADERS if n not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, with_headers)


TOO_LARGE = "The request body is larger than we accept."


class _TooLarge(BaseException):  # not an Exception: FastAPI would turn it into a 400
    pass


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes with 413 and the usual error envelope
    (or ``refusal``, a page's own 413 response): at once when Content-Length says so, else
    as soon as the streamed body passes it."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        limit: int,
        message: str = TOO_LARGE,
        refusal: ASGIApp | None = None,
    ) -> None:
        self.app = app
        self.limit = limit
        self.message = message
        self.refusal = refusal

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.refusal is not None:
            await self.refusal(scope, receive, send)
        else:
            await _answer(send, 413, "too_large", self.message)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            await self._refuse(scope, receive, send)
            return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except _TooLarge:
            if not started:
                await self._refuse(scope, receive, send)


def bounded(endpoint, *, limit: int, message: str, refusal: ASGIApp | None = None) -> BodyLimit:
    """A request/response endpoint served behind ``BodyLimit`` (for a ``Route``)."""
    return BodyLimit(request_response(endpoint), limit=limit, message=message, refusal=refusal)


async def _answer(send: Send, status: int, code: str, message: str) -> None:
    """A JSON error in the API's envelope, with the security headers."""
    body = json.dumps({"success": False, "error": code, "message": message}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *SECURITY_HEADERS,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
