"""The adapter store: list, activate, roll back, delete; what the resources then serve.

Adapter folders here are minimal (peft's config file plus verirag metadata): the store and
``Resources.adapter_path`` only read those, so no model is loaded.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.models.adapter_store import ACTIVE_FILE, AdapterRegistry, check_name
from app.models.adapters import PEFT_CONFIG_FILE, save_adapter_metadata
from app.services import Runtime
from tests.conftest import Cli
from verirag.errors import AdapterRegistryError, ConfigError
from verirag.settings import load_settings


def make_adapter(registry: AdapterRegistry, name: str, created: str, loss: float) -> Path:
    path = registry.dir / name
    path.mkdir(parents=True)
    (path / PEFT_CONFIG_FILE).write_text(json.dumps({"base_model_name_or_path": "smol"}),
                                         encoding="utf-8")
    save_adapter_metadata(path, base_model="smol", base_fingerprint="a" * 40,
                          data_hash="sha256:" + "0" * 64, metrics={"eval_loss": loss},
                          hyperparameters={"r": 16}, name=registry.pack, created_at=created)
    return path


@pytest.fixture
def registry(tmp_path: Path) -> AdapterRegistry:
    reg = AdapterRegistry(tmp_path / "home" / "adapters", "medical")
    make_adapter(reg, "v2", "2025-02-01T00:00:00+00:00", 0.9)
    make_adapter(reg, "v1", "2025-01-01T00:00:00+00:00", 1.1)
    make_adapter(reg, "v3", "2025-03-01T00:00:00+00:00", 0.8)
    return reg


def test_list_activate_rollback_delete(registry: AdapterRegistry) -> None:
    assert [e.name for e in registry.entries()] == ["v1", "v2", "v3"], "oldest first"
    assert registry.active() is None and not any(e.active for e in registry.entries())

    registry.activate("v1")
    registry.activate("v2")
    registry.activate("v3")
    assert (registry.dir / ACTIVE_FILE).read_text(encoding="utf-8") == "v3\n"
    assert [e.name for e in registry.entries() if e.active] == ["v3"]
    assert registry.rollback() == "v2" and registry.active() == "v2"
    assert registry.rollback() == "v1"
    with pytest.raises(AdapterRegistryError, match="no earlier adapter"):
        registry.rollback()
    assert registry.active() == "v1", "a failed rollback changes nothing"

    registry.activate("v3")
    with pytest.raises(AdapterRegistryError, match=r"active adapter.*--force"):
        registry.delete("v3")
    registry.delete("v1")
    assert [e.name for e in registry.entries()] == ["v2", "v3"]
    with pytest.raises(AdapterRegistryError, match="no earlier adapter"):
        registry.rollback()  # v1, the only earlier one, is deleted
    assert registry.active() == "v3"


def test_rollback_skips_deleted_adapters_and_deactivate_serves_the_base(
        registry: AdapterRegistry) -> None:
    for name in ("v1", "v2", "v3"):
        registry.activate(name)
    registry.delete("v2")
    assert registry.rollback() == "v1", "v2 is gone, so the one before it"
    registry.deactivate()
    assert registry.active() is None
    assert registry.rollback() == "v1"
    registry.delete("v1", force=True)
    assert registry.active() is None


def test_unknown_and_invalid_names(registry: AdapterRegistry) -> None:
    with pytest.raises(AdapterRegistryError, match=r"no adapter 'v9'.*have: v1, v2, v3"):
        registry.activate("v9")
    for bad in ("../etc", "active", "", ".hidden", "a/b"):
        with pytest.raises(AdapterRegistryError, match="not a valid adapter name"):
            check_name(bad)
    first = registry.new_name()
    (registry.dir / first).mkdir()
    assert registry.new_name() != first


def test_runtime_serves_the_active_adapter_unless_the_pack_pins_one(tmp_path: Path) -> None:
    home = tmp_path / "home"
    rt = Runtime(load_settings(home=home))
    pack = rt.resources.pack("medical")
    registry = rt.resources.adapters("medical")
    assert rt.resources.adapter_path(pack) is None, "nothing active: the bare base"
    make_adapter(registry, "v1", "2025-01-01T00:00:00+00:00", 1.0)
    registry.activate("v1")
    assert rt.resources.adapter_path(pack) == registry.dir / "v1"

    # A pack.toml naming an adapter wins over the registry's pointer.
    pinned = pack.model_copy(update={"models": pack.models.model_copy(update={"adapter": "v2"})})
    make_adapter(registry, "v2", "2025-02-01T00:00:00+00:00", 1.0)
    assert rt.resources.adapter_path(pinned) == registry.dir / "v2"

    # A pointer to a folder that is gone says how to fix it.
    (registry.dir / ACTIVE_FILE).write_text("gone\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="adapters deactivate medical"):
        rt.resources.adapter_path(pack)
    (registry.dir / ACTIVE_FILE).write_text("../../etc\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not an adapter folder name"):
        rt.resources.adapter_path(pack)


def test_adapters_cli(tmp_path: Path) -> None:
    home = tmp_path / "home"
    cli = Cli(lambda: Runtime(load_settings(home=home)))
    registry = AdapterRegistry(load_settings(home=home).adapters_dir, "medical")
    result = cli("adapters", "list", "medical")
    assert result.exit_code == 0 and "no adapters yet" in result.output
    make_adapter(registry, "v1", "2025-01-01T00:00:00+00:00", 1.25)
    make_adapter(registry, "v2", "2025-02-01T00:00:00+00:00", 0.75)

    assert cli("adapters", "activate", "medical", "v1").exit_code == 0
    assert cli("adapters", "activate", "medical", "v2").exit_code == 0
    listed = cli("adapters", "list", "medical", terminal_width=200).output
    rows = [line for line in listed.splitlines() if " v1 " in line or " v2 " in line]
    assert len(rows) == 2 and "*" in rows[1] and "*" not in rows[0] and "0.7500" in rows[1]

    result = cli("adapters", "rollback", "medical")
    assert result.exit_code == 0 and "rolled back to adapter v1" in result.output
    result = cli("adapters", "delete", "medical", "v1")
    assert result.exit_code == 1 and "--force" in result.output
    assert cli("adapters", "delete", "medical", "v2").exit_code == 0
    assert cli("adapters", "deactivate", "medical").exit_code == 0
    assert registry.active() is None
    result = cli("adapters", "list", "nosuchpack")
    assert result.exit_code == 1 and "no domain pack named 'nosuchpack'" in result.output
