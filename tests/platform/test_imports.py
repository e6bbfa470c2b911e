"""Imports tell the truth about dependencies: they sit at the top of the file (one count, printed
here), and the contracts in pyproject.toml [tool.importlinter] hold (roots > surfaces > live > domains
> integrations > kit > models and config; surfaces and jobs call services; no circle in fulfillment)."""
from __future__ import annotations

import ast
import os
import pathlib
import subprocess
import sys
import tomllib

ROOT = pathlib.Path(__file__).resolve().parents[2]
PACKAGES = ("server", "live", "jobs", "miniprogram_api")
BUDGET = 20
# Where an import inside a function is the design, with why. Everything else counts against BUDGET.
DOCUMENTED = {
    "server/cli.py": "a subcommand imports what it runs: `check` must run before the settings load "
                     "(a broken configuration is what it reports), `serve` sets the environment before "
                     "the app is built, and `--help` stays instant",
}


def indented_imports(source: str) -> list[tuple[int, str]]:
    """(line, module) of every import of a project module that is not at the top of the file (an
    `if TYPE_CHECKING:` block is type-only and does not count)."""
    tree = ast.parse(source)
    type_only = set()
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
            type_only.update(id(n) for n in ast.walk(node))
    top = {id(n) for n in tree.body}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) not in top and id(node) not in type_only:
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
            if isinstance(node, ast.ImportFrom) and node.level:
                continue
            for name in names:
                if name.split(".")[0] in PACKAGES:
                    out.append((node.lineno, name))
    return out


def test_the_count_sees_what_the_grep_sees():
    src = ("from server.kit import clock\nfrom typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
           "    from server.kit.redis import Scripts\n"
           "def f():\n    import json\n    from server.orders import service\n"
           "    try:\n        import live.gate\n    except ImportError:\n        pass\n"
           '    """from server.x import y (text, not an import)"""\n')
    assert indented_imports(src) == [(7, "server.orders"), (9, "live.gate")]


def test_imports_sit_at_the_top_of_the_file(capsys):
    per_file, documented = {}, 0
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            found = indented_imports(path.read_text(encoding="utf-8"))
            rel = str(path.relative_to(ROOT))
            if rel in DOCUMENTED:
                documented += len(found)
            elif found:
                per_file[rel] = found
    counted = sum(len(v) for v in per_file.values())
    with capsys.disabled():
        print(f"\nimports inside functions: {counted} counted (budget {BUDGET}), {documented} documented "
              f"({', '.join(DOCUMENTED)})")
        for rel, found in sorted(per_file.items()):
            print(f"  {rel}: " + ", ".join(f"l.{line} {mod}" for line, mod in found))
    assert counted < BUDGET, per_file


def _layers() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contract = next(c for c in config["tool"]["importlinter"]["contracts"] if c["id"] == "layers")
    return contract["layers"]


def test_every_package_is_in_a_layer():
    named = set()
    for layer in _layers():
        for part in layer.replace("|", ":").split(":"):
            named.add(part.strip().strip("()"))
    expected = {f"server.{p.name}" for p in (ROOT / "server").iterdir()
                if p.is_dir() and (p / "__init__.py").exists() and p.name != "migrations"}
    expected |= {f"server.{p.stem}" for p in (ROOT / "server").glob("*.py") if p.stem != "__init__"}
    expected |= {f"live.{p.stem}" for p in (ROOT / "live").glob("*.py") if p.stem != "__init__"}
    expected |= {"jobs", "miniprogram_api", "config"}
    missing = {m for m in expected if m not in named and not any(m.startswith(n + ".") for n in named)}
    assert not missing, f"add these to a layer in pyproject.toml [tool.importlinter]: {sorted(missing)}"


def test_the_import_contracts_hold():
    linter = pathlib.Path(sys.executable).with_name("lint-imports")
    r = subprocess.run([str(linter), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert "0 broken" in r.stdout
