"""Content negotiation for an API that has exactly one representation: JSON."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request


class JSONOnlyNegotiation(DefaultContentNegotiation):
    """Answer with the view's first renderer whatever Accept says; read bodies as JSON.

    The stream endpoint is asked for `Accept: text/event-stream` and answers it with
    a StreamingHttpResponse that no renderer touches; its errors are still JSON. DRF's
    default would refuse that Accept header with 406 before the view runs.
    """

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: Any = None
    ) -> tuple[BaseRenderer, str]:
        first = next(iter(renderers))
        return first, first.media_type

    def select_parser(self, request: Request, parsers: Iterable[BaseParser]) -> BaseParser | None:
        # A body sent without Content-Type is read as JSON, as the other services do.
        if not request.content_type:
            return next(iter(parsers))
        parser: BaseParser | None = super().select_parser(request, parsers)
        return parser
