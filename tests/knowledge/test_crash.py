"""The consistency contract under a real crash: ``kill -9`` in the middle of ``verirag ingest``.

DESIGN.md promises that SQL is the source of truth and that "a crash at any point leaves a
knowledge base that opens and answers". These tests start the real CLI in a subprocess, kill it
while it is indexing, and check what a user would then see: the knowledge base opens, nothing
is stuck half-indexed, the indexes hold exactly the ready documents, a question about an indexed
file finds it, and ingesting the same folder again finishes the job. A second test damages the
index files the way a crash (or a full disk) mid-write could, and checks they are rebuilt.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.models import ModelRegistry
from app.services import Runtime
from knowledge.index.bm25 import BM25Index
from knowledge.index.faiss_index import INDEX_FILE, FaissIndex
from knowledge.kb import KnowledgeBase
from knowledge.retrieval import Retriever
from verirag.settings import load_settings

REPO = Path(__file__).resolve().parents[2]
PACK = "medical"
WARDS = [
    "Alder", "Birch", "Cedar", "Dogwood", "Elm", "Fir", "Ginkgo", "Hazel", "Ivy", "Juniper",
    "Kauri", "Larch", "Magnolia", "Nutmeg", "Oak", "Poplar", "Quince", "Rowan", "Spruce",
    "Tamarind", "Ulmus", "Viburnum", "Willow", "Xanthe", "Yew", "Zelkova", "Acacia", "Banyan",
    "Cypress", "Damson", "Eucalyptus", "Fig", "Guava", "Hawthorn", "Ilex", "Jacaranda",
    "Kapok", "Linden", "Mulberry", "Neem",
]
FILLER = [
    "Nurses record observations on the electronic chart at least every four hours.",
    "Patients at risk of falls have a bed rail assessment on admission.",
    "Intravenous lines are reviewed daily and removed when no longer needed.",
    "The medicines round starts at eight in the morning and at six in the evening.",
    "Visitors clean their hands with alcohol gel before entering a bay.",
    "Handover between shifts happens at the nursing station with the patient list printed.",
    "Fluid balance charts are totalled at midnight and reviewed by the night team.",
    "Pressure area care is documented on the skin bundle every two hours.",
    "Discharge letters are started on the day before the planned discharge.",
    "Controlled drugs are checked by two registered nurses at every shift change.",
]
MAX_POLLS = 6000  # at 0.05 s apart: ingestion normally reaches the kill point far sooner


def ward_file(ward: str) -> str:
    return f"handbook-{ward.lower()}.md"


def pager(i: int) -> str:
    return f"{4100 + 37 * i}"


def _write_ward(folder: Path, i: int, ward: str) -> None:
    """A few paragraphs of ward handbook with one fact unique to this ward (its pager)."""
    rng = random.Random(i)
    paras = [f"# {ward} ward handbook", "## Escalation",
             f"On {ward} ward the escalation pager number is {pager(i)}. Call it for any patient "
             f"whose early warning score reaches five."]
    for section in ("Routine care", "Safety"):
        paras.append(f"## {section}")
        paras.append(" ".join(rng.sample(FILLER, 4)))
    (folder / ward_file(ward)).write_text("\n\n".join(paras) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """40 generated ward handbooks, then the medical pack's sample documents (pdf, docx, zh).

    Ingestion goes in path order, handbooks first: the kill then comes early, which keeps the
    re-embedding that each test's repair does small.
    """
    folder = tmp_path_factory.mktemp("corpus")
    for i, ward in enumerate(WARDS):
        _write_ward(folder, i, ward)
    shutil.copytree(REPO / "domains" / PACK / "docs", folder / "samples")
    return folder


@dataclass(frozen=True)
class Crash:
    home: Path
    ready_seen: frozenset[str]  # documents the killed process had committed as ready


def _statuses(db: Path) -> dict[str, str] | None:
    """Document name -> status, read-only; None while the database is not there yet."""
    if not db.is_file():
        return None
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
            return dict(conn.execute("SELECT name, status FROM documents"))
    except sqlite3.DatabaseError:  # schema not created yet, or a writer holds a lock
        return None


@pytest.fixture(scope="module")
def crash(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Crash:
    """Run `verirag ingest medical CORPUS`, SIGKILL it mid-ingest; the data directory it left."""
    home = tmp_path_factory.mktemp("crashed-home")
    env = {k: v for k, v in os.environ.items() if not k.startswith("VERIRAG_")}
    env.update(VERIRAG_HOME=str(home), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               TOKENIZERS_PARALLELISM="false")
    log = home.parent / f"{home.name}-ingest.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli.main", "ingest", PACK, str(corpus)],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            seen: dict[str, str] | None = None
            reached = False
            for _ in range(MAX_POLLS):
                if proc.poll() is not None:
                    break
                seen = _statuses(home / "verirag.db")
                ready = {n for n, s in (seen or {}).items() if s == "ready"}
                # Kill with a handbook done (a fact to ask about) and a file mid-indexing.
                reached = any(n.startswith("handbook-") for n in ready) and (
                    "indexing" in (seen or {}).values())
                if reached:
                    break
                time.sleep(0.05)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)  # the whole group we started
            proc.wait()
    if proc.returncode != -signal.SIGKILL:
        pytest.fail(f"ingest ended by itself (exit {proc.returncode}) before it could be "
                    f"killed mid-way:\n{log.read_text(errors='replace')[-3000:]}")
    if not reached or seen is None:
        pytest.fail(f"ingest never had a handbook ready and another file indexing: {seen}")
    return Crash(home, frozenset(n for n, s in seen.items() if s == "ready"))


def _copy_home(crash: Crash, tmp_path: Path) -> Path:
    """Each test works on its own copy of the crashed data directory."""
    home = tmp_path / "home"
    shutil.copytree(crash.home, home)
    return home


def _assert_consistent(kb: KnowledgeBase) -> None:
    """What the contract promises after any crash: exactly the ready chunks are searchable."""
    statuses = {d.name: d.status for d in kb.documents()}
    assert "indexing" not in statuses.values()
    assert kb.dense.ids() == kb.ready_chunk_ids()
    assert kb.bm25.revision == kb.revision()
    assert kb.bm25.ids() == kb.ready_chunk_ids()
    assert len(kb.bm25) == len(kb.ready_chunk_ids())
    # What the next process will load from disk is just as consistent.
    saved = FaissIndex.load(kb.dir)
    assert saved is not None
    assert saved[0].ids() == kb.ready_chunk_ids() and saved[1].revision == kb.revision()
    assert BM25Index.load(kb.dir / "bm25").revision == kb.revision()


def _assert_answers(kb: KnowledgeBase, ready: set[str]) -> None:
    """A question about a ready ward file retrieves that file's passage with the fact."""
    i, ward = next((i, w) for i, w in enumerate(WARDS) if ward_file(w) in ready)
    found = Retriever(kb).search(f"What is the escalation pager number on {ward} ward?")
    assert found.passages, "nothing retrieved"
    top = found.passages[0]
    assert top.doc_name == ward_file(ward)
    assert pager(i) in top.text


