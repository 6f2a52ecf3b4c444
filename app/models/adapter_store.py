"""A pack's adapters on disk: which one is served, and list, activate, roll back, delete.

Layout, under the data directory (``$VERIRAG_HOME/adapters/PACK/``)::

    NAME/            peft save_pretrained() files + verirag_adapter.json (one per training run)
    active           one line: the NAME the pack serves (absent: the bare base)
    history.json     the names activated, oldest first, for ``rollback``

``active`` and ``history.json`` are replaced atomically (temp file + ``os.replace``), so a
crash leaves the old pointer or the new one, never a torn one. Serving reads the store here
(:func:`served_adapter_dir`) and training writes to it (``finetune.service``), so neither
imports the other. Left out: training (``finetune.train``) and attaching (``app.resources``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from app.models.adapters import PEFT_CONFIG_FILE, AdapterMetadata, read_adapter_metadata
from domains.pack import Pack
from verirag.errors import AdapterRegistryError, ConfigError

# One line, the active adapter's folder name; absent or empty: the pack serves the bare base.
ACTIVE_FILE = "active"
HISTORY_FILE = "history.json"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_RESERVED = {ACTIVE_FILE, HISTORY_FILE}


@dataclass(frozen=True)
class AdapterEntry:
    name: str
    path: Path
    meta: AdapterMetadata | None
    active: bool

    @property
    def created_at(self) -> str:
        if self.meta is not None:
            return self.meta.created_at
        stamp = datetime.fromtimestamp(self.path.stat().st_mtime, UTC)
        return stamp.isoformat(timespec="seconds")


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def check_name(name: str) -> str:
    """An adapter name is a folder name: letters, digits, ``_ . -``, at most 64 characters."""
    if not _NAME.match(name) or name in _RESERVED or name.endswith(".tmp"):
        raise AdapterRegistryError(f"'{name}' is not a valid adapter name; use letters, digits, "
                                   "'_', '.' and '-' (e.g. medical-2025-01)")
    return name


def read_active_adapter(pack_dir: Path) -> str | None:
    """The adapter name the ``active`` pointer in ``pack_dir`` names, or None."""
    path = Path(pack_dir) / ACTIVE_FILE
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: unreadable active-adapter pointer ({exc}); run "
                          "`verirag adapters activate PACK NAME` to rewrite it") from exc
    name = text.splitlines()[0].strip() if text else ""
    if name and (name != Path(name).name or name.startswith(".")):
        raise ConfigError(f"{path}: '{name}' is not an adapter folder name; run "
                          "`verirag adapters activate PACK NAME` to rewrite it")
    return name or None


def served_adapter_dir(pack: Pack, root: Path) -> Path | None:
    """The folder of the adapter ``pack`` serves, with ``root`` the data directory's adapters.

    A ``models.adapter`` in ``pack.toml`` wins (an institution pins what it serves); without
    one the registry's active adapter is served (``verirag adapters activate``), and with
    neither the bare base (None).
    """
    if pack.models.adapter:
        return named_adapter_dir(pack, pack.models.adapter, root)
    registry = Path(root) / pack.name
    active = read_active_adapter(registry)
    if active is None:
        return None
    if not (registry / active / PEFT_CONFIG_FILE).is_file():
        raise ConfigError(f"{registry / ACTIVE_FILE} names adapter '{active}', which is not "
                          f"in {registry}; run `verirag adapters list {pack.name}` and "
                          f"activate another, or `verirag adapters deactivate {pack.name}`")
    return registry / active


def named_adapter_dir(pack: Pack, name: str, root: Path) -> Path:
    """An adapter by name: a folder in the pack, or one in the pack's registry under ``root``."""
    registry = Path(root) / pack.name
    for candidate in (pack.root / name, registry / name):
        if (candidate / PEFT_CONFIG_FILE).is_file():
            return candidate
    raise ConfigError(f"adapter '{name}' of the {pack.name} pack not found in {pack.root} or "
                      f"{registry}; see `verirag adapters list {pack.name}` or train one with "
                      "`verirag finetune`")


