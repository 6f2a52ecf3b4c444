"""``verirag tune``: measure retrieval settings on a pack's questions and keep the best."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from app.dialog.records import AuditRow
from app.resources import Resources
from domains.overrides import apply_override, override_path
from domains.pack import load_pack
from tests.conftest import Cli
from verirag.errors import PackError
from verirag.settings import load_settings


def test_tune_shows_before_and_after_writes_the_override_and_reset_removes_it(
        cli: Cli, dataset: Path) -> None:
    home = load_settings().home
    path = override_path(home, "medical")
    dry = cli("tune", "medical", "--dataset", str(dataset), "--chunk-sizes", "",
              "--dry-run", catch_exceptions=False)
    assert dry.exit_code == 0, dry.output
    assert "before" in dry.output and "after" in dry.output and "recall@5" in dry.output
    assert not path.exists()

    done = cli("tune", "medical", "--dataset", str(dataset), "--chunk-sizes", "",
               catch_exceptions=False)
    assert done.exit_code == 0, done.output
    assert path.is_file() and "saved" in done.output
    tuned = Resources(load_settings()).pack("medical")
    written = path.read_text(encoding="utf-8")
    assert f"fetch_k = {tuned.retrieval.fetch_k}" in written
    assert f"dense_weight = {tuned.retrieval.dense_weight!r}" in written
    runtime = cli.factory()
    with runtime.audit.sessions() as s:
        actions = list(s.scalars(select(AuditRow.action)))
    assert "tune" in actions

    reset = cli("tune", "medical", "--reset", catch_exceptions=False)
    assert reset.exit_code == 0 and "removed" in reset.output
    assert not path.exists()
    assert Resources(load_settings()).pack("medical") == load_pack("medical")


def test_a_broken_override_names_the_file_and_the_way_back(tmp_path: Path) -> None:
    pack = load_pack("medical")
    path = tmp_path / "medical.toml"
    path.write_text("[retrieval]\nfusion = 'median'\n", encoding="utf-8")
    try:
        apply_override(pack, path)
    except PackError as exc:
        assert "fusion" in str(exc) and "delete the file" in str(exc)
    else:
        raise AssertionError("an invalid fusion method was accepted")
    path.write_text("[generation]\nmode = 'extractive'\n", encoding="utf-8")
    try:
        apply_override(pack, path)
    except PackError as exc:
        assert "only retrieval, chunking may be overridden" in str(exc)
    else:
        raise AssertionError("an override of an untunable section was accepted")


def test_bad_chunk_sizes_are_one_line_errors(cli: Cli, dataset: Path) -> None:
    result = cli("tune", "medical", "--dataset", str(dataset), "--chunk-sizes", "big")
    assert result.exit_code == 2
    assert "--chunk-sizes" in result.output
