"""Audited changes to a knowledge base: what the log holds when an ingest dies half-way."""

from __future__ import annotations

from pathlib import Path

import pytest

from app import kb_admin
from app.services import Runtime
from knowledge.ingest import FileResult


def test_each_file_is_in_the_audit_log_as_soon_as_it_is_indexed(fresh_runtime: Runtime,
                                                                 tmp_path: Path) -> None:
    folder = tmp_path / "batch"
    folder.mkdir()
    for name, body in (("a-visiting.md", "Visiting hours are 14:00 to 20:00."),
                       ("b-parking.md", "Parking for visitors is on level 2."),
                       ("c-meals.md", "Meals are served at 12:00 and 18:00.")):
        (folder / name).write_text(f"# {name}\n\n{body}\n", encoding="utf-8")

    def killed_after_two(i: int, _n: int, _result: FileResult) -> None:
        if i == 2:
            raise KeyboardInterrupt  # the process dies here (Ctrl-C, SIGKILL in real life)

    with pytest.raises(KeyboardInterrupt):
        kb_admin.ingest_paths(fresh_runtime, "medical", [folder], actor="ana",
                              on_file=killed_after_two)
    indexed = {d.name for d in fresh_runtime.resources.kb("medical").documents()}
    rows = fresh_runtime.audit.search(action="upload")
    audited = {f["name"] for r in rows for f in r.detail["files"]}
    assert indexed == {"a-visiting.md", "b-parking.md"}
    assert audited == indexed and all(r.actor == "ana" for r in rows)
