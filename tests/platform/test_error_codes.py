"""Error codes are declared (server/<domain>/errors.py, live/errors.py, server/kit/errors.py), raise
sites name a declared member, synonyms stay banned, and the OpenAPI and /docs/error-codes publish them."""
from __future__ import annotations

import ast
import importlib
import pathlib
import re

from server.kit.error_catalogue import declared
from server.kit.errors import AppError, KitCode, envelope

ROOT = pathlib.Path(__file__).resolve().parents[2]
PACKAGES = ("server", "live", "jobs", "miniprogram_api")

# One name per meaning. A retired synonym (left) is never declared again; while its one-release alias
# lasts it is listed in the replacement's `formerly` (sent as error.aliases) and in the README changelog.
BANNED_SYNONYMS = {
    "insufficient_stock": "out_of_stock",
    "invalid_state": "invalid_transition",
    "bad_signature": "signature_invalid",
    "live_session_ended": "live_session_closed",
    "not_enough_stock": "out_of_stock",
    "sold_out": "out_of_stock",
    "illegal_transition": "invalid_transition",
    "wrong_state": "invalid_transition",
    "invalid_signature": "signature_invalid",
    "too_many_requests": "rate_limited",
    "not_authorized": "unauthorized",
    "permission_denied": "forbidden",
    "does_not_exist": "not_found",
}
# A code answered with two statuses (declared with the usual one): known, and not to grow.
MIXED_STATUS = {"no_trainee_profile"}


def _error_class_names() -> set[str]:
    names, stack = set(), [AppError]
    while stack:
        cls = stack.pop()
        names.add(cls.__name__)
        stack.extend(cls.__subclasses__())
    return names


def bare_codes(source: str, error_classes: set[str]) -> list[tuple[int, str]]:
    """(line, what) for every error code written as a bare string instead of a declared member."""
    tree = ast.parse(source)
    text_constants = {t.id for n in tree.body if isinstance(n, ast.Assign)
                      for t in n.targets if isinstance(t, ast.Name)
                      and isinstance(n.value, (ast.Constant, ast.JoinedStr))}

    def bare(v: ast.AST) -> bool:
        return (isinstance(v, ast.Constant) and isinstance(v.value, str)) or isinstance(v, ast.JoinedStr) \
            or (isinstance(v, ast.Name) and v.id in text_constants)

    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = ast.unparse(node.func).split(".")
            if name[-1] in error_classes or (len(name) > 1 and name[-2] in error_classes):
                for k in node.keywords:
                    if k.arg == "code" and bare(k.value):
                        found.append((node.lineno, f"{'.'.join(name)}(code={ast.unparse(k.value)})"))
            if name[-1] in ("_error_response", "envelope") and len(node.args) > 1 and bare(node.args[1]):
                found.append((node.lineno, f"{name[-1]}(..., {ast.unparse(node.args[1])})"))
        elif isinstance(node, ast.Assign):
            for t in node.targets:
                if isinstance(t, ast.Attribute) and t.attr == "code" and bare(node.value):
                    found.append((node.lineno, f"{ast.unparse(t)} = {ast.unparse(node.value)}"))
        elif isinstance(node, ast.ClassDef):
            for stmt in node.body:
                if not isinstance(stmt, ast.Assign):
                    continue
                for t in stmt.targets:
                    if isinstance(t, ast.Name) and t.id == "code" and bare(stmt.value):
                        found.append((stmt.lineno, f"class {node.name}: code = {ast.unparse(stmt.value)}"))
                    if isinstance(t, ast.Tuple) and isinstance(stmt.value, ast.Tuple):
                        for tt, vv in zip(t.elts, stmt.value.elts):
                            if isinstance(tt, ast.Name) and tt.id == "code" and bare(vv):
                                found.append((stmt.lineno, f"class {node.name}: code = {ast.unparse(vv)}"))
    return found


def _sources():
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def _load_all() -> None:
    """Import every project module, so that every declared enum and error class is known."""
    importlib.import_module("server.app")  # the surfaces, and through them the domains

    for path in _sources():
        rel = path.relative_to(ROOT).with_suffix("")
        if path.name in ("__main__.py",) or "simulators" in rel.parts:
            continue
        importlib.import_module(".".join(rel.parts).removesuffix(".__init__"))


def test_the_check_finds_a_bare_code():
    planted = (
        'STALE = "stale"\n'
        'class Locked(AppError):\n    status, code = 423, "locked"\n'
        'def f(exc):\n'
        '    raise Conflict("x", code="out_of_stock")\n'
        '    raise errors.NotFound("x", code=f"gone_{1}")\n'
        '    raise Conflict("x", code=STALE)\n'
        '    exc.code = "sms_code_wrong"\n'
        '    raise ValidationFailed.field("a", "b", code="x")\n'
        '    raise Conflict("fine", code=OrderCode.NOT_ON_SALE)\n')
    found = bare_codes(planted, {"AppError", "Conflict", "NotFound", "ValidationFailed"})
    assert sorted(line for line, _ in found) == [3, 5, 6, 7, 8, 9], found


def test_no_raise_site_uses_a_bare_string_code():
    _load_all()
    classes = _error_class_names()
    offenders = []
    for path in _sources():
        for line, what in bare_codes(path.read_text(encoding="utf-8"), classes):
            offenders.append(f"{path.relative_to(ROOT)}:{line}: {what}")
    assert not offenders, ("declare the code in the domain's errors.py and pass the member:\n"
                           + "\n".join(offenders))


