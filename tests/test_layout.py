"""The folders' import arrows point one way (README, "Layout"); this fails when one runs back.

Every ``import`` in the package code is read from the source (including imports inside
functions, which a lazy import would otherwise hide) and checked against what its folder may
import. Third-party modules are not our concern here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = ("verirag", "domains", "knowledge", "app", "evals", "finetune")
FRONT_DOORS = ("app.cli", "app.ui", "app.api")
# What the library layers under the front doors may use of ``app``: models and engines, the
# dialog (prompt, answerer, rewrite), and the shared resources. Never the application services
# (users, audit, conversations, document admin) nor a front door.
APP_LIBRARY = ("app.models", "app.dialog", "app.resources")

# folder (module prefix) -> module prefixes of ours it may import
ALLOWED: dict[str, tuple[str, ...]] = {
    "verirag": ("verirag",),
    "domains": ("domains", "verirag"),
    "knowledge": ("knowledge", "domains", "verirag"),
    "evals": ("evals", "knowledge", "domains", "verirag", *APP_LIBRARY),
    "finetune": ("finetune", "knowledge", "domains", "verirag", *APP_LIBRARY),
    "app.models": ("app.models", "knowledge", "domains", "verirag"),
    "app.dialog": ("app.dialog", "app.models", "knowledge", "domains", "verirag"),
    "app.resources": ("app.models", "app.dialog", "knowledge", "domains", "verirag"),
}
# Everything else in ``app`` that is not a front door: any of app's own non-front-door
# modules, never evals, finetune or a front door.
APP_CORE_FORBIDDEN = ("evals", "finetune", *FRONT_DOORS)


def _module(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return [(line, name) for line, name in found if name.split(".")[0] in OURS]


def _under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _rule(module: str) -> tuple[str, ...] | None:
    """The allowed prefixes for ``module``, most specific folder first; None: app core."""
    for folder in sorted(ALLOWED, key=len, reverse=True):
        if _under(module, (folder,)):
            return ALLOWED[folder]
    return None


def _violations() -> list[str]:
    out = []
    for top in OURS:
        for path in sorted((ROOT / top).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            module = _module(path)
            if _under(module, FRONT_DOORS):
                continue  # front doors may import anything of ours
            allowed = _rule(module)
            for line, name in _imports(path):
                if allowed is not None:
                    bad = not _under(name, allowed)
                else:  # app's services and other non-front-door modules
                    bad = _under(name, APP_CORE_FORBIDDEN)
                if bad:
                    out.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    return out


def test_import_arrows_point_one_way() -> None:
    assert _violations() == []


@pytest.mark.parametrize(("module", "imported", "ok"), [
    ("knowledge.kb", "app.services", False),
    ("evals.runner", "app.services", False),
    ("evals.runner", "app.resources", True),
    ("finetune.service", "app.dialog.prompt", True),
    ("app.dialog.answerer", "app.resources", False),
    ("app.models.registry", "knowledge.embedding", True),
])
def test_the_rules_read_as_the_readme_says(module: str, imported: str, ok: bool) -> None:
    allowed = _rule(module)
    assert allowed is not None
    assert _under(imported, allowed) is ok


def test_app_services_may_not_import_evals_or_finetune() -> None:
    assert _rule("app.services") is None and _rule("app.kb_admin") is None
    assert _under("evals.service", APP_CORE_FORBIDDEN)
    assert _under("finetune.train", APP_CORE_FORBIDDEN)
    assert not _under("app.ui.state", ()) and _under("app.ui.state", FRONT_DOORS)
