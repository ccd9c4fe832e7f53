"""POST /complete and POST /complete/stream, in the three variants.

The variant is chosen at start-up (FASTAPI_VARIANT) and only one router is mounted:

- ``router`` (async): ``async def`` endpoints awaiting the async upstream client.
- ``sync_router`` (sync): ``def`` endpoints that Starlette runs in its threadpool, with a
  sync client; the stream is a sync generator that Starlette also iterates there.
- ``blocking_router`` (blocking, TEACHING ONLY): ``async def`` endpoints that call the
  sync client directly and so block the event loop for the whole upstream call.

All three share paths, operation ids, documentation and wire format.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterator
from typing import Any

from fastapi import APIRouter
from starlette.responses import StreamingResponse

from fastapi_app import events
from fastapi_app.dependencies import LLMDep, SyncLLMDep
from fastapi_app.schemas import (
    STREAM_EVENT_SCHEMA,
    CompletionRequest,
    CompletionResponse,
    ErrorResponse,
)
from fastapi_app.services.llm import StreamItem, UpstreamError


class EventStreamResponse(StreamingResponse):
    """A streamed `text/event-stream` response."""

    media_type = "text/event-stream"


_ERROR_DESCRIPTIONS = {
    413: "Request body larger than 64 KiB",
    502: "Upstream failed or answered nonsense",
    503: "Upstream rate limit (Retry-After passed on)",
    504: "Upstream timed out",
}
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": text}
    for status, text in _ERROR_DESCRIPTIONS.items()
}
# With an event-stream response class FastAPI would file `model` responses under
# text/event-stream too, so the stream route names the JSON error schema itself.
STREAM_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Server-sent events",
        "content": {
            "text/event-stream": {
                "schema": STREAM_EVENT_SCHEMA,
                "example": (
                    'data: {"delta": "Hello"}\n\n'
                    'data: {"delta": " world"}\n\n'
                    'event: done\ndata: {"tokens_used": 12}\n\n'
                ),
            }
        },
    },
    **{
        status: {
            "description": text,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}
            },
        }
        for status, text in _ERROR_DESCRIPTIONS.items()
    },
}
COMPLETE_DESCRIPTION = "Answer the prompt with one non-streaming upstream chat completion."
STREAM_DESCRIPTION = (
    "Relay one streaming upstream chat completion as server-sent events: "
    '`data: {"delta": ...}` per content chunk, then `event: done` with '
    '`{"tokens_used": N}`. A failure after the first event is reported as '
    '`event: error` with `{"detail": ...}`.'
)

router = APIRouter(tags=["completions"])
sync_router = APIRouter(tags=["completions"])
blocking_router = APIRouter(tags=["completions"])


# --- async: the default -------------------------------------------------------------


@router.post(
    "/complete",
    operation_id="complete",
    summary="Complete a prompt",
    description=COMPLETE_DESCRIPTION,
    responses=ERRORS,
)
async def complete(body: CompletionRequest, llm: LLMDep) -> CompletionResponse:
    """Answer a prompt with one upstream completion."""
    text, tokens_used = await llm.complete(body.prompt, body.max_tokens)
    return CompletionResponse(response=text, tokens_used=tokens_used)


@router.post(
    "/complete/stream",
    operation_id="complete_stream",
    summary="Stream a completion",
    description=STREAM_DESCRIPTION,
    response_class=EventStreamResponse,
    responses=STREAM_RESPONSES,
)
async def complete_stream(body: CompletionRequest, llm: LLMDep) -> EventStreamResponse:
    """Relay the upstream token stream as server-sent events."""
    items = llm.stream(body.prompt, body.max_tokens)
    # Waiting for the first item lets a failure before any token keep its HTTP status.
    first = await anext(items)
    return EventStreamResponse(_relay(first, items), headers=events.SSE_HEADERS)


async def _relay(
    first: StreamItem, items: AsyncGenerator[StreamItem, None]
) -> AsyncIterator[bytes]:
    try:
        yield events.encode(first)
        async for item in items:
            yield events.encode(item)
    except UpstreamError as exc:
        yield events.error(exc.detail)
    finally:
        # Release the upstream connection now if the client went away mid-stream.
        await items.aclose()


# --- sync: def endpoints in Starlette's threadpool ----------------------------------


@sync_router.post(
    "/complete",
    operation_id="complete",
    summary="Complete a prompt",
    description=COMPLETE_DESCRIPTION,
    responses=ERRORS,
)
def complete_sync(body: CompletionRequest, llm: SyncLLMDep) -> CompletionResponse:
    """Answer a prompt with one upstream completion, holding a threadpool thread."""
    text, tokens_used = llm.complete(body.prompt, body.max_tokens)
    return CompletionResponse(response=text, tokens_used=tokens_used)


@sync_router.post(
    "/complete/stream",
    operation_id="complete_stream",
    summary="Stream a completion",
    description=STREAM_DESCRIPTION,
    response_class=EventStreamResponse,
    responses=STREAM_RESPONSES,
)
def complete_stream_sync(body: CompletionRequest, llm: SyncLLMDep) -> EventStreamResponse:
    """Relay the upstream token stream; Starlette pulls each event in the threadpool."""
    items = llm.stream(body.prompt, body.max_tokens)
    first = next(items)
    return EventStreamResponse(_relay_sync(first, items), headers=events.SSE_HEADERS)


def _relay_sync(first: StreamItem, items: Generator[StreamItem, None, None]) -> Iterator[bytes]:
    try:
        yield events.encode(first)
        for item in items:
            yield events.encode(item)
    except UpstreamError as exc:
        yield events.error(exc.detail)
    finally:
        items.close()


# --- blocking: TEACHING ONLY, the mistake of calling sync I/O inside async def -----


@blocking_router.post(
    "/complete",
    operation_id="complete",
    summary="Complete a prompt",
    description=COMPLETE_DESCRIPTION,
    responses=ERRORS,
)
async def complete_blocking(body: CompletionRequest, llm: SyncLLMDep) -> CompletionResponse:
    """Answer a prompt with a sync upstream call that blocks the event loop (teaching only)."""
    text, tokens_used = llm.complete(body.prompt, body.max_tokens)
    return CompletionResponse(response=text, tokens_used=tokens_used)


@blocking_router.post(
    "/complete/stream",
    operation_id="complete_stream",
    summary="Stream a completion",
    description=STREAM_DESCRIPTION,
    response_class=EventStreamResponse,
    responses=STREAM_RESPONSES,
)
async def complete_stream_blocking(body: CompletionRequest, llm: SyncLLMDep) -> EventStreamResponse:
    """Relay the upstream stream, blocking the event loop on every chunk (teaching only)."""
    items = llm.stream(body.prompt, body.max_tokens)
    first = next(items)
    return EventStreamResponse(_relay_blocking(first, items), headers=events.SSE_HEADERS)


async def _relay_blocking(
    first: StreamItem, items: Generator[StreamItem, None, None]
) -> AsyncIterator[bytes]:
    # An async generator over a sync iterator: Starlette awaits it on the event loop,
    # so every wait for the next upstream chunk stops every other request too.
    for event in _relay_sync(first, items):
        yield event
