"""Load test of the HTTP API: many concurrent clients asking the bundled packs' questions.

Run by hand from the repository root (not part of the test suite)::

    .venv/bin/python -m benchmarks.api_load                     # 50 clients, 120 s
    .venv/bin/python -m benchmarks.api_load --clients 20 --seconds 60 --home /tmp/load-home

Everything runs in this process, on localhost: a data directory with the bundled packs
indexed (built on first use), a user with a key, and the API on a free port. Then:

1. **Baseline**: the same questions answered by direct calls to the dialog manager, one at a
   time, no HTTP and no cache, for ``--baseline-seconds``: what one caller gets in-process.
2. **Load**: ``--clients`` asyncio clients (httpx), each asking the next question as soon as
   it has an answer, for ``--seconds``, while a writer uploads a new document through the API
   every ``--ingest-every`` seconds (each upload moves the knowledge base's revision, so the
   answer cache starts again for that pack).

Reported: requests/s, P50/P99 latency, error rate (target 0), cache hit rate, answers by
decision, the ratio of the API's answers/s to the baseline's, and whether every returned
citation resolves to a stored passage with the exact text returned.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import httpx

from app.api.deps import ApiOptions
from app.api.server import Background, create_app
from app.services import Runtime
from verirag.settings import load_settings


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    decisions: Counter[str] = field(default_factory=Counter)
    cached: int = 0
    sources: list[tuple[str, int, str]] = field(default_factory=list)  # pack, chunk, passage
    errors: list[str] = field(default_factory=list)


def questions(rt: Runtime) -> list[tuple[str, str]]:
    """(pack, question) for every bundled eval question, in a seeded shuffle."""
    out = []
    for name in rt.resources.pack_names():
        path = rt.resources.pack(name).root / "eval" / "questions.jsonl"
        if path.is_file():
            out += [(name, json.loads(line)["question"])
                    for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    random.Random(7).shuffle(out)
    return out


def baseline(rt: Runtime, asked: list[tuple[str, str]], seconds: float) -> tuple[int, float]:
    """Answers, one at a time in-process, no cache: (answers, wall seconds)."""
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        pack, question = asked[done % len(asked)]
        manager = rt.dialog(pack)
        manager.turn(manager.start(), question)
        done += 1
    return done, time.perf_counter() - start


async def client(url: str, key: str, asked: list[tuple[str, str]], offset: int,
                 stop_at: float, tally: Tally) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=600,
                                 headers={"Authorization": f"Bearer {key}"}) as http:
        i = offset
        while time.monotonic() < stop_at:
            pack, question = asked[i % len(asked)]
            i += 1
            t0 = time.perf_counter()
            try:
                r = await http.post("/v1/chat/completions", json={
                    "model": pack, "messages": [{"role": "user", "content": question}]})
            except httpx.HTTPError as exc:
                tally.statuses[0] += 1
                tally.errors.append(f"{type(exc).__name__}: {exc}")
                continue
            tally.latencies.append(time.perf_counter() - t0)
            tally.statuses[r.status_code] += 1
            if r.status_code != 200:
                tally.errors.append(r.text[:200])
                continue
            extra = r.json()["verirag"]
            tally.decisions[extra["decision"]] += 1
            tally.cached += bool(extra["cached"])
            tally.sources += [(pack, s["chunk_id"], s["passage"]) for s in extra["sources"]]


def ingest_while_loaded(url: str, key: str, every: float, stop: threading.Event,
                        results: list[int]) -> None:
    """Upload a new small document through the API every ``every`` seconds."""
    n = 0
    with httpx.Client(base_url=url, timeout=600,
                      headers={"Authorization": f"Bearer {key}"}) as http:
        while not stop.wait(every):
            n += 1
            text = (f"# Ward notice {n}\n\nWard {n} visiting hours are {8 + n % 10}:00 to "
                    f"{18 + n % 4}:00 on weekdays, as of notice {n}.\n")
            r = http.post("/v1/packs/medical/documents",
                          files=[("files", (f"ward-notice-{n}.md", text.encode()))])
            results.append(r.status_code)


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 \
        else (values[0] if values else float("nan"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--baseline-seconds", type=float, default=60.0)
    parser.add_argument("--ingest-every", type=float, default=15.0)
    parser.add_argument("--workers", type=int, default=None,
                        help="answer workers (default: generator_slots)")
    parser.add_argument("--home", type=Path, default=None,
                        help="data directory (default: a new temporary one)")
    args = parser.parse_args()

    home = args.home or Path(tempfile.mkdtemp(prefix="verirag-load-"))
    rt = Runtime(load_settings(home=home))
    print(f"data directory {home}; indexing the bundled packs if needed…", flush=True)
    rt.resources.ensure_bundled_indexed()
    asked = questions(rt)
    if "loadtest" not in {u.name for u in rt.users.list()}:
        rt.users.add("loadtest", "load-test-password", actor="benchmark")
        rt.users.grant("loadtest", "*", "admin", actor="benchmark")
    key, _ = rt.keys.create("loadtest", actor="benchmark", label="api_load")
    print(f"{len(asked)} questions from {len(rt.resources.pack_names())} packs", flush=True)

    done, took = baseline(rt, asked, args.baseline_seconds)
    base_rate = done / took
    print(f"baseline (in-process, one at a time, no cache): {done} answers in {took:.1f} s = "
          f"{base_rate:.2f}/s", flush=True)

    workers = args.workers or rt.resources.settings.generator_slots
    app = create_app(rt, ApiOptions(workers=workers, max_queue=4 * args.clients))
    tally, uploads, stop = Tally(), [], threading.Event()
    with Background(app) as url:
        while httpx.get(f"{url}/readyz").status_code != 200:
            time.sleep(0.2)
        writer = threading.Thread(target=ingest_while_loaded,
                                  args=(url, key, args.ingest_every, stop, uploads))
        writer.start()
        start = time.perf_counter()
        stop_at = time.monotonic() + args.seconds

        async def run() -> None:
            await asyncio.gather(*(client(url, key, asked, i * 7, stop_at, tally)
                                   for i in range(args.clients)))

        asyncio.run(run())
        wall = time.perf_counter() - start
        stop.set()
        writer.join()
        metrics = httpx.get(f"{url}/metrics").text

    n = sum(tally.statuses.values())
    ok = tally.statuses[200]
    resolved = 0
    for pack in {p for p, _, _ in tally.sources}:
        mine = [(c, t) for p, c, t in tally.sources if p == pack]
        stored = rt.resources.kb(pack).repo.cited_texts([c for c, _ in mine], None)
        resolved += sum(1 for c, t in mine if stored.get(c) == t)
    rate = ok / wall
    print(f"\nload: {args.clients} clients for {wall:.1f} s, {workers} answer workers, "
          f"{len(uploads)} uploads during it (statuses {sorted(Counter(uploads).items())})")
    print(f"  requests        {n}  ({n / wall:.2f}/s)")
    print(f"  answered 200    {ok}  ({rate:.2f}/s)  ratio to baseline {rate / base_rate:.2f}")
    print(f"  error rate      {(n - ok) / n if n else 0:.4f}  statuses "
          f"{dict(sorted(tally.statuses.items()))}")
    print(f"  latency P50     {pct(tally.latencies, 50):.3f} s")
    print(f"  latency P99     {pct(tally.latencies, 99):.3f} s")
    print(f"  cache hit rate  {tally.cached / ok if ok else 0:.3f}")
    print(f"  decisions       {dict(tally.decisions)}")
    print(f"  citations       {resolved}/{len(tally.sources)} resolve to the stored passage "
          "with the text returned")
    for line in metrics.splitlines():
        if line.startswith(("verirag_time_to_first_token_seconds_count",
                            "verirag_time_to_first_token_seconds_sum")):
            print(f"  {line}")
    for error in tally.errors[:5]:
        print(f"  error: {error}")


if __name__ == "__main__":
    main()
