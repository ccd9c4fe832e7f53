"""Request and response shapes of the contract, as DRF serializers."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers


class StrictCharField(serializers.CharField):
    """A CharField that refuses numbers instead of turning them into text."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        value: str = super().to_internal_value(data)
        return value


class StrictIntegerField(serializers.IntegerField):
    """An IntegerField that refuses booleans and strings ("12"), which DRF would accept."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool | str):
            self.fail("invalid")
        value: int = super().to_internal_value(data)
        return value


class CompletionRequestSerializer(serializers.Serializer):
    """Body of both completion endpoints; unknown fields are ignored."""

    # No trimming: the prompt goes upstream exactly as sent, and "  " is 2 characters.
    prompt = StrictCharField(
        min_length=1, max_length=4000, allow_blank=False, trim_whitespace=False
    )
    max_tokens = StrictIntegerField(min_value=1, max_value=4096, default=512)


class CompletionSerializer(serializers.Serializer):
    """Answer of POST /complete."""

    response = serializers.CharField()
    tokens_used = serializers.IntegerField()


class ServiceStatusSerializer(serializers.Serializer):
    """Answer of GET /."""

    status = serializers.CharField()
    service = serializers.CharField()


class HealthSerializer(serializers.Serializer):
    """Answer of GET /health."""

    status = serializers.CharField()


class HelloSerializer(serializers.Serializer):
    """Answer of GET /hello."""

    message = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    """Every error except a validation error: {"detail": str}."""

    detail = serializers.CharField()


class FieldErrorSerializer(serializers.Serializer):
    """One invalid field: where it is, what is wrong, and the error code."""

    loc = serializers.ListField(child=serializers.CharField())
    msg = serializers.CharField()
    type = serializers.CharField()


class ValidationErrorSerializer(serializers.Serializer):
    """A rejected request body (422)."""

    detail = FieldErrorSerializer(many=True)
