"""The results model's one field table: each record's dataclass fields ARE the file's fields.

A record of bench.results.model is a frozen dataclass. Its fields, with their types,
decide its file form and its JSON schema; nothing else spells a field's name, so a new
figure is one field (and, when older files need it filled in, one migration):

- a field's JSON key is its name; a nested record is a nested object;
- `X | None` allows null; a field with a default may be missing from a file (an older
  writer left it out) and then takes its default; a field without one is required;
- `Mapping[str, X]` is an object, `tuple[X, ...]` and `list[X]` arrays, `Literal[...]`
  an enum, `bool`/`int`/`float`/`str` themselves, `Any` anything;
- a class with its own `to_dict`, `from_dict` and `JSON_SCHEMA` keeps the file form it
  defines (a load's `users` or `rate` key, the fault records);
- `DERIVED` (a class variable) names properties written to the file for its readers and
  never read back: verdicts are derived from the record, not stored into it;
- field metadata made by `json_key` renames a field in the file, by `json_schema` adds
  keywords to its schema (a minimum);
- a field declared with `unknown()` keeps the keys of a newer writer or another tool as
  they came, and writes them back.

Converters are built once per class (by `codec`), from the type hints.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Protocol, TypeVar, cast

T = TypeVar("T")
JSON = Any  # a value as json.loads returns it: any JSON shape is allowed
Schema = dict[str, Any]  # a JSON schema: keywords of any JSON shape

_UNKNOWN = "bench_unknown"
_EXTRA_SCHEMA = "bench_schema"
_KEY = "bench_key"
_WRITTEN = "bench_written"


def unknown() -> Any:
    """A field that keeps a newer writer's keys (a `dict[str, Any]`, default empty)."""
    return dataclasses.field(default_factory=dict, metadata={_UNKNOWN: True})


def json_key(key: str) -> dict[str, str]:
    """Field metadata: the JSON key differs from the name (`Run.info` is "run")."""
    return {_KEY: key}


def written(default: Any = None, factory: Callable[[], Any] | None = None, **schema: Any) -> Any:
    """A field with a default that every file of this version has all the same (the
    schema requires it): a figure that a record under construction may not know yet."""
    metadata = {_WRITTEN: True, _EXTRA_SCHEMA: schema}
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def json_schema(**schema: Any) -> dict[str, dict[str, Any]]:
    """Field metadata: JSON-schema keywords of the field's own (e.g. `minimum=1`)."""
    return {_EXTRA_SCHEMA: schema}


class SelfCoded(Protocol):
    """A record that defines its own file form."""

    JSON_SCHEMA: ClassVar[Schema]

    def to_dict(self) -> Mapping[str, JSON]: ...


@dataclass(frozen=True)
class _Field:
    name: str
    key: str
    dump: Callable[[Any], JSON]
    read: Callable[[JSON], Any]
    schema: Schema
    required: bool  # by the schema
    needed: bool  # to build the record (no default)


@dataclass(frozen=True)
class Codec:
    """How one record class is written, read and described."""

    cls: type
    fields: tuple[_Field, ...]
    derived: tuple[str, ...]
    derived_schema: dict[str, Schema]
    unknown_field: str | None

    def dump(self, record: Any) -> dict[str, JSON]:
        data = {f.key: f.dump(getattr(record, f.name)) for f in self.fields}
        for name in self.derived:
            data[name] = _dump_plain(getattr(record, name))
        if self.unknown_field:
            for key, value in getattr(record, self.unknown_field).items():
                data.setdefault(key, value)
        return data

    def read(self, data: Mapping[str, JSON]) -> Any:
        if not isinstance(data, Mapping):
            raise TypeError(f"{self.cls.__name__}: expected an object, got {data!r:.80}")
        values = {f.name: f.read(data[f.key]) for f in self.fields if f.key in data}
        missing = [f.key for f in self.fields if f.needed and f.key not in data]
        if missing:
            raise KeyError(f"{self.cls.__name__}: missing {', '.join(missing)}")
        if self.unknown_field:
            known = {f.key for f in self.fields} | set(self.derived)
            values[self.unknown_field] = {k: v for k, v in data.items() if k not in known}
        return self.cls(**values)

    def schema(self) -> Schema:
        properties = {f.key: f.schema for f in self.fields}
        properties.update(self.derived_schema)
        required = [f.key for f in self.fields if f.required] + list(self.derived)
        return {"type": "object", "required": required, "properties": properties}


_CODECS: dict[type, Codec] = {}


def codec(cls: type) -> Codec:
    """The converters of a record class, built on first use."""
    found = _CODECS.get(cls)
    if found is None:
        found = _CODECS[cls] = _build(cls)
    return found


def to_json(record: Any) -> dict[str, JSON]:
    """A record as its file stores it."""
    dumped: dict[str, JSON] = codec(type(record)).dump(record)
    return dumped


def from_json(cls: type[T], data: Mapping[str, JSON]) -> T:
    """Read a record of `cls` from its file form (KeyError/TypeError/ValueError if bad)."""
    return cast(T, codec(cls).read(data))


def schema_of(cls: type) -> Schema:
    """The JSON schema of a record class's file form."""
    return _schema(cls)


