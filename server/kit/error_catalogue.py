"""Which error codes an operation can answer, found by reading the code it runs: the handler, and every
function of the project it calls (through module aliases and imported names, as the code is written),
down to the raise sites, which name a declared code (`server/<domain>/errors.py`). Published per
response in the OpenAPI (`x-error-codes`) and as the catalogue at /docs/error-codes.

It reads the source once per process (when the spec is first built) and follows what can be resolved
statically; a call through an object's method is not followed, so a list may miss a code raised
behind one, never name one that is not declared."""
from __future__ import annotations

import ast
import functools
import inspect
import sys
import textwrap
import typing
from dataclasses import dataclass, field
from html import escape
from typing import Any, Callable

from server.kit.errors import AppError, DeclaredCode

PROJECT = ("server", "live", "jobs", "miniprogram_api")
MAX_DEPTH = 12


def declared() -> dict[str, DeclaredCode]:
    """Every declared code by its string (the enums of the modules imported so far)."""
    out: dict[str, DeclaredCode] = {}
    stack = list(DeclaredCode.__subclasses__())
    while stack:
        enum = stack.pop()
        stack.extend(enum.__subclasses__())
        for member in enum:
            out[str(member)] = member
    return out


@dataclass
class Site:
    code: DeclaredCode
    where: str          # module:function
    message: str


@dataclass
class _Fn:
    codes: set = field(default_factory=set)
    sites: list = field(default_factory=list)
    calls: list = field(default_factory=list)  # callables it calls


def _ours(obj: Any) -> bool:
    mod = getattr(obj, "__module__", None) or ""
    return mod.split(".", 1)[0] in PROJECT


@functools.lru_cache(maxsize=None)
def _module_defs(filename: str) -> dict[int, ast.AST]:
    """Function definitions of a file by every line their code object may start on."""
    try:
        with open(filename, encoding="utf-8") as fh:
            tree = ast.parse(fh.read())
    except (OSError, SyntaxError):
        return {}
    out: dict[int, ast.AST] = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            out[node.lineno] = node
            for d in node.decorator_list:
                out.setdefault(d.lineno, node)
    return out


def _resolve(expr: ast.AST, env: dict) -> Any:
    """The object a Name or a dotted Attribute chain names in a function's globals, or None."""
    if isinstance(expr, ast.Name):
        return env.get(expr.id)
    if isinstance(expr, ast.Attribute):
        base = _resolve(expr.value, env)
        return getattr(base, expr.attr, None) if base is not None else None
    return None


def _error_class(obj: Any) -> type[AppError] | None:
    if inspect.isclass(obj) and issubclass(obj, AppError):
        return obj
    if inspect.ismethod(obj) and inspect.isclass(obj.__self__) and issubclass(obj.__self__, AppError):
        return obj.__self__  # ValidationFailed.field(...)
    return None


def _read(fn: Callable) -> _Fn:
    out = _Fn()
    code_obj = getattr(fn, "__code__", None)
    if code_obj is None:
        return out
    node = _module_defs(code_obj.co_filename).get(code_obj.co_firstlineno)
    if node is None:
        return out
    env = fn.__globals__
    if inspect.ismethod(fn) and inspect.isclass(fn.__self__):  # a classmethod (an error class's factory)
        env = {**env, "cls": fn.__self__}
    if fn.__closure__:  # names of the enclosing function (handlers defined inside create_app)
        env = {**env, **{n: c.cell_contents for n, c in zip(code_obj.co_freevars, fn.__closure__)
                         if _cell_ok(c)}}
    where = f"{fn.__module__}:{fn.__qualname__}"
    for sub in (n for stmt in node.body for n in ast.walk(stmt)):  # not its decorators
        if isinstance(sub, ast.Call):
            target = _resolve(sub.func, env)
            cls = _error_class(target)
            given = next((k.value for k in sub.keywords if k.arg == "code"), None)
            if cls is not None:
                if given is None and inspect.ismethod(target):
                    # a factory of the error class (StockRefused.out_of_stock): the codes its body names
                    made = _read(target).codes or {cls.code}
                else:
                    code = _resolve(given, env) if given is not None else cls.code
                    made = {code} if isinstance(code, DeclaredCode) else set()
                msg = sub.args[0].value if sub.args and isinstance(sub.args[0], ast.Constant) else ""
                for code in sorted(made):
                    out.codes.add(code)
                    out.sites.append(Site(code, where, msg if isinstance(msg, str) else ""))
            elif target is not None and _ours(target) and (inspect.isfunction(target) or inspect.ismethod(target)):
                out.calls.append(target)
            elif target is None and isinstance(sub.func, ast.Attribute) and isinstance(sub.func.value, ast.Call):
                out.calls.extend(_returned_methods(sub.func.value, sub.func.attr, env))
        elif isinstance(sub, ast.Assign) and any(isinstance(t, ast.Attribute) and t.attr == "code"
                                                 for t in sub.targets):
            code = _resolve(sub.value, env)
            if isinstance(code, DeclaredCode):
                out.codes.add(code)
                out.sites.append(Site(code, where, ""))
        elif isinstance(sub, (ast.Name, ast.Attribute)) and isinstance(sub.ctx, ast.Load):
            # A function handed on (to run in a transaction, a thread, a retry loop) runs too.
            target = _resolve(sub, env) if isinstance(sub, ast.Name) else None
            if target is not None and inspect.isfunction(target) and _ours(target):
                out.calls.append(target)
    return out


