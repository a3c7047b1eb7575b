"""Imports point one way (../shared/ARCHITECTURE.md, "Layout"):

    kotally/lib < accounts < locations < entitlements < inbox
        < {integrations_ghl, integrations_stripe, billing, api, embed, outbound} < console
        < kotally (settings, urls, middleware, errors, health, celery)

A module may import its own app and any app of a LOWER layer; apps of one layer (the braces)
never import each other. An `ast` walk over every project module, imports inside functions
included, so a call-time import cannot hide a back-edge. Tests and benchmarks are not checked.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYERS = [
    {"kotally.lib"},
    {"accounts"},
    {"locations"},
    {"entitlements"},
    {"inbox"},
    {"integrations_ghl", "integrations_stripe", "billing", "api", "embed", "outbound"},
    {"console"},
    {"kotally"},
]
LAYER_OF = {app: rank for rank, apps in enumerate(LAYERS) for app in apps}


def _app_of(module: str) -> str | None:
    if module == "kotally.lib" or module.startswith("kotally.lib."):
        return "kotally.lib"
    top = module.split(".")[0]
    return top if top in LAYER_OF else None


def _modules(root: Path):
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if relative.parts[0] in ("tests", "bench", ".venv") or "migrations" in relative.parts:
            continue
        module = ".".join(relative.with_suffix("").parts)
        if _app_of(module) is not None:
            yield module, path


def _imports(module: str, path: Path):
    package = module.split(".")[:-1] if path.name != "__init__.py" else module.split(".")
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                yield node.lineno, ".".join([*base, *([node.module] if node.module else [])])
            elif node.module:
                yield node.lineno, node.module


def back_edges(root: Path = ROOT) -> list[str]:
    found = []
    for module, path in _modules(root):
        mine = _app_of(module)
        for line, target in _imports(module, path):
            theirs = _app_of(target)
            if theirs is None or theirs == mine:
                continue
            if LAYER_OF[theirs] >= LAYER_OF[mine]:
                found.append(f"{path.relative_to(root)}:{line} {mine} imports {theirs}")
    return found


def test_every_import_points_down_the_layers():
    assert back_edges() == []


def test_the_check_sees_back_edges_and_allows_downward_imports(tmp_path):
    """The walk itself works, on a planted tree: upward, sideways and relative imports."""
    for app, source in {
        "accounts": "def f():\n    from billing import services\n",
        "billing": "from entitlements import services\nfrom api.models import ApiClient\n",
        "inbox": "from . import models\nfrom ..console import views\n",
    }.items():
        (tmp_path / app).mkdir()
        (tmp_path / app / "mod.py").write_text(source)
    assert back_edges(tmp_path) == [
        "accounts/mod.py:2 accounts imports billing",
        "billing/mod.py:2 billing imports api",
        "inbox/mod.py:2 inbox imports console",
    ]
