"""Per-installation overrides of a pack's settings, written by ``verirag tune``.

A bundled ``pack.toml`` is the pack author's; what an installation measured best on its own
documents and questions lives beside the user's data (``$VERIRAG_HOME/tuned/NAME.toml``) and is
applied on top when the pack is loaded, so a package upgrade never loses it and deleting the
file (``verirag tune NAME --reset``) restores the author's settings. Only the sections tuning
measures may be overridden.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from domains.pack import Pack
from verirag.errors import PackError

TUNABLE = ("retrieval", "chunking")


def override_path(home: Path, name: str) -> Path:
    return Path(home) / "tuned" / f"{name}.toml"


def apply_override(pack: Pack, path: Path) -> Pack:
    """``pack`` with the sections of the override file at ``path`` (if any) laid over it."""
    if not path.is_file():
        return pack
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PackError(f"{path}: not valid TOML ({exc}); fix it or delete it to use the "
                        f"pack's own settings") from exc
    unknown = sorted(set(data) - set(TUNABLE))
    if unknown:
        raise PackError(f"{path}: only {', '.join(TUNABLE)} may be overridden, not "
                        f"{', '.join(unknown)}; delete the file or those sections")
    try:
        return with_sections(pack, data)
    except PackError as exc:
        raise PackError(f"{path}: {exc}; fix it or delete the file") from exc


def with_sections(pack: Pack, sections: dict[str, dict[str, Any]]) -> Pack:
    """``pack`` with fields of some sections replaced, validated as a ``pack.toml`` is."""
    merged = pack.model_dump()
    for section, values in sections.items():
        merged[section] = {**merged[section], **values}
    try:
        return Pack.model_validate(merged)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"])
        raise PackError(f"field '{field}' = {err.get('input')!r}: {err['msg']}") from exc


def write_override(path: Path, sections: dict[str, dict[str, Any]], comment: str) -> None:
    """Write ``sections`` as TOML (scalars and lists of strings only), atomically."""
    lines = [f"# {line}" for line in comment.splitlines()]
    for section, values in sections.items():
        if section not in TUNABLE:
            raise ValueError(f"{section} is not tunable")
        lines += ["", f"[{section}]"]
        lines += [f"{key} = {_toml_value(value)}" for key, value in values.items()]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".toml.tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tmp.replace(path)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} as TOML")
