"""Request and response shapes of the contract, as DRF serializers."""

from __future__ import annotations

from typing import Any

from django.core.validators import ProhibitNullCharactersValidator
from rest_framework import serializers

from drf_app.completions.llm.base import Completion


class StrictCharField(serializers.CharField):
    """A CharField that refuses numbers instead of turning them into text."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        value: str = super().to_internal_value(data)
        return value


class PromptField(StrictCharField):
    """Any string, NUL included: the contract's prompt is any text of 1..4000 characters.

    CharField always appends Django's ProhibitNullCharactersValidator, a guard for
    databases that cannot store NUL (PostgreSQL); nothing is stored here and the prompt
    goes upstream as sent, so this field drops that validator and keeps the others
    (lengths, and DRF's refusal of lone surrogates).
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.validators = [
            validator
            for validator in self.validators
            if not isinstance(validator, ProhibitNullCharactersValidator)
        ]


class StrictIntegerField(serializers.IntegerField):
    """An IntegerField that refuses booleans and strings ("12"), which DRF would accept.

    An integral float (1.0, 512.0) is an integer, as JSON Schema and the OpenAPI document
    (`type: integer`) count it, and becomes the int; 1.5 is refused.
    """

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool | str):
            self.fail("invalid")
        if isinstance(data, float):
            if not data.is_integer():
                self.fail("invalid")
            # DRF would go through str(data), which spells 1e16 "1e+16" and refuses it.
            data = int(data)
        value: int = super().to_internal_value(data)
        return value


class CompletionRequestSerializer(serializers.Serializer[dict[str, Any]]):
    """Body of both completion endpoints; unknown fields are ignored."""

    # No trimming: the prompt goes upstream exactly as sent, and "  " is 2 characters.
    prompt = PromptField(min_length=1, max_length=4000, allow_blank=False, trim_whitespace=False)
    max_tokens = StrictIntegerField(min_value=1, max_value=4096, default=512)


class CompletionSerializer(serializers.Serializer[Completion]):
    """Answer of POST /complete, from the upstream's Completion."""

    response = serializers.CharField(source="text")
    tokens_used = serializers.IntegerField()


class ServiceStatusSerializer(serializers.Serializer[dict[str, Any]]):
    """Answer of GET /."""

    status = serializers.CharField()
    service = serializers.CharField()


class HealthSerializer(serializers.Serializer[dict[str, Any]]):
    """Answer of GET /health."""

    status = serializers.CharField()


class HelloSerializer(serializers.Serializer[dict[str, Any]]):
    """Answer of GET /hello."""

    message = serializers.CharField()


class ErrorSerializer(serializers.Serializer[dict[str, Any]]):
    """Every error except a validation error: {"detail": str}."""

    detail = serializers.CharField()


class FieldErrorSerializer(serializers.Serializer[dict[str, Any]]):
    """One invalid field: where it is, what is wrong, and the error code."""

    loc = serializers.ListField(child=serializers.CharField())
    msg = serializers.CharField()
    type = serializers.CharField()


class ValidationErrorSerializer(serializers.Serializer[dict[str, Any]]):
    """A rejected request body (422)."""

    detail = FieldErrorSerializer(many=True)
