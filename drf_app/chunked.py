"""Give a chunked request body (Transfer-Encoding: chunked, no Content-Length) a length.

Django and DRF size a request body by its Content-Length only. Under WSGI, WSGIRequest
reads at most CONTENT_LENGTH bytes (none when it is missing); under both WSGI and ASGI,
DRF's Request treats a missing Content-Length as "no body" and never parses it. A
chunked upload would reach the view as an empty body: "prompt required" instead of
its answer, and 422 instead of 413 past the 64 KiB limit.

These two middlewares, one per server interface, sit in front of Django in wsgi.py and
asgi.py. They read such a body up to one byte past DATA_UPLOAD_MAX_MEMORY_SIZE and
hand it on with the Content-Length it turned out to have, so that everything after
them stays Django's ordinary path: HttpRequest.body compares that length with
DATA_UPLOAD_MAX_MEMORY_SIZE and raises RequestDataTooBig (the same JSON 413 as for a
declared length, from the DRF exception handler), or DRF parses the body as usual.
Memory stays bounded: no more than the limit plus one read is ever held.

A request that declares its length, or has no body (HTTP/1.1: neither Content-Length
nor Transfer-Encoding), passes through untouched, so the probes pay one dict lookup.
"""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from django.conf import settings

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]

Scope = dict[str, Any]
Message = Mapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_READ_SIZE = 65536


def _read_limit() -> int | None:
    """How many bytes to read at most: one past Django's limit, so that it can fire."""
    limit: int | None = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return None if limit is None else limit + 1


class ChunkedBodyWSGIMiddleware:
    """Under WSGI: read a body of unknown length, then set CONTENT_LENGTH and wsgi.input.

    Only when the server says that wsgi.input ends where the body ends
    (`wsgi.input_terminated`, which gunicorn sets): PEP 3333 otherwise forbids reading
    past CONTENT_LENGTH, and a read could wait forever.
    """

    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        if (
            not environ.get("CONTENT_LENGTH")
            and "HTTP_TRANSFER_ENCODING" in environ
            and environ.get("wsgi.input_terminated")
        ):
            body = _read_wsgi_input(environ["wsgi.input"], _read_limit())
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
        return self.app(environ, start_response)


def _read_wsgi_input(stream: Any, limit: int | None) -> bytes:
    # read(n) may return fewer bytes than asked before the end: loop until b"".
    chunks: list[bytes] = []
    size = 0
    while limit is None or size < limit:
        chunk: bytes = stream.read(_READ_SIZE if limit is None else limit - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


class ChunkedBodyASGIMiddleware:
    """Under ASGI: gather the http.request messages of a body of unknown length, then
    replay them as one message, with a content-length header added to the scope.

    Past the limit the rest of the body is left unread: Django answers 413 from the
    content-length alone, and while it does, the messages that the client still sends
    are discarded. Django's ASGIHandler waits on `receive` for a disconnect once it has
    the body and would fail on a further http.request message.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _is_unsized(scope["headers"]):
            await self.app(scope, receive, send)
            return
        limit = _read_limit()
        chunks: list[bytes] = []
        size = 0
        more_body = True
        while more_body and (limit is None or size < limit):
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client left mid-body; Django would not answer either
            chunk: bytes = message.get("body", b"")
            chunks.append(chunk)
            size += len(chunk)
            more_body = message.get("more_body", False)
        body = b"".join(chunks)
        headers = [*scope["headers"], (b"content-length", str(len(body)).encode("ascii"))]
        replayed = False

        async def sized_receive() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    return message  # http.disconnect

        await self.app({**scope, "headers": headers}, sized_receive, send)


def _is_unsized(headers: Iterable[tuple[bytes, bytes]]) -> bool:
    # HTTP/1.1 (uvicorn, gunicorn's uvicorn worker): a body without Content-Length is
    # chunked; with neither header there is no body at all.
    # ASGI servers lower-case header names.
    chunked = False
    for name, _ in headers:
        if name == b"content-length":
            return False
        if name == b"transfer-encoding":
            chunked = True
    return chunked
