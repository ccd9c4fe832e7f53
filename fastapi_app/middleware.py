"""A pure ASGI middleware that refuses request bodies over a size limit with 413."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_BYTES = 65536


class BodyTooLarge(HTTPException):
    """Raised from `receive` once a streamed body passes the limit; answered as JSON 413."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(status_code=413, detail=f"request body exceeds {max_bytes} bytes")


class BodySizeLimitMiddleware:
    """Answer 413 to bodies over `max_bytes`, whether declared or sent in chunks.

    The refused body is read to its end and dropped before the answer, as uvicorn does
    with any body an app leaves unread: a pooled client sends its next request on the
    same connection, which gunicorn's ASGI worker closes after a 413 announcing
    keep-alive if the body was not all read (issue 12). A client that asked to send its
    body only once allowed (`Expect: 100-continue`) gets its 413 without sending it.

    Pure ASGI rather than BaseHTTPMiddleware, which would buffer and wrap every
    response, streams included.
    """

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        framing = _Framing.of(scope)
        if framing.chunked:
            await self.app(scope, self._counting(receive), send)
        elif framing.content_length is not None and _too_large(
            framing.content_length, self.max_bytes
        ):
            # The server delivers no more than Content-Length bytes, so the header decides.
            await self._refuse(scope, receive, send, drain=not framing.expects_continue)
        else:
            # A body within its declared size, or none (no Content-Length and no
            # Transfer-Encoding: HTTP/1.1 says there is no body).
            await self.app(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, *, drain: bool) -> None:
        if drain:
            await _drain(receive)
        error = BodyTooLarge(self.max_bytes)
        response = JSONResponse({"detail": error.detail}, status_code=413)
        await response(scope, receive, send)

    def _counting(self, receive: Receive) -> Receive:
        received = 0
        max_bytes = self.max_bytes

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    if message.get("more_body", False):
                        await _drain(receive)
                    raise BodyTooLarge(max_bytes)
            return message

        return counting_receive


@dataclass(frozen=True)
class _Framing:
    """How a request says its body is framed."""

    content_length: bytes | None
    chunked: bool
    expects_continue: bool

    @classmethod
    def of(cls, scope: Scope) -> _Framing:
        headers = dict(scope["headers"])
        return cls(
            content_length=headers.get(b"content-length"),
            chunked=b"transfer-encoding" in headers,
            expects_continue=headers.get(b"expect", b"").lower() == b"100-continue",
        )


async def _drain(receive: Receive) -> None:
    """Receive and drop the rest of the request body."""
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return


def _too_large(content_length: bytes, max_bytes: int) -> bool:
    try:
        return int(content_length) > max_bytes
    except ValueError:
        # The server rejects a malformed Content-Length before the app sees it.
        return False