def test_codes_are_declared_once_and_well_formed():
    _load_all()
    from server.kit.errors import DeclaredCode

    seen: dict[str, str] = {}
    stack = list(DeclaredCode.__subclasses__())
    while stack:
        enum = stack.pop()
        stack.extend(enum.__subclasses__())
        assert enum.__module__.endswith(".errors") or enum.__module__ == "errors", enum
        for member in enum:
            assert re.fullmatch(r"[a-z][a-z0-9_]*", member.value), member
            assert member.name == member.value.upper(), member
            assert 400 <= member.status < 600, member
            assert member.value not in seen, f"{member.value} declared in {seen.get(member.value)} and {enum}"
            seen[member.value] = enum.__name__
    assert len(seen) > 100


def test_banned_synonyms_stay_out():
    _load_all()
    codes = declared()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    changelog = readme[readme.index("## Changelog"):]
    for old, new in BANNED_SYNONYMS.items():
        assert old not in codes, f"{old} is a banned synonym of {new}"
        assert new in codes, new
        if old in codes[new].formerly:
            assert f"`{old}`" in changelog and f"`{new}`" in changelog, f"README changelog: {old} -> {new}"
    for member in codes.values():
        for old in member.formerly:
            assert BANNED_SYNONYMS.get(old) == str(member), f"{old}: add it to BANNED_SYNONYMS"


def test_the_console_words_only_declared_codes():
    _load_all()
    from server.console_web.messages import ERRORS

    assert set(ERRORS) <= set(declared()), set(ERRORS) - set(declared())


def test_raise_sites_answer_with_the_declared_status():
    _load_all()
    classes = {}
    stack = [AppError]
    while stack:
        cls = stack.pop()
        classes[cls.__name__] = cls
        stack.extend(cls.__subclasses__())
    wrong = []
    for path in _sources():
        rel = path.relative_to(ROOT).with_suffix("")
        mod = importlib.import_module(".".join(rel.parts).removesuffix(".__init__")) \
            if "simulators" not in rel.parts and path.name != "__main__.py" else None
        if mod is None:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name) \
                    or node.func.id not in classes:
                continue
            code = next((k.value for k in node.keywords if k.arg == "code"), None)
            if not (isinstance(code, ast.Attribute) and isinstance(code.value, ast.Name)):
                continue
            member = getattr(getattr(mod, code.value.id, None), code.attr, None)
            status = next((k.value.value for k in node.keywords
                           if k.arg == "status" and isinstance(k.value, ast.Constant)), None)
            status = status or classes[node.func.id].status
            if member is not None and member.status != status and str(member) not in MIXED_STATUS:
                wrong.append(f"{rel}:{node.lineno}: {member} is declared {member.status}, raised {status}")
    assert not wrong, "\n".join(wrong)


def test_a_renamed_code_carries_its_old_name_for_one_release():
    body = envelope(KitCode.INVALID_TRANSITION, "no")
    assert body == {"error": {"code": "invalid_transition", "message": "no", "details": None,
                              "aliases": ["invalid_state"]}}
    assert "aliases" not in envelope(KitCode.NOT_FOUND, "no")["error"]
    assert AppError("x", code=KitCode.SIGNATURE_INVALID).body()["error"]["aliases"] == ["bad_signature"]


async def test_the_openapi_lists_codes_roles_and_a_body_per_operation(client):
    spec = (await client.get("/docs/openapi.json")).json()
    codes = declared()
    ops = [(m, p, op) for p, item in spec["paths"].items() for m, op in item.items()]
    assert len(ops) > 200
    missing_body = []
    for method, path, op in ops:
        for status, resp in op["responses"].items():
            for code in resp.get("x-error-codes", ()):
                assert code in codes and str(codes[code].status) == status, (method, path, status, code)
        ok = [(s, r) for s, r in op["responses"].items() if s.startswith("2")]
        assert ok, (method, path)
        if not any(r.get("content") for _, r in ok) and not all(s == "204" for s, _ in ok):
            missing_body.append(f"{method.upper()} {path}")
        if op.get("security") and {"bearerAuth": []} in op["security"] and {} not in op["security"]:
            assert "x-roles" in op and "Roles:" in op["description"], (method, path)
    assert not missing_body, missing_body
    checkout = spec["paths"]["/api/v1/orders"]["post"]["responses"]
    assert {"out_of_stock", "not_on_sale"} <= set(checkout["409"]["x-error-codes"])
    assert "missing_token" in checkout["401"]["x-error-codes"]
    grant = spec["paths"]["/api/v1/console/role-grants"]["post"]
    assert grant["x-roles"] == ["admin"]


async def test_the_catalogue_lists_every_code(client):
    rows = (await client.get("/docs/error-codes.json")).json()
    by_code = {r["code"]: r for r in rows}
    assert set(by_code) == set(declared())
    assert by_code["out_of_stock"]["formerly"] == ["insufficient_stock"]
    assert any(r.startswith("server.orders.service:") for r in by_code["out_of_stock"]["raised_in"])
    assert "POST /api/v1/orders" in by_code["out_of_stock"]["operations"]
    page = await client.get("/docs/error-codes")
    assert page.status_code == 200 and "<code>live_sold_out</code>" in page.text
