from pathlib import Path

import pytest

from verirag.errors import ConfigError
from verirag.settings import load_settings


def test_defaults_live_under_verirag_home(_isolated_home: Path) -> None:
    s = load_settings()
    assert s.home == _isolated_home
    assert s.db_url == f"sqlite:///{_isolated_home / 'verirag.db'}"
    assert s.max_upload_bytes == 50 * 1024 * 1024


def test_env_overrides_config_file(_isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _isolated_home.mkdir(parents=True)
    (_isolated_home / "config.toml").write_text('max_upload_mb = 10\ndevice = "cpu"\n')
    assert load_settings().max_upload_mb == 10
    monkeypatch.setenv("VERIRAG_MAX_UPLOAD_MB", "20")
    s = load_settings()
    assert s.max_upload_mb == 20
    assert s.device == "cpu"


def test_bad_value_names_the_setting_and_how_to_fix_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERIRAG_DEVICE", "tpu")
    with pytest.raises(ConfigError, match=r"'device' = 'tpu'.*VERIRAG_DEVICE"):
        load_settings()


def test_broken_config_file_is_reported_with_its_path(_isolated_home: Path) -> None:
    _isolated_home.mkdir(parents=True)
    (_isolated_home / "config.toml").write_text("device = \n")
    with pytest.raises(ConfigError, match=r"config\.toml: not valid TOML"):
        load_settings()
