"""Sync upstream client on a raw urllib3.PoolManager (LLM_CLIENT=urllib3, the WSGI default)."""

from __future__ import annotations

import weakref
from collections.abc import Iterator

import orjson
import urllib3
from urllib3.exceptions import HTTPError, NewConnectionError, TimeoutError

from drf_app.completions.llm.base import (
    CHAT_PATH,
    STREAM_END,
    Chunk,
    Completion,
    Deadline,
    UpstreamError,
    chat_body,
    parse_chunk,
    parse_completion,
    sse_data,
)
from drf_app.request_id import HEADER
from drf_app.settings import LLMSettings

# The most bytes one read of a streamed body returns; a read returns as soon as any arrive.
_READ_SIZE = 65536


def _upstream_error(exc: HTTPError) -> UpstreamError:
    """Map a urllib3 failure: a timeout is 504; refused, reset, cut or garbled is 502."""
    # NewConnectionError (a refused connection) subclasses ConnectTimeoutError for
    # backward compatibility: it is an unreachable upstream, not a slow one.
    if isinstance(exc, TimeoutError) and not isinstance(exc, NewConnectionError):
        return UpstreamError.timeout()
    return UpstreamError.unreachable(exc)


def _body_parts(response: urllib3.BaseHTTPResponse) -> Iterator[bytes]:
    """Yield the body's bytes as they arrive, whatever its framing.

    read1 returns as soon as some bytes are there. stream(amt), and iterating the
    response by lines, which reads through stream(), return each HTTP chunk of a
    chunked body as it arrives, but on a body sized by Content-Length or by the
    connection's end they wait for amt (64 KiB) bytes or the end of the body.
    """
    return iter(lambda: response.read1(_READ_SIZE), b"")


def _lines(parts: Iterator[bytes]) -> Iterator[bytes]:
    """Cut a byte stream into lines as soon as each one is complete."""
    pending = b""
    for part in parts:
        pending += part
        *lines, pending = pending.split(b"\n")
        yield from lines
    if pending:
        yield pending


def _drain(parts: Iterator[bytes]) -> bool:
    """Read the body to its end; return whether the connection can serve another request."""
    try:
        for _ in parts:
            pass
    except HTTPError:
        return False
    return True


def _abandon(response: urllib3.BaseHTTPResponse) -> None:
    """Close a streamed response and free its pool slot (no-op once released)."""
    response.close()
    response.release_conn()


class Urllib3Client:
    """One urllib3.PoolManager per worker process, shared by its threads or greenlets."""

    def __init__(self, config: LLMSettings) -> None:
        self._model = config.model
        self._timeout_s = config.timeout_s
        self._url = config.base_url.rstrip("/") + CHAT_PATH
        self._headers = {
            "Authorization": f"Bearer {config.api_key}",
            "Content-Type": "application/json",
        }
        self._pool = urllib3.PoolManager(
            # Up to maxsize connections are kept alive. block=False: past it, extra
            # connections are opened and closed after use instead of making requests
            # wait, so the pool never caps concurrency (a worker's threads or greenlets
            # already do).
            maxsize=config.max_connections,
            block=False,
            # No retries and no redirects: one request, one upstream call.
            retries=False,
            # urllib3 times the connect and each read; Deadline bounds a whole stream.
            timeout=urllib3.Timeout(connect=config.timeout_s, read=config.timeout_s),
            headers=self._headers,
        )

    def _post(
        self, prompt: str, max_tokens: int, request_id: str | None, *, stream: bool
    ) -> urllib3.BaseHTTPResponse:
        """Send the request; return a 200 response (body unread when streaming) or raise."""
        body = orjson.dumps(chat_body(self._model, prompt, max_tokens, stream=stream))
        # Headers given to a request replace the pool's, rather than add to them.
        headers = self._headers
        if request_id is not None:
            headers = {**headers, HEADER: request_id}
        try:
            response = self._pool.request(
                "POST", self._url, body=body, headers=headers, preload_content=not stream
            )
        except HTTPError as exc:
            raise _upstream_error(exc) from None
        if response.status != 200:
            retry_after = response.headers.get("retry-after")
            # A short error body: read it so that the connection can be reused.
            response.drain_conn()
            response.release_conn()
            raise UpstreamError.from_status(response.status, retry_after)
        return response

    def complete(self, prompt: str, max_tokens: int, request_id: str | None = None) -> Completion:
        """Send one non-streaming request and return the whole answer."""
        return parse_completion(self._post(prompt, max_tokens, request_id, stream=False).data)

    def open_stream(
        self, prompt: str, max_tokens: int, request_id: str | None = None
    ) -> Iterator[Chunk]:
        """Start a streaming request; raise UpstreamError now if it fails to start.

        Returns:
            the chunks, read lazily; iterating raises UpstreamError on a later failure.
        """
        deadline = Deadline(self._timeout_s)
        response = self._post(prompt, max_tokens, request_id, stream=True)
        chunks = self._chunks(response, deadline)
        # A generator's `finally` runs only once it has started: if the reader drops the
        # chunks unread, the connection must still be closed and its slot given back.
        weakref.finalize(chunks, _abandon, response)
        return chunks

    @staticmethod
    def _chunks(response: urllib3.BaseHTTPResponse, deadline: Deadline) -> Iterator[Chunk]:
        parts = _body_parts(response)
        reusable = False
        try:
            for line in _lines(parts):
                deadline.check()
                data = sse_data(line)
                if data is None:
                    continue
                if data == STREAM_END:
                    # The body's end (the last chunk) comes with [DONE]: read it, so the
                    # connection goes back to the pool ready for the next request.
                    reusable = _drain(parts)
                    return
                chunk = parse_chunk(data)
                if chunk is not None:
                    yield chunk
        except HTTPError as exc:
            raise _upstream_error(exc) from None
        finally:
            if not reusable:
                # Left mid-body (a failure, or the reader stopped early): drop the connection.
                response.close()
            response.release_conn()
        raise UpstreamError(502, "upstream stream ended before [DONE]")

    def close(self) -> None:
        """Close every pooled connection."""
        self._pool.clear()
