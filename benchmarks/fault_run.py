"""Fault run: many chats while an ingest is SIGKILLed mid-batch, then a restart.

Run by hand from the repository root (not part of the test suite)::

    .venv/bin/python -m benchmarks.fault_run                  # 20 chats, 30 documents
    .venv/bin/python -m benchmarks.fault_run --chats 8 --docs 12 --database-url postgresql+psycopg://...

What happens, in a fresh temporary data directory (removed at the end unless ``--keep``):

1. The pack's sample documents are indexed (``--domain``, default ``legal``: its answers are
   extractive, so the chats measure the knowledge base, not the model's decoding speed).
2. ``verirag ingest`` starts in a separate process on ``--docs`` new documents; ``--chats``
   threads in this process ask the pack's own eval questions in a loop.
3. Once the ingest has indexed about a third of the batch it is killed with SIGKILL; the chats
   keep going; then the ingest is run again on the same folder (a restart) to completion.
4. A fresh runtime opens the data directory as a restarted server would.

Counted (the target for each is 0):
- errors: any exception a chat turn raised;
- invalid citations: a cited passage that is not a stored, ready passage after the restart, or
  an ``[n]`` that points past the answer's sources;
- lost documents: a file of the batch that is not ``ready`` after the restart ingest;
- index mismatches: chunk ids where SQL, FAISS and BM25 disagree after the restart.
"""
# ruff: noqa: E402  (the sys.path and environment set-up must precede the project imports)

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from app.services import Runtime
from verirag.jsonl import read_objects
from verirag.settings import load_settings


def _questions(rt: Runtime, domain: str) -> list[str]:
    path = rt.resources.pack(domain).root / "eval" / "questions.jsonl"
    return [str(obj["question"]) for _, obj in read_objects(path)]


def _write_batch(folder: Path, n: int) -> list[str]:
    folder.mkdir(parents=True)
    names = []
    for i in range(n):
        name = f"matter-{i:03d}.md"
        (folder / name).write_text(
            f"# Matter {i}\n\nMatter {i} concerns the lease of unit {i} at Quay Street. The "
            f"rent review for matter {i} falls on day {i + 1} of the quarter.\n\n" * 8,
            encoding="utf-8")
        names.append(name)
    return names


def _ingest(env: dict[str, str], domain: str, folder: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "app.cli.main", "ingest", domain,
                             str(folder)], env=env, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)


def run(args: argparse.Namespace, home: Path) -> dict[str, Any]:
    overrides = {"home": home, "database_url": args.database_url}
    rt = Runtime(load_settings(**overrides))
    res = rt.resources
    res.ingestor(args.domain).ingest([res.pack(args.domain).docs_dir])
    questions = _questions(rt, args.domain)
    folder = home / "batch"
    names = _write_batch(folder, args.docs)
    env = {**os.environ, "VERIRAG_HOME": str(home)}
    if args.database_url:
        env["VERIRAG_DATABASE_URL"] = args.database_url

    errors: list[str] = []
    cited: list[int] = []
    bad_markers = 0
    turns = 0
    lock = threading.Lock()
    stop = threading.Event()

    def chat(n: int) -> None:
        nonlocal bad_markers, turns
        dm = rt.dialog(args.domain, user=f"fault-{n}", with_generator=False)
        sid = dm.start()
        i = n
        while not stop.is_set():
            question = questions[i % len(questions)]
            i += 1
            try:
                answer = dm.turn(sid, question).answer
            except Exception as exc:  # every failure is what this run counts
                with lock:
                    errors.append(f"chat {n}: {type(exc).__name__}: {exc}")
                continue
            with lock:
                turns += 1
                cited.extend(p.chunk_id for _, p in answer.cited_passages())
                bad_markers += sum(1 for s in answer.sentences for c in s.citations
                                   if not 0 < c <= len(answer.sources))

    threads = [threading.Thread(target=chat, args=(n,), daemon=True)
               for n in range(args.chats)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    first = _ingest(env, args.domain, folder)
    kb = res.kb(args.domain)
    target = max(1, args.docs // 3)
    while first.poll() is None:
        indexed = {d.name for d in kb.documents() if d.status == "ready"} & set(names)
        if len(indexed) >= target:
            first.send_signal(signal.SIGKILL)
            break
        time.sleep(0.2)
    first.wait()
    killed_at = len({d.name for d in kb.documents() if d.status == "ready"} & set(names))
    second = _ingest(env, args.domain, folder)
    out, _ = second.communicate(timeout=3600)
    time.sleep(args.settle)
    stop.set()
    for t in threads:
        t.join(timeout=600)
    elapsed = time.perf_counter() - started

    restarted = Runtime(load_settings(**overrides), rt.resources.models)
    kb2 = restarted.resources.kb(args.domain)
    ready = kb2.ready_chunk_ids()
    docs = {d.name: d.status for d in kb2.documents()}
    faiss_ids, bm25_ids = kb2.dense.ids(), kb2.bm25.ids()
    return {
        "domain": args.domain, "database": restarted.resources.settings.db_url.split(":")[0],
        "chats": args.chats, "documents": args.docs, "turns": turns,
        "seconds": round(elapsed, 1),
        "ingest_killed_after": killed_at, "first_ingest_rc": first.returncode,
        "restart_ingest_rc": second.returncode,
        "restart_ingest_summary": out.decode(errors="replace").strip().splitlines()[-1:],
        "errors": len(errors), "error_examples": errors[:5],
        "invalid_citations": sum(1 for c in cited if c not in ready) + bad_markers,
        "lost_documents": sum(1 for n in names if docs.get(n) != "ready"),
        "index_mismatches": len(ready ^ faiss_ids) + len(ready ^ bm25_ids),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--domain", default="legal")
    ap.add_argument("--chats", type=int, default=20)
    ap.add_argument("--docs", type=int, default=30)
    ap.add_argument("--settle", type=float, default=2.0,
                    help="Seconds the chats go on after the restart ingest finished.")
    ap.add_argument("--database-url", help="Run on this database instead of a SQLite file.")
    ap.add_argument("--keep", action="store_true", help="Keep the temporary data directory.")
    ap.add_argument("--json", type=Path, help="Also write the figures here.")
    args = ap.parse_args()
    home = Path(tempfile.mkdtemp(prefix="verirag-fault-"))
    try:
        result = run(args, home)
    finally:
        if not args.keep:
            shutil.rmtree(home, ignore_errors=True)
    text = json.dumps(result, indent=1, ensure_ascii=False)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
    failed = (result["errors"] or result["invalid_citations"] or result["lost_documents"]
              or result["index_mismatches"])
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
