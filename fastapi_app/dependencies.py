"""Annotated dependencies: the upstream client that the lifespan opened."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from fastapi_app.services.llm import AsyncLLM, SyncLLM

# These are `async def` on purpose: a plain `def` dependency would be sent to the
# threadpool just to read an attribute, and in the sync variant take a thread token.


async def get_llm(request: Request) -> AsyncLLM:
    """Return this worker's async upstream client."""
    llm: AsyncLLM = request.app.state.llm
    return llm


async def get_sync_llm(request: Request) -> SyncLLM:
    """Return this worker's sync upstream client."""
    llm: SyncLLM = request.app.state.llm
    return llm


LLMDep = Annotated[AsyncLLM, Depends(get_llm)]
SyncLLMDep = Annotated[SyncLLM, Depends(get_sync_llm)]
