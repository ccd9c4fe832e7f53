"""The request body parser: DRF's JSONParser behind Django's body-size limit."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class LimitedJSONParser(JSONParser):
    """Parse JSON read through HttpRequest.body, so DATA_UPLOAD_MAX_MEMORY_SIZE holds."""

    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        # DRF hands parsers the raw request stream, which bypasses the size check that
        # Django makes only in HttpRequest.body; reading .body raises RequestDataTooBig.
        body: bytes = parser_context["request"].body if parser_context else stream.read()
        try:
            return super().parse(io.BytesIO(body), media_type, parser_context)
        except RecursionError as exc:
            # JSON nested deeper than the json module's recursion limit (about 1000
            # levels: `[[[[...]]]]` a few thousand deep is valid JSON well under 64 KiB)
            # raises RecursionError, which JSONParser does not turn into a ParseError as
            # it does a ValueError: it would be an uncaught 500 with a logged traceback.
            # A ParseError is the 422 at ["body"] of any body that cannot be parsed.
            raise ParseError("JSON parse error - nested too deeply") from exc
