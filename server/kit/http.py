"""Thin-handler plumbing: @endpoint parses and validates the body and query with pydantic,
authenticates and checks roles, calls the handler and serializes its result. It also records what
the OpenAPI generator publishes."""
from __future__ import annotations

import typing
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, Callable
from urllib.parse import unquote

import orjson
from pydantic import BaseModel, ValidationError
from sanic import HTTPResponse, Request

from server.kit import sessions
from server.kit.auth import Principal, authenticate, require_roles
from server.kit.errors import AppError, BadRequest, KitCode, NotFound, ValidationFailed
from server.kit.schemas import find_control_chars

MAX_ID = 2**63 - 1


@dataclass
class EndpointMeta:
    summary: str = ""
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: Any = None
    status: int = 200
    auth: str = "none"                       # none | optional | user
    roles: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    errors: tuple[int, ...] = ()
    request_content: dict | None = None      # non-JSON request bodies (multipart, XML)
    response_content: dict | None = None     # non-JSON responses (HTML, CSV, images)
    description: str = ""
    # A download the web console links to (an export, a label sheet, an archive): a GET that also
    # accepts the console's session cookie in place of the bearer token.
    session_ok: bool = False
    extra: dict = field(default_factory=dict)


def validation_details(exc: ValidationError, where: str) -> list[dict]:
    out = []
    for err in exc.errors(include_url=False, include_input=False):
        loc = ".".join(str(p) for p in err["loc"] if p != "__root__") or where
        out.append({"field": loc, "in": where, "message": err["msg"]})
    return out


def _fail(exc: ValidationError, where: str) -> ValidationFailed:
    details = validation_details(exc, where)
    first = details[0] if details else {"field": where, "message": "invalid"}
    return ValidationFailed(f"{first['field']}: {first['message']}", details=details)


def validate(model: type[BaseModel], data: Any, where: str) -> BaseModel:
    """Validate parsed input; a failure is a 422 whose details name the field."""
    bad = find_control_chars(data)
    if bad:
        raise ValidationFailed.field(bad, "control characters are not allowed")
    try:  # a form's fields are all text, as a query's are: numbers are parsed from it
        return model.model_validate(data, context={"text": True} if where == "form" else None)
    except ValidationError as exc:
        raise _fail(exc, where) from None


BODY_MEMO_MAX_BYTES = 1024


def parse_body(request: Request, model: type[BaseModel]) -> BaseModel:
    """The validated JSON body. A frozen model's result is kept per body, as parse_query keeps a
    query's: a crowd pressing one button (立即抢购) sends the same small body thousands of times."""
    raw = request.body
    memo_key = (model, raw) if raw and len(raw) <= BODY_MEMO_MAX_BYTES and model.model_config.get("frozen") else None
    if memo_key is not None:
        hit = _PARSED.get(memo_key)
        if hit is not None:
            return hit
    parsed = _parse_body(raw, model)
    if memo_key is not None:
        if len(_PARSED) >= PARSED_MAX:
            _PARSED.clear()
        _PARSED[memo_key] = parsed
    return parsed


def _parse_body(raw: bytes, model: type[BaseModel]) -> BaseModel:
    if not raw:
        data: Any = {}
    else:
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise BadRequest("the body is not valid JSON", code=KitCode.INVALID_JSON) from None
    if not isinstance(data, dict):
        raise ValidationFailed.field("body", "a JSON object is required")
    return validate(model, data, "body")


