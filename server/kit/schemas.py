"""Base schemas: inputs forbid unknown fields and reject NUL/control characters; keyset pages."""
from __future__ import annotations

import base64
import binascii
import re
import types
import typing
from typing import Annotated, Any, ClassVar, Generic, TypeVar

import orjson
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationInfo, model_validator

from server.kit.errors import ValidationFailed

_BAD_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def find_control_chars(value: Any, path: str = "") -> str | None:
    """The path of the first string (or key) holding a control character, else None."""
    found = _control_chars_at(value)
    if found is None:
        return None
    return ".".join([path] * bool(path) + [str(p) for p in reversed(found)]) or "value"


def _control_chars_at(value: Any) -> list | None:
    """The path (innermost first) to the first control character, else None: the path is built only
    when there is one (every request body is searched)."""
    if isinstance(value, str):
        return [] if _BAD_CHARS.search(value) else None
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(k, str) and _BAD_CHARS.search(k):
                return [k]
            found = _control_chars_at(v)
            if found is not None:
                found.append(k)
                return found
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            found = _control_chars_at(v)
            if found is not None:
                found.append(i)
                return found
    return None


def _check_text(value: Any) -> None:
    where = find_control_chars(value)
    if where:
        raise ValueError(f"{where}: control characters are not allowed")


class _NotAnInteger:
    """Stands in for a boolean, string or float given where an integer is meant: pydantic refuses it
    as "a valid integer" at the field's own place (lines.0.quantity)."""
    __slots__ = ("given",)

    def __init__(self, given: Any):
        self.given = given

    def __repr__(self) -> str:
        return repr(self.given)


def _takes_int(annotation: Any) -> str | None:
    """'one' for an int field (int, int | None), 'many' for a list of ints, else None."""
    if annotation is int:
        return "one"
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _takes_int(typing.get_args(annotation)[0])
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if origin in (typing.Union, types.UnionType) and len(args) == 1:
        return _takes_int(args[0])
    if origin in (list, tuple, set, frozenset) and args and all(
            _takes_int(a) == "one" for a in args if a is not Ellipsis):
        return "many"
    return None


def _not_int(v: Any) -> bool:
    return isinstance(v, (bool, str, float))


class Schema(BaseModel):
    """Request body base: unknown fields are an error (clients never set price, status or owner), no
    control characters, and strict where a number is meant: an integer field takes an integer only
    (true, "1" and 1.0 are refused, naming the field; pydantic's lax mode took true as 1). Query
    strings are text by nature: QuerySchema stays lax ("?limit=20"), and so does a form of the web
    console, validated with context {"text": True} (an HTML form sends every field as text)."""
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    _strict_ints: ClassVar[bool] = True

    @model_validator(mode="before")
    @classmethod
    def _no_control_chars(cls, data: Any, info: ValidationInfo) -> Any:
        _check_text(data)
        if cls._strict_ints and isinstance(data, dict) and not (info.context or {}).get("text"):
            data = _refuse_loose_ints(cls, data)
        return data


_INT_FIELDS: dict[type, tuple[tuple[str, str], ...]] = {}


def int_fields(model: type[BaseModel]) -> tuple[tuple[str, str], ...]:
    """(input name, "one" or "list") of a model's integer fields."""
    plan = _INT_FIELDS.get(model)
    if plan is None:
        plan = _INT_FIELDS[model] = tuple(
            (f.alias or name, kind) for name, f in model.model_fields.items()
            if (kind := _takes_int(f.annotation)) is not None)
    return plan


def _refuse_loose_ints(model: type[BaseModel], data: dict) -> dict:
    out = data
    for key, kind in int_fields(model):
        v = data.get(key)
        if kind == "one":
            bad = _not_int(v)
            fixed = _NotAnInteger(v) if bad else v
        else:
            bad = isinstance(v, list) and any(_not_int(x) for x in v)
            fixed = [_NotAnInteger(x) if _not_int(x) else x for x in v] if bad else v
        if bad:
            if out is data:
                out = dict(data)
            out[key] = fixed
    return out


class QuerySchema(Schema):
    """Query-string base: unknown parameters are ignored; numbers come as text. Frozen: a parsed
    query may be shared by every request with the same query string (server.kit.http.parse_query)."""
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, frozen=True)
    _strict_ints: ClassVar[bool] = False


class Out(BaseModel):
    """Response base."""
    model_config = ConfigDict(from_attributes=True)


class ErrorBody(BaseModel):
    code: str = Field(description="stable machine-readable code (the catalogue: /docs/error-codes)")
    message: str
    details: Any = None
    aliases: list[str] | None = Field(None, description="the code's former names, for one release")


class ErrorEnvelope(BaseModel):
    error: ErrorBody


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(None, description="pass as ?cursor= for the next page; null at the end")


Text = Annotated[str, StringConstraints(max_length=2000)]
ShortText = Annotated[str, StringConstraints(max_length=200)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Phone = Annotated[str, StringConstraints(pattern=r"^1[3-9]\d{9}$")]
Limit = Annotated[int, Field(20, ge=1, le=100)]


def encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(values)).decode().rstrip("=")


def decode_cursor(cursor: str | None, arity: int) -> list[Any] | None:
    """Decode a keyset cursor; a malformed one is a 422 naming `cursor`."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = orjson.loads(raw)
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        raise ValidationFailed.field("cursor", "malformed cursor") from None
    if not isinstance(values, list) or len(values) != arity or not all(
            isinstance(v, (int, str)) and not isinstance(v, bool) for v in values):
        raise ValidationFailed.field("cursor", "malformed cursor")
    for v in values:
        if isinstance(v, int) and not (-(2**63) < v < 2**63):
            raise ValidationFailed.field("cursor", "malformed cursor")
    return values


class PageQuery(QuerySchema):
    """?cursor=&limit= of a keyset page (server.kit.db.id_page)."""
    cursor: str | None = Field(None, max_length=200)
    limit: Limit = 20
