"""The ``verirag`` command as a user runs it (in-process, real models, temp data dir)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli.main import main
from app.cli.users_cmd import cli_actor
from app.models import ModelRegistry
from app.services import Runtime
from tests.conftest import Cli
from verirag.settings import load_settings


def _run(cli: Cli, *args: str) -> tuple[int, str]:
    result = cli(*args, catch_exceptions=False)
    return result.exit_code, result.output


def test_ingest_reports_each_file_and_a_summary(cli: Cli, tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    good = folder / "visiting.md"
    good.write_text("# Visiting\n\nVisiting hours on general wards are 14:00 to 20:00.\n")
    (folder / "empty.txt").write_bytes(b"")
    code, out = _run(cli, "ingest", "medical", str(folder))
    assert code == 0
    assert "visiting.md" in out and "indexed" in out
    assert "empty.txt" in out and "rejected" in out and "empty file" in out
    assert "1 indexed" in out and "1 rejected" in out

    code, out = _run(cli, "ingest", "medical", str(good))
    assert "duplicate" in out

    code, out = _run(cli, "kb", "show", "medical")
    assert code == 0 and "visiting.md" in out and "ready" in out


def test_ask_prints_a_cited_answer_with_sources(cli: Cli, tmp_path: Path) -> None:
    doc = tmp_path / "visiting.md"
    doc.write_text("# Visiting\n\nVisiting hours on general wards are 14:00 to 20:00 daily.\n")
    _run(cli, "ingest", "medical", str(doc))
    code, out = _run(cli, "ask", "medical", "What are the visiting hours on general wards?",
                     "--verbose", "--no-stream")
    assert code == 0
    assert "[1]" in out and "Sources" in out and "visiting.md" in out
    assert "14:00" in out
    assert "query:" in out and "decision: answer" in out
    rt = cli.factory()
    (row,) = rt.audit.search(action="answer")
    assert row.actor == cli_actor() and row.actor.startswith("cli:")


def test_ask_on_an_empty_knowledge_base_says_what_to_do(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        models: ModelRegistry) -> None:
    monkeypatch.setattr("sys.argv", ["verirag", "ask", "legal", "What is the notice period?"])
    with pytest.raises(SystemExit) as info:
        main(lambda: Runtime(load_settings(), models))
    assert info.value.code == 1
    err = capsys.readouterr().err
    assert "knowledge base is empty" in err and "verirag ingest legal" in err
    assert "Traceback" not in err


def test_unknown_pack_is_one_clear_line(capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch,
                                        models: ModelRegistry) -> None:
    monkeypatch.setattr("sys.argv", ["verirag", "kb", "show", "dental"])
    with pytest.raises(SystemExit):
        main(lambda: Runtime(load_settings(), models))
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: no domain pack named 'dental'")
    assert len(err.splitlines()) == 1
