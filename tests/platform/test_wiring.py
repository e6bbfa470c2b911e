"""Start-up wiring lives in the composition roots (server/startup.py, registered by server/app.py,
server/cli.py and jobs/worker.py): the kit names no domain, not even as a string."""
from __future__ import annotations

import ast
import pathlib

import pytest

from server import startup
from server.kit import lifecycle

KIT = pathlib.Path(__file__).resolve().parents[2] / "server" / "kit"


def dynamic_imports(source: str) -> list[str]:
    """__import__(...) and importlib.import_module(...) calls: imports a reader of the header cannot see."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            name = ast.unparse(node.func)
            if name in ("__import__", "importlib.import_module", "import_module"):
                found.append(f"{node.lineno}: {ast.unparse(node)[:80]}")
    return sorted(found)


def test_the_check_finds_a_dynamic_import():
    assert dynamic_imports('H = [lambda: __import__("live.setup", fromlist=["x"])]\n'
                           'import importlib\nm = importlib.import_module("server.stations.setup")\n') \
        == ['1: __import__(\'live.setup\', fromlist=[\'x\'])',
            "3: importlib.import_module('server.stations.setup')"]


def test_the_kit_imports_nothing_by_name():
    offenders = {str(p.name): hits for p in sorted(KIT.glob("*.py"))
                 if (hits := dynamic_imports(p.read_text(encoding="utf-8")))}
    assert not offenders, offenders


def test_the_roots_register_the_start_up_hooks(app):
    assert list(lifecycle.INTEGRATION_HOOKS[:len(startup.HOOKS)]) == list(startup.HOOKS)
    startup.install()  # idempotent: a second root in the same process adds nothing
    assert len(lifecycle.INTEGRATION_HOOKS) == len(set(lifecycle.INTEGRATION_HOOKS))


async def test_starting_without_hooks_says_what_to_do(settings, monkeypatch):
    monkeypatch.setattr(lifecycle, "INTEGRATION_HOOKS", [])
    with pytest.raises(RuntimeError, match="server.startup.install"):
        lifecycle._integrations(settings, None)