class AdapterRegistry:
    """The adapters of one pack, with ``root`` the data directory's adapters folder
    (``Settings.adapters_dir``)."""

    def __init__(self, root: Path, pack: str) -> None:
        self.pack = pack
        self.dir = Path(root) / pack

    def path(self, name: str) -> Path:
        return self.dir / check_name(name)

    def new_name(self) -> str:
        """A fresh, sortable name for a training run: the UTC time, suffixed if taken."""
        stem = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        name, n = stem, 1
        while (self.dir / name).exists():
            n += 1
            name = f"{stem}-{n}"
        return name

    def entries(self) -> list[AdapterEntry]:
        """Every adapter folder, oldest first; unreadable metadata is reported, not hidden."""
        if not self.dir.is_dir():
            return []
        active = self.active()
        found = []
        for child in self.dir.iterdir():
            if child.name.startswith(".") or not (child / PEFT_CONFIG_FILE).is_file():
                continue
            found.append(AdapterEntry(child.name, child, read_adapter_metadata(child),
                                      child.name == active))
        return sorted(found, key=lambda e: (e.created_at, e.name))

    def get(self, name: str) -> AdapterEntry:
        path = self.path(name)
        if not (path / PEFT_CONFIG_FILE).is_file():
            known = ", ".join(e.name for e in self.entries()) or "none"
            raise AdapterRegistryError(f"no adapter '{name}' for pack '{self.pack}' (have: "
                                       f"{known}); see `verirag adapters list {self.pack}`")
        return AdapterEntry(name, path, read_adapter_metadata(path), name == self.active())

    def active(self) -> str | None:
        return read_active_adapter(self.dir)

    def history(self) -> list[str]:
        path = self.dir / HISTORY_FILE
        if not path.is_file():
            return []
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{path}: unreadable activation history ({exc}); delete it "
                              "(only rollback uses it)") from exc
        if not isinstance(data, list) or not all(isinstance(n, str) for n in data):
            raise ConfigError(f"{path}: expected a JSON list of adapter names; delete it")
        return data

    def _set(self, name: str | None, history: list[str]) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        _write_atomic(self.dir / HISTORY_FILE, json.dumps(history[-100:]) + "\n")
        if name is None:
            (self.dir / ACTIVE_FILE).unlink(missing_ok=True)
        else:
            _write_atomic(self.dir / ACTIVE_FILE, name + "\n")

    def activate(self, name: str) -> AdapterEntry:
        """Serve ``name`` from now on (a running server picks it up when it next loads)."""
        entry = self.get(name)
        history = self.history()
        if not history or history[-1] != name:
            history.append(name)
        self._set(name, history)
        return AdapterEntry(entry.name, entry.path, entry.meta, True)

    def deactivate(self) -> None:
        """Serve the bare base; ``rollback`` returns to the adapter that was active."""
        self._set(None, self.history())

    def rollback(self) -> str:
        """Re-activate the adapter active before the current one (skipping deleted ones)."""
        history = self.history()
        current = self.active()
        while history and history[-1] == current:
            history.pop()
        while history and not (self.dir / history[-1] / PEFT_CONFIG_FILE).is_file():
            history.pop()
        if not history:
            raise AdapterRegistryError(f"no earlier adapter of '{self.pack}' to roll back to; "
                                       f"see `verirag adapters list {self.pack}`")
        self._set(history[-1], history)
        return history[-1]

    def delete(self, name: str, *, force: bool = False) -> None:
        """Remove an adapter folder; the active one only with ``force`` (then none is served)."""
        entry = self.get(name)
        if entry.active and not force:
            raise AdapterRegistryError(
                f"'{name}' is the active adapter of '{self.pack}'; activate another (or "
                f"`verirag adapters rollback {self.pack}`) first, or delete with --force")
        if entry.active:
            self._set(None, [n for n in self.history() if n != name])
        else:
            self._set(self.active(), [n for n in self.history() if n != name])
        trash = self.dir / f".{name}.deleting"
        os.replace(entry.path, trash)  # gone from listings at once, even if rmtree is cut short
        shutil.rmtree(trash)
