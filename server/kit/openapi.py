"""OpenAPI 3.1 generated from the @endpoint metadata and pydantic's own JSON Schema, so request and
response schemas (with `required`) are exactly what the server validates. Served at
/docs/openapi.json with Swagger UI (shipped in a Python package, no CDN) at /docs."""
from __future__ import annotations

import re
from typing import Any

from pydantic import TypeAdapter
from pydantic.json_schema import GenerateJsonSchema
from sanic import Sanic

from server.kit import auth as kauth
from server.kit import http as khttp
from server.kit.error_catalogue import codes_of
from server.kit.http import EndpointMeta
from server.kit.schemas import ErrorEnvelope

REF = "#/components/schemas/{model}"
ERROR_TEXT = {400: "Bad request", 401: "Not authenticated or token invalid", 403: "Role required",
              404: "Not found (or not yours)", 409: "Conflict with the current state",
              413: "Request too large", 422: "Validation failed; details name the field",
              429: "Rate limited",
              502: "Upstream service failed", 503: "Service unavailable"}
_PARAM = re.compile(r"<([a-zA-Z_][a-zA-Z0-9_]*)(?::([^>]+))?>")


def _path(route_path: str) -> tuple[str, list[tuple[str, str]]]:
    params = [(m.group(1), m.group(2) or "str") for m in _PARAM.finditer(route_path)]
    path = "/" + _PARAM.sub(lambda m: "{" + m.group(1) + "}", route_path).lstrip("/")
    return path, params


def build_spec(app: Sanic, *, title: str, version: str, description: str = "") -> dict:
    ops: list[tuple[str, str, list, EndpointMeta, Any]] = []
    for route in app.router.routes:
        meta: EndpointMeta | None = getattr(route.handler, "__kz_meta__", None)
        if meta is None:
            continue
        path, params = _path(route.path)
        for method in sorted(route.methods):
            if method in ("HEAD", "OPTIONS"):
                continue
            ops.append((path, method.lower(), params, meta, route.handler))

    # Every schema goes through one generator so that $refs share one components namespace.
    inputs: list[tuple[Any, str, Any]] = []
    for _, _, _, meta, _ in ops:
        if meta.body is not None:
            inputs.append((("body", meta.body), "validation", meta.body.__pydantic_core_schema__))
        if meta.query is not None:
            inputs.append((("query", meta.query), "validation", meta.query.__pydantic_core_schema__))
        if meta.response is not None:
            inputs.append((("resp", meta.response), "serialization",
                           TypeAdapter(meta.response).core_schema))
    inputs.append((("resp", ErrorEnvelope), "serialization", ErrorEnvelope.__pydantic_core_schema__))
    unique: dict[Any, tuple] = {}
    for item in inputs:
        unique.setdefault((item[0], item[1]), item)
    gen = GenerateJsonSchema(ref_template=REF)
    mapping, defs = gen.generate_definitions(list(unique.values()))
    schema_of = {k[0]: v for k, v in mapping.items()}

    def resolve(s: dict) -> dict:
        if "$ref" in s and len(s) == 1:
            return defs[s["$ref"].rsplit("/", 1)[1]]
        return s

    paths: dict[str, dict] = {}
    for path, method, params, meta, handler in ops:
        op: dict[str, Any] = {"operationId": f"{method}_{path.strip('/').replace('/', '_').replace('{', '').replace('}', '')}",
                              "summary": meta.summary, "responses": {}}
        if meta.description:
            op["description"] = meta.description
        if meta.auth != "none":
            # Who may call it: the roles @endpoint checks (any signed-in user when none is named;
            # nobody need sign in when authentication is optional).
            op["x-roles"] = list(meta.roles)
            who = ", ".join(meta.roles) if meta.roles else (
                "any signed-in user" if meta.auth == "user" else "none (a signed-in caller is recognised)")
            op["description"] = (op.get("description", "") + f"\n\nRoles: {who}.").lstrip()
        if meta.tags:
            op["tags"] = list(meta.tags)
        parameters = []
        for name, kind in params:
            if kind in ("int", "integer"):
                schema = {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}
            else:
                schema = {"type": "string", "minLength": 1}
            parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
        if meta.query is not None:
            qs = resolve(schema_of[("query", meta.query)])
            required = set(qs.get("required", []))
            for name, prop in qs.get("properties", {}).items():
                p = {"name": name, "in": "query", "required": name in required, "schema": prop}
                if prop.get("type") == "array":
                    p["style"], p["explode"] = "form", True
                if "description" in prop:
                    p["description"] = prop["description"]
                parameters.append(p)
        if parameters:
            op["parameters"] = parameters
        if meta.body is not None:
            op["requestBody"] = {"required": True, "content": {
                "application/json": {"schema": schema_of[("body", meta.body)]}}}
        elif meta.request_content:
            op["requestBody"] = {"required": True, "content": meta.request_content}
        ok: dict[str, Any] = {"description": "OK"}
        if meta.response is not None:
            ok["content"] = {"application/json": {"schema": schema_of[("resp", meta.response)]}}
        elif meta.response_content:
            ok["content"] = meta.response_content
        op["responses"][str(meta.status)] = ok
        codes = set(meta.errors)
        if meta.body is not None or meta.request_content:
            codes |= {400, 413, 422}  # multipart and XML bodies are checked field by field too
        if meta.query is not None:
            codes |= {413, 422}  # 413: a request line or body over the server's size limits
        if params:
            codes.add(404)
        if meta.auth != "none":
            codes.add(401)
            op["security"] = [{"bearerAuth": []}] if meta.auth == "user" else [{"bearerAuth": []}, {}]
        if meta.roles:
            codes.add(403)
        declared = _operation_codes(handler, meta, bool(params))
        codes |= {c.status for c in declared}
        err = {"application/json": {"schema": schema_of[("resp", ErrorEnvelope)]}}
        # A page (HTML, CSV...) may answer its own errors in its own media type (a 401 page).
        for ctype, spec in (meta.response_content or {}).items():
            if ctype != "application/json":
                err[ctype] = spec
        for code in sorted(codes):
            resp = {"description": ERROR_TEXT.get(code, "Error"), "content": err}
            named = sorted(str(c) for c in declared if c.status == code)
            if named:
                resp["x-error-codes"] = named
                resp["description"] += " (codes: " + ", ".join(named) + ")"
            op["responses"][str(code)] = resp
        paths.setdefault(path, {})[method] = op

    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version, "description": description},
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": defs,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }


def _operation_codes(handler: Any, meta: EndpointMeta, has_params: bool) -> set:
    """The declared codes an operation may answer: its handler's (and what that calls), and those of
    the checks @endpoint runs before it (authentication, roles, body and query parsing)."""
    found = set(codes_of(handler))
    if meta.auth != "none":
        found |= codes_of(kauth.authenticate)
    if meta.roles:
        found |= codes_of(kauth.require_roles)
    if meta.body is not None:
        found |= codes_of(khttp.parse_body)
    if meta.query is not None:
        found |= codes_of(khttp.parse_query)
    if has_params:
        found |= codes_of(khttp.decode_path_param)
    return found


SWAGGER_HTML = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{title} — API</title>
<link rel="stylesheet" href="/docs/static/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/static/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({{url: "/docs/openapi.json", dom_id: "#swagger-ui", deepLinking: true}});</script>
</body></html>"""