def _build(cls: type) -> Codec:
    hints = typing.get_type_hints(cls)
    built: list[_Field] = []
    unknown_field = None
    for item in dataclasses.fields(cls):
        if item.metadata.get(_UNKNOWN):
            unknown_field = item.name
            continue
        kind = hints[item.name]
        has_default = (
            item.default is not dataclasses.MISSING
            or item.default_factory is not dataclasses.MISSING
        )
        schema = {**_schema(kind), **item.metadata.get(_EXTRA_SCHEMA, {})}
        key = item.metadata.get(_KEY, item.name)
        required = not has_default or bool(item.metadata.get(_WRITTEN))
        built.append(
            _Field(item.name, key, _dumper(kind), _reader(kind), schema, required, not has_default)
        )
    derived = tuple(getattr(cls, "DERIVED", ()))
    derived_schema = {
        name: _schema(typing.get_type_hints(getattr(cls, name).fget)["return"]) for name in derived
    }
    return Codec(cls, tuple(built), derived, derived_schema, unknown_field)


# --- types ---------------------------------------------------------------------------


def _optional(kind: Any) -> Any | None:
    """For `X | None`, return X (None for any other type)."""
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(kind) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(kind)) == 2:
            return args[0]
    return None


def _self_coded(kind: Any) -> bool:
    return isinstance(kind, type) and hasattr(kind, "JSON_SCHEMA") and hasattr(kind, "from_dict")


def _is_record(kind: Any) -> bool:
    return isinstance(kind, type) and dataclasses.is_dataclass(kind)


def _dump_plain(value: Any) -> JSON:
    return value


def _dumper(kind: Any) -> Callable[[Any], JSON]:
    inner = _optional(kind)
    if inner is not None:
        dump_inner = _dumper(inner)
        return lambda v: None if v is None else dump_inner(v)
    if _self_coded(kind):
        return lambda v: dict(v.to_dict())
    if _is_record(kind):
        return lambda v: codec(kind).dump(v)
    origin = typing.get_origin(kind)
    if origin in (list, tuple, Sequence):
        dump_item = _dumper(typing.get_args(kind)[0])
        return lambda v: [dump_item(item) for item in v]
    if origin in (dict, Mapping):
        dump_value = _dumper(typing.get_args(kind)[1])
        return lambda v: {str(k): dump_value(item) for k, item in v.items()}
    return _dump_plain


def _reader(kind: Any) -> Callable[[JSON], Any]:
    inner = _optional(kind)
    if inner is not None:
        read_inner = _reader(inner)
        return lambda v: None if v is None else read_inner(v)
    if _self_coded(kind):
        return cast(Callable[[JSON], Any], kind.from_dict)
    if _is_record(kind):
        return lambda v: codec(kind).read(v)
    origin = typing.get_origin(kind)
    if origin in (list, tuple, Sequence):
        return _sequence_reader(kind, origin)
    if origin in (dict, Mapping):
        read_value = _reader(typing.get_args(kind)[1])
        return lambda v: {str(k): read_value(item) for k, item in v.items()}
    return _scalar_reader(kind)


def _sequence_reader(kind: Any, origin: Any) -> Callable[[JSON], Any]:
    args = typing.get_args(kind)
    if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
        readers = [_reader(a) for a in args]
        return lambda v: tuple(r(item) for r, item in zip(readers, v, strict=True))
    read_item = _reader(args[0])
    if origin is list:
        return lambda v: [read_item(item) for item in v]
    return lambda v: tuple(read_item(item) for item in v)


def _scalar_reader(kind: Any) -> Callable[[JSON], Any]:
    if kind is float:
        return float
    if kind is int:
        return int
    if kind is str:
        return str
    if kind is bool:
        return bool
    return _dump_plain  # Any, Literal: as they are (the schema checks a Literal)


_PRIMITIVES: dict[Any, str] = {bool: "boolean", int: "integer", float: "number", str: "string"}


def _schema(kind: Any) -> Schema:
    inner = _optional(kind)
    if inner is not None:
        return _nullable(_schema(inner))
    if kind in _PRIMITIVES:
        return {"type": _PRIMITIVES[kind]}
    if _self_coded(kind):
        return dict(kind.JSON_SCHEMA)
    if _is_record(kind):
        return codec(kind).schema()
    return _generic_schema(kind)


def _generic_schema(kind: Any) -> Schema:
    origin = typing.get_origin(kind)
    args = typing.get_args(kind)
    if origin is Literal:
        return {"enum": list(args)}
    if origin in (list, tuple, Sequence):
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            items = [_schema(a) for a in args]
            return {"type": "array", "prefixItems": items, "minItems": len(items),
                    "maxItems": len(items)}  # fmt: skip
        return {"type": "array", "items": _schema(args[0])}
    if origin in (dict, Mapping):
        return {"type": "object", "additionalProperties": _schema(args[1])}
    return {}  # Any


# Schemas that stay the same with "null" added to their type (an object with required
# properties would not: null has none, so it takes an anyOf).
_TYPE_WITH_NULL = {
    "type",
    "minimum",
    "exclusiveMinimum",
    "maximum",
    "additionalProperties",
    "items",
}


def _nullable(schema: Schema) -> Schema:
    kind = schema.get("type")
    if isinstance(kind, str) and set(schema) <= _TYPE_WITH_NULL:
        return {**schema, "type": [kind, "null"]}
    if "enum" in schema:
        return {"enum": [*schema["enum"], None]}
    return {"anyOf": [schema, {"type": "null"}]}