def _is_list(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin in (list, tuple, set):
        return True
    if origin is typing.Union or str(origin) == "types.UnionType":
        return any(_is_list(a) for a in typing.get_args(annotation))
    return False


_QUERY_PLANS: dict[type[BaseModel], tuple[tuple[str, bool], ...]] = {}


def _query_plan(model: type[BaseModel]) -> tuple[tuple[str, bool], ...]:
    """(parameter name, takes a list) per field; worked out once per model, not per request."""
    plan = _QUERY_PLANS.get(model)
    if plan is None:
        plan = _QUERY_PLANS[model] = tuple((f.alias or name, _is_list(f.annotation))
                                           for name, f in model.model_fields.items())
    return plan


_PARSED: dict[tuple[type[BaseModel], str], BaseModel] = {}
# The hot query strings are a few dozen (categories' first pages and sorts, the common searches);
# each entry is about 1 KB, and a stream of distinct cursors and searches keeps it full, so the
# bound is what it costs a process (at 4,096 a worker grew 4 MB over a day's first 100k requests).
PARSED_MAX = 256


def parse_query(request: Request, model: type[BaseModel]) -> BaseModel:
    """The validated query. A frozen model's result is kept per query string, so the hot pages (a
    category's first page, asked for by every visitor) skip parsing and validation."""
    frozen = model.model_config.get("frozen", False)
    if frozen:
        memo_key = (model, request.query_string)
        hit = _PARSED.get(memo_key)
        if hit is not None:
            return hit
    data: dict[str, Any] = {}
    args = request.args
    if args:
        for key, many in _query_plan(model):
            if key in args:
                data[key] = args.getlist(key) if many else args.get(key)
    parsed = validate(model, data, "query")
    if frozen:
        if len(_PARSED) >= PARSED_MAX:
            _PARSED.clear()
        _PARSED[memo_key] = parsed
    return parsed


def decode_path_param(name: str, value: str) -> str:
    """A percent-encoded path segment as text (400 naming the parameter if it is not UTF-8)."""
    try:
        return unquote(value, errors="strict")
    except UnicodeDecodeError:
        raise BadRequest(f"{name}: not valid percent-encoded UTF-8", code=KitCode.INVALID_PATH,
                         details=[{"field": name, "in": "path", "message": "not valid UTF-8"}]) from None


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The body of a streamed route (`stream=True`), refused with 413 once it is over max_bytes: a
    declared Content-Length over the limit before a byte is read, a chunked body as soon as it
    passes it. What is left of a refused body is never handed to anyone (Sanic discards it within
    its REQUEST_MAX_SIZE and closes the connection)."""
    too_large = AppError(f"the body is larger than {max_bytes} bytes",
                         code=KitCode.PAYLOAD_TOO_LARGE, status=413,
                         details=[{"field": "body", "message": f"at most {max_bytes} bytes"}])
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > max_bytes):
        request.stream.keep_alive = False
        raise too_large
    chunks, size = [], 0
    while (chunk := await request.stream.read()) is not None:
        size += len(chunk)
        if size > max_bytes:
            request.stream.keep_alive = False
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def render(result: Any, status: int) -> HTTPResponse:
    if isinstance(result, HTTPResponse):
        return result
    if result is None:
        return HTTPResponse(status=204)
    if isinstance(result, BaseModel):
        body = result.__pydantic_serializer__.to_json(result)
    else:
        body = orjson.dumps(result, option=orjson.OPT_NON_STR_KEYS)
    return HTTPResponse(body, status=status, content_type="application/json")


def endpoint(*, summary: str = "", body: type[BaseModel] | None = None,
             query: type[BaseModel] | None = None, response: Any = None, status: int = 200,
             auth: str | None = None, roles: tuple[str, ...] = (), tags: tuple[str, ...] = (),
             errors: tuple[int, ...] = (), request_content: dict | None = None,
             response_content: dict | None = None, description: str = "",
             session_ok: bool = False) -> Callable:
    """Declare a handler: fn(request, *, path params..., principal?, body?, query?)."""
    mode = auth or ("user" if roles else "none")
    meta = EndpointMeta(summary=summary, body=body, query=query, response=response, status=status,
                        auth=mode, roles=tuple(r.value if hasattr(r, "value") else r for r in roles),
                        tags=tags, errors=errors, request_content=request_content,
                        response_content=response_content, description=description,
                        session_ok=session_ok)

    def deco(fn: Callable) -> Callable:
        @wraps(fn)
        async def handler(request: Request, **kwargs: Any) -> HTTPResponse:
            for k, v in kwargs.items():
                if isinstance(v, int) and not (0 < v <= MAX_ID):
                    raise NotFound(f"{k} not found")
                if isinstance(v, str) and "%" in v:
                    # Sanic matches and hands over the path as sent: a client (wx.request, a
                    # browser) percent-encodes a Chinese value, which decodes here, once.
                    kwargs[k] = decode_path_param(k, v)
            if meta.auth == "user":
                header = request.headers.get("authorization")
                if header is None and meta.session_ok and request.method in ("GET", "HEAD") \
                        and sessions.COOKIE in request.cookies:
                    principal = await sessions.principal_of(request.cookies.get(sessions.COOKIE))
                else:
                    principal = await authenticate(header)
                require_roles(principal, meta.roles)
                request.ctx.principal = principal
                kwargs["principal"] = principal
            elif meta.auth == "optional":
                header = request.headers.get("authorization")
                principal: Principal | None = await authenticate(header) if header else None
                request.ctx.principal = principal
                kwargs["principal"] = principal
            if meta.body is not None:
                kwargs["body"] = parse_body(request, meta.body)
            if meta.query is not None:
                kwargs["query"] = parse_query(request, meta.query)
            return render(await fn(request, **kwargs), meta.status)

        handler.__kz_meta__ = meta  # type: ignore[attr-defined]
        return handler

    return deco
