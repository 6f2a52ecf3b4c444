"""Several people chatting while a large upload indexes, on one data directory.

Run on the default SQLite file and on a real PostgreSQL server (concurrent writers there).

Four chat threads in this process ask questions in a loop while a separate ``verirag ingest``
process adds 30 documents to the same knowledge base. Every answer must arrive, every citation
must resolve to a passage whose text is stored in the database, and at the end the knowledge
base must hold every document with FAISS and SQL agreeing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from app.services import Runtime

SESSIONS = 4
QUESTIONS = [
    "How long must client files be kept after a matter closes?",
    "What is the governing law of the mutual NDA?",
    "合同的违约责任是什么？",
    "Who must approve a conflict waiver?",
]
NEW_DOCS = 12


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, fresh_runtime: Runtime) -> Runtime:
    """The fresh data directory on the default SQLite file, or on a real PostgreSQL server."""
    if request.param == "sqlite":
        return fresh_runtime
    url = request.getfixturevalue("pg_url")
    settings = fresh_runtime.resources.settings.model_copy(update={"database_url": url})
    return Runtime(settings, fresh_runtime.resources.models)


@pytest.mark.slow
def test_chats_keep_answering_while_an_upload_indexes(database: Runtime,
                                                      tmp_path: Path) -> None:
    rt = database
    rt.resources.ingestor("legal").ingest([rt.resources.pack("legal").docs_dir])
    folder = tmp_path / "upload"
    folder.mkdir()
    for i in range(NEW_DOCS):
        (folder / f"matter-{i:02d}.md").write_text(
            f"# Matter {i}\n\nMatter {i} concerns the lease of unit {i} at Quay Street. "
            f"The rent review for matter {i} falls on day {i + 1} of the quarter.\n\n" * 6)
    env = {**os.environ, "VERIRAG_HOME": str(rt.resources.settings.home), "HF_HUB_OFFLINE": "1",
           "VERIRAG_DATABASE_URL": rt.resources.settings.db_url}
    ingest = subprocess.Popen([sys.executable, "-m", "app.cli.main", "ingest", "legal",
                               str(folder)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, cwd=Path(__file__).resolve().parents[2])

    errors: list[str] = []
    answers: list[tuple[str, list[int]]] = []
    lock = threading.Lock()

    def chat(n: int) -> None:
        dm = rt.dialog("legal", with_generator=False)
        sid = dm.start()
        rounds = 0
        while ingest.poll() is None or rounds < 1:
            for q in QUESTIONS[n % 2:] + QUESTIONS[: n % 2]:
                try:
                    answer = dm.turn(sid, q).answer
                except Exception as exc:  # anything at all is a failure to report
                    with lock:
                        errors.append(f"session {n}: {type(exc).__name__}: {exc}")
                    continue
                cited = [p.chunk_id for _, p in answer.cited_passages()]
                if any(not 0 < c <= len(answer.sources) for s in answer.sentences
                       for c in s.citations):
                    with lock:
                        errors.append(f"session {n}: a citation points to no passage")
                with lock:
                    answers.append((answer.decision, cited))
            rounds += 1

    threads = [threading.Thread(target=chat, args=(n,)) for n in range(SESSIONS)]
    for t in threads:
        t.start()
    out, _ = ingest.communicate(timeout=900)
    for t in threads:
        t.join(timeout=600)
    assert ingest.returncode == 0, out.decode()
    assert f"{NEW_DOCS} indexed" in out.decode()
    assert errors == []
    assert len(answers) >= SESSIONS * len(QUESTIONS)
    assert sum(d == "answer" for d, _ in answers) >= len(answers) // 2

    kb = rt.resources.kb("legal")
    kb.reload()
    stored = kb.ready_chunk_ids()
    assert all(set(cited) <= stored for _, cited in answers), "an answer cited a lost passage"
    assert len(kb.documents()) == 8 + NEW_DOCS
    assert kb.stats()["vectors"] == len(stored), "FAISS and SQL disagree"
    print(f"\nconcurrency: {SESSIONS} sessions, {len(answers)} answers during the ingest, "
          f"{len(errors)} errors")


def test_two_first_visits_at_once_share_one_knowledge_base(fresh_runtime: Runtime) -> None:
    """Each browser session is a thread; the first two must not each open (and repair) it."""
    opened: list[object] = []
    start = threading.Barrier(2)

    def visit() -> None:
        start.wait()
        opened.append(fresh_runtime.resources.kb("legal"))

    threads = [threading.Thread(target=visit) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(opened) == 2 and opened[0] is opened[1]