def test_kill_during_ingest_leaves_a_base_that_opens_answers_and_resumes(
        crash: Crash, corpus: Path, tmp_path: Path, models: ModelRegistry) -> None:
    home = _copy_home(crash, tmp_path)
    rt = Runtime(load_settings(home=home), models)

    kb = rt.resources.kb(PACK)

    statuses = {d.name: d.status for d in kb.documents()}
    ready = {n for n, s in statuses.items() if s == "ready"}
    # Every commit the killed process made survived; what it had not finished is marked
    # failed with the reason shown to the user, not left half-indexed.
    assert crash.ready_seen <= ready
    unfinished = {d.name: d.error for d in kb.documents() if d.status != "ready"}
    assert all(s in ("ready", "failed") for s in statuses.values())
    assert all("interrupted" in (err or "") for err in unfinished.values())
    all_files = {p.name for p in corpus.rglob("*") if p.is_file()}
    assert ready < all_files, "the kill came too late to interrupt anything"
    _assert_consistent(kb)
    _assert_answers(kb, ready)

    # Ingesting the same folder again finishes the job: done files are duplicates, the
    # interrupted and never-reached ones are indexed.
    report = rt.resources.ingestor(PACK).ingest([corpus])
    outcomes = {r.name: r.outcome for r in report.results}
    assert outcomes == {n: "duplicate" if n in ready else "indexed" for n in all_files}
    assert {d.name: d.status for d in kb.documents()} == dict.fromkeys(all_files, "ready")
    _assert_consistent(kb)
    _assert_answers(kb, {ward_file(WARDS[-1])})


def test_damaged_index_files_are_rebuilt_from_sql_on_open(
        crash: Crash, tmp_path: Path, models: ModelRegistry) -> None:
    """A crash or a full disk while index files were written: they are rebuilt, not trusted."""
    home = _copy_home(crash, tmp_path)
    kb = Runtime(load_settings(home=home), models).resources.kb(PACK)  # repairs, writes both
    ready = {d.name for d in kb.documents() if d.status == "ready"}
    expected_ids = kb.ready_chunk_ids()
    assert expected_ids

    dense_file = kb.dir / INDEX_FILE
    dense_file.write_bytes(dense_file.read_bytes()[: dense_file.stat().st_size // 2])
    (kb.dir / "bm25" / "CURRENT").unlink()
    # What a writer killed mid-save leaves beside them: a temp index and a staging folder.
    (kb.dir / f".{INDEX_FILE}.999999.tmp").write_bytes(b"half an index")
    (kb.dir / "bm25" / ".tmp-gen-99-deadbeef").mkdir()

    reopened = Runtime(load_settings(home=home), models).resources.kb(PACK)

    assert reopened.ready_chunk_ids() == expected_ids
    _assert_consistent(reopened)
    _assert_answers(reopened, ready)
    leftovers = sorted(p.name for p in [*kb.dir.iterdir(), *(kb.dir / "bm25").iterdir()]
                       if "tmp" in p.name)
    assert leftovers == []