def _returned_methods(call: ast.Call, attr: str, env: dict) -> list[Callable]:
    """`maker(...).attr(...)`: the method attr of the project classes maker's return annotation names
    (checkout_writer(conn).place -> _PgCheckout.place and _OrmCheckout.place)."""
    maker = _resolve(call.func, env)
    if maker is None or not _ours(maker) or not (inspect.isfunction(maker) or inspect.ismethod(maker)):
        return []
    try:
        returned = inspect.get_annotations(inspect.unwrap(getattr(maker, "__func__", maker)),
                                           eval_str=True).get("return")
    except Exception:  # noqa: BLE001 - an annotation that does not evaluate is not followed
        return []
    classes = typing.get_args(returned) or (returned,)
    return [getattr(c, attr) for c in classes
            if inspect.isclass(c) and _ours(c) and inspect.isfunction(getattr(c, attr, None))]


def _cell_ok(cell) -> bool:
    try:
        cell.cell_contents
    except ValueError:
        return False
    return True


_READ: dict[Any, _Fn] = {}


def _fn(fn: Callable) -> _Fn:
    fn = inspect.unwrap(fn)
    if inspect.ismethod(fn):
        fn = fn.__func__
    key = getattr(fn, "__code__", fn)
    got = _READ.get(key)
    if got is None:
        got = _READ[key] = _Fn()  # a recursion finds it empty rather than looping
        got.__dict__.update(_read(fn).__dict__)
    return got


def codes_of(fn: Callable) -> set[DeclaredCode]:
    """The declared codes fn and what it calls (as far as can be read) may raise."""
    seen: set = set()
    found: set[DeclaredCode] = set()
    stack = [(fn, 0)]
    while stack:
        f, depth = stack.pop()
        f = inspect.unwrap(f)
        key = getattr(f, "__code__", None) or getattr(getattr(f, "__func__", None), "__code__", f)
        if key in seen or depth > MAX_DEPTH:
            continue
        seen.add(key)
        info = _fn(f)
        found |= info.codes
        stack.extend((c, depth + 1) for c in info.calls)
    return found


def raise_sites() -> list[Site]:
    """Every place in the loaded project modules that raises (or builds) an error with a declared code."""
    sites: list[Site] = []
    for name, mod in sorted(sys.modules.items()):
        if name.split(".", 1)[0] not in PROJECT or mod is None:
            continue
        for obj in list(vars(mod).values()):
            fns = []
            if inspect.isfunction(obj) and obj.__module__ == name:
                fns.append(obj)
            elif inspect.isclass(obj) and obj.__module__ == name:
                fns.extend(v for v in vars(obj).values() if inspect.isfunction(v))
            for f in fns:
                sites.extend(_fn(f).sites)
    return sites


def catalogue(spec: dict | None = None) -> list[dict]:
    """One row per declared code: status, owning module, former names, raise sites, operations."""
    ops: dict[str, list[str]] = {}
    for path, item in (spec or {}).get("paths", {}).items():
        for method, op in item.items():
            for resp in op.get("responses", {}).values():
                for code in resp.get("x-error-codes", ()):
                    ops.setdefault(code, []).append(f"{method.upper()} {path}")
    where: dict[str, set[str]] = {}
    messages: dict[str, set[str]] = {}
    for s in raise_sites():
        where.setdefault(str(s.code), set()).add(s.where)
        if s.message:
            messages.setdefault(str(s.code), set()).add(s.message)
    rows = []
    for code, member in sorted(declared().items(), key=lambda kv: (type(kv[1]).__module__, kv[0])):
        rows.append({"code": code, "status": member.status, "declared_in": type(member).__module__,
                     "enum": f"{type(member).__name__}.{member.name}", "formerly": list(member.formerly),
                     "raised_in": sorted(where.get(code, ())), "examples": sorted(messages.get(code, ()))[:3],
                     "operations": sorted(set(ops.get(code, ())))})
    return rows


def catalogue_html(rows: list[dict]) -> str:
    """The catalogue as one page (served at /docs/error-codes)."""
    body = []
    for r in rows:
        ops = "<br>".join(escape(o) for o in r["operations"][:12])
        if len(r["operations"]) > 12:
            ops += f"<br>… {len(r['operations']) - 12} more"
        body.append(
            f"<tr id='{escape(r['code'])}'><td><code>{escape(r['code'])}</code>"
            + (f"<br><small>formerly {escape(', '.join(r['formerly']))}</small>" if r["formerly"] else "")
            + f"</td><td>{r['status']}</td><td>{escape(r['declared_in'])}</td>"
            f"<td>{'<br>'.join(escape(m) for m in r['examples'])}</td>"
            f"<td>{'<br>'.join(escape(w) for w in r['raised_in'])}</td><td>{ops}</td></tr>")
    return textwrap.dedent("""\
        <!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>Error codes</title>
        <style>body{font:14px sans-serif;margin:2em}td,th{border:1px solid #ccc;padding:4px;vertical-align:top}
        table{border-collapse:collapse}</style></head><body><h1>Error codes (错误码)</h1>
        <p>Every error answers <code>{"error": {"code", "message", "details"}}</code>; <code>code</code> is
        one of these. A renamed code also carries its former names in <code>aliases</code> for one release.
        JSON: <a href="/docs/error-codes.json">/docs/error-codes.json</a>; per operation: the
        <code>x-error-codes</code> of each response in <a href="/docs/openapi.json">the OpenAPI</a>.</p>
        <table><tr><th>code</th><th>HTTP</th><th>declared in</th><th>example messages</th>
        <th>raised in</th><th>operations</th></tr>
        """) + "\n".join(body) + "</table></body></html>"
