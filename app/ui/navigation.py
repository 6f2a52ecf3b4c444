"""Which pages a user gets: every ``views/NN_Title.py`` whose ``ACTION`` their role allows."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from app.auth.principal import Principal
from app.ui.i18n import tr

PAGES_DIR = Path(__file__).resolve().parent / "views"
DEFAULT_ICON = ":material/article:"


def _constant(path: Path, name: str, default: str) -> str:
    """A string constant of the page file (``ICON``, ``ACTION``), read without running it."""
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name) and node.targets[0].id == name
                and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)):
            return node.value.value
    return default


@dataclass(frozen=True)
class PageFile:
    path: Path
    title: str
    icon: str
    action: str


def page_files() -> list[PageFile]:
    """Every page, in ``NN`` order."""
    files = sorted((p for p in PAGES_DIR.glob("*.py") if p.stem[:1].isdigit()),
                   key=lambda p: (int(p.stem.split("_", 1)[0]), p.stem))
    return [PageFile(p, p.stem.split("_", 1)[-1].replace("_", " "),
                     _constant(p, "ICON", DEFAULT_ICON), _constant(p, "ACTION", "chat"))
            for p in files]


def visible_pages(who: Principal, pack: str) -> list[PageFile]:
    """The pages whose ``ACTION`` (default ``chat``) the user may do in ``pack``."""
    return [f for f in page_files() if who.can(pack, f.action)]


def discover_pages(who: Principal, pack: str) -> list[st.Page]:
    return [st.Page(f.path, title=tr(f.title), icon=f.icon, default=i == 0,
                    url_path=f.title.lower().replace(" ", "-"))
            for i, f in enumerate(visible_pages(who, pack))]
